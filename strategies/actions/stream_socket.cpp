#include "strategies/actions/stream_socket.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

namespace switchyard::strategies {

namespace {

int millis_left(stream_socket::clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - stream_socket::clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(left.count());
}

// Waits for `events` on fd until the deadline: 1 ready, 0 timed out, -1 error.
int wait_for(int fd, short events, stream_socket::clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, millis_left(deadline));
    if (rc < 0 && errno == EINTR)
      continue;
    return rc;
  }
}

} // namespace

std::unique_ptr<stream_socket>
stream_socket::connect(const std::string& address, clock::time_point deadline, std::string& error) {
  int fd = -1;
  int rc = -1;
  if (!address.empty() && address.front() == '/') {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (address.size() >= sizeof(sa.sun_path)) {
      error = "unix socket path too long: " + address;
      return nullptr;
    }
    std::memcpy(sa.sun_path, address.c_str(), address.size() + 1);
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      error = fmt::format("socket: {}", std::strerror(errno));
      return nullptr;
    }
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string::npos) {
      error = "not host:port or a /path: " + address;
      return nullptr;
    }
    auto host = address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int gai = ::getaddrinfo(host.c_str(), address.substr(colon + 1).c_str(), &hints, &found);
        gai != 0) {
      error = fmt::format("cannot resolve {}: {}", address, gai_strerror(gai));
      return nullptr;
    }
    fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0)
      rc = ::connect(fd, found->ai_addr, found->ai_addrlen);
    ::freeaddrinfo(found);
    if (fd < 0) {
      error = fmt::format("socket: {}", std::strerror(errno));
      return nullptr;
    }
  }
  std::unique_ptr<stream_socket> s{new stream_socket(fd)};
  if (rc < 0 && errno != EINPROGRESS && errno != EAGAIN) {
    error = fmt::format("connect to {}: {}", address, std::strerror(errno));
    return nullptr;
  }
  if (rc < 0) {
    int ready = wait_for(fd, POLLOUT, deadline);
    if (ready <= 0) {
      error = fmt::format("connect to {}: {}", address, ready == 0 ? "timed out" : "poll failed");
      return nullptr;
    }
    int so_error = 0;
    socklen_t len = sizeof(so_error);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      error = fmt::format("connect to {}: {}", address, std::strerror(so_error));
      return nullptr;
    }
  }
  return s;
}

stream_socket::~stream_socket() {
  ::close(fd_);
}

bool stream_socket::send_all(const std::string& data, clock::time_point deadline,
                             std::string& error) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    auto n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      error = fmt::format("send: {}", std::strerror(errno));
      return false;
    }
    if (wait_for(fd_, POLLOUT, deadline) <= 0) {
      error = "send timed out";
      return false;
    }
  }
  return true;
}

bool stream_socket::receive(std::string& buffer,
                            const std::function<bool(const std::string&)>& complete,
                            bool until_close, clock::time_point deadline, std::string& error) {
  char chunk[4096];
  while (!complete(buffer)) {
    auto n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) {
      if (until_close)
        return true;
      error = "connection closed before the whole answer arrived";
      return false;
    }
    if (errno != EAGAIN && errno != EINTR) {
      error = fmt::format("recv: {}", std::strerror(errno));
      return false;
    }
    if (wait_for(fd_, POLLIN, deadline) <= 0) {
      error = "no answer before the timeout";
      return false;
    }
  }
  return true;
}

} // namespace switchyard::strategies

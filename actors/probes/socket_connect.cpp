#include "actors/probes/socket_connect.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

namespace switchyard::actors {

int millis_until(probe_clock::time_point deadline) {
  // Rounded up: a probe must not give up before its timeout.
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - probe_clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(left.count());
}

void close_fd(int fd) {
  if (fd >= 0)
    ::close(fd);
}

bool peer_gone(int fd, bool* unread) {
  pollfd pfd{fd, POLLIN | POLLRDHUP, 0};
  int ready = ::poll(&pfd, 1, 0);
  if (unread != nullptr)
    *unread = ready > 0 && (pfd.revents & POLLIN) != 0;
  if (ready < 0)
    return true;
  return (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

namespace {

connect_result connect_one(const addrinfo* ai, probe_clock::time_point deadline) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0)
    return {-1, fmt::format("socket: {}", std::strerror(errno))};
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
    return {fd, {}};
  if (errno != EINPROGRESS) {
    auto err = errno;
    ::close(fd);
    return {-1, std::strerror(err), err == ECONNREFUSED};
  }
  pollfd pfd{fd, POLLOUT, 0};
  int ready = ::poll(&pfd, 1, millis_until(deadline));
  if (ready == 0) {
    ::close(fd);
    return {-1, "connect timed out"};
  }
  int so_error = 0;
  socklen_t len = sizeof(so_error);
  if (ready < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 || so_error != 0) {
    auto err = so_error != 0 ? so_error : errno;
    ::close(fd);
    return {-1, std::strerror(err), err == ECONNREFUSED};
  }
  return {fd, {}};
}

} // namespace

connect_result connect_before(const std::string& host, std::uint16_t port,
                              probe_clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return {-1, fmt::format("cannot resolve '{}': {}", host, ::gai_strerror(rc))};
  connect_result result{-1, "no address"};
  for (auto* ai = found; ai != nullptr; ai = ai->ai_next) {
    result = connect_one(ai, deadline);
    if (result.fd >= 0 || millis_until(deadline) == 0)
      break;
  }
  ::freeaddrinfo(found);
  return result;
}

} // namespace switchyard::actors

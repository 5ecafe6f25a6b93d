#include "observability/metrics_server.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <vector>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "observability/metrics.hpp"

namespace switchyard::metrics {

namespace {

constexpr std::size_t max_request = 8192;
constexpr std::size_t max_connections = 64;
constexpr auto connection_timeout = std::chrono::seconds(10);
// A scraper sends its request at once; a connection silent this long is idle.
constexpr auto first_byte_timeout = std::chrono::seconds(2);

std::string response(int status, const char* reason, const std::string& content_type,
                     const std::string& body, bool head_only = false,
                     const std::string& extra_headers = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  out += "Content-Type: " + content_type + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += extra_headers;
  out += "Connection: close\r\n\r\n";
  if (!head_only)
    out += body;
  return out;
}

bool split_listen(const std::string& listen, std::string& host, std::string& port) {
  if (!listen.empty() && listen.front() == '[') {
    auto close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':')
      return false;
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos)
      return false;
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  return !host.empty() && !port.empty();
}

struct connection {
  int fd = -1;
  std::string in;
  std::string out;
  std::size_t sent = 0;
  bool responded = false; // `out` is set
  bool draining = false;  // everything sent, write side shut: read until EOF
  std::chrono::steady_clock::time_point deadline;
  std::chrono::steady_clock::time_point accepted;
};

// At the cap, the connection to close for a new one: the oldest that has not
// sent a complete request (being answered is not idle), or none.
std::optional<std::size_t> oldest_idle(const std::vector<connection>& conns) {
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < conns.size(); ++i)
    if (!conns[i].responded && (!found || conns[i].accepted < conns[*found].accepted))
      found = i;
  return found;
}

} // namespace

std::string http_response_for(const std::string& request, registry& reg) {
  const std::string text_plain = "text/plain; charset=utf-8";
  auto line_end = request.find("\r\n");
  auto line = request.substr(0, line_end);
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos ||
      line.compare(sp2 + 1, 7, "HTTP/1.") != 0)
    return response(400, "Bad Request", text_plain, "bad request\n");
  auto method = line.substr(0, sp1);
  auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto path = target.substr(0, target.find('?'));
  if (path != "/metrics")
    return response(404, "Not Found", text_plain, "not found: GET /metrics\n");
  if (method != "GET" && method != "HEAD")
    return response(405, "Method Not Allowed", text_plain, "method not allowed\n", false,
                    "Allow: GET, HEAD\r\n");
  return response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", reg.render(),
                  method == "HEAD");
}

http_server::http_server(std::string listen, registry& reg)
    : listen_(std::move(listen)), reg_(reg) {}

http_server::~http_server() {
  stop();
}

std::uint16_t http_server::start(std::string& error) {
  std::string host;
  std::string port;
  if (!split_listen(listen_, host, port)) {
    error = "'" + listen_ + "' is not host:port";
    return 0;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    error = "cannot resolve '" + host + "': " + gai_strerror(rc);
    return 0;
  }
  std::string last_error = "no address";
  for (auto* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 64) != 0) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    listen_fd_ = fd;
    break;
  }
  freeaddrinfo(found);
  if (listen_fd_ < 0) {
    error = "cannot listen on " + listen_ + ": " + last_error;
    return 0;
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  if (bound.ss_family == AF_INET6)
    port_ = ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  else
    port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (::pipe2(wake_, O_NONBLOCK | O_CLOEXEC) != 0) {
    error = std::string{"pipe: "} + std::strerror(errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return 0;
  }
  thread_ = std::thread([this] { run(); });
  return port_;
}

void http_server::stop() {
  if (thread_.joinable()) {
    char c = 'x';
    (void)!::write(wake_[1], &c, 1);
    thread_.join();
  }
  for (int* fd : {&listen_fd_, &wake_[0], &wake_[1]})
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
}

void http_server::run() {
  std::vector<connection> conns;
  std::vector<pollfd> fds;
  auto close_conn = [&](std::size_t i) {
    ::close(conns[i].fd);
    conns.erase(conns.begin() + static_cast<std::ptrdiff_t>(i));
  };
  for (;;) {
    fds.clear();
    fds.push_back({wake_[0], POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const auto& c : conns) {
      short events = POLLIN;
      if (c.responded && !c.draining)
        events = POLLOUT;
      fds.push_back({c.fd, events, 0});
    }
    int n = ::poll(fds.data(), fds.size(), 1000);
    if (n < 0 && errno != EINTR)
      break;
    if ((fds[0].revents & POLLIN) != 0)
      break; // stop()
    auto now = std::chrono::steady_clock::now();
    // Existing connections first (indexes match fds[2 + i]), backwards so
    // closing one does not shift the ones still to visit.
    for (std::size_t k = conns.size(); k-- > 0;) {
      auto& c = conns[k];
      auto revents = fds[2 + k].revents;
      if (now > c.deadline || (revents & (POLLERR | POLLNVAL)) != 0) {
        close_conn(k);
        continue;
      }
      if (!c.responded && (revents & (POLLIN | POLLHUP)) != 0) {
        char buf[4096];
        auto got = ::recv(c.fd, buf, sizeof buf, 0);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
          close_conn(k);
          continue;
        }
        if (got > 0) {
          if (c.in.empty()) // it spoke: the full timeout from its start
            c.deadline = c.accepted + connection_timeout;
          c.in.append(buf, static_cast<std::size_t>(got));
        }
        if (c.in.find("\r\n\r\n") != std::string::npos) {
          c.out = http_response_for(c.in, reg_);
          c.responded = true;
        } else if (c.in.size() > max_request) {
          c.out = response(431, "Request Header Fields Too Large", "text/plain; charset=utf-8",
                           "request too large\n");
          c.responded = true;
        }
        continue;
      }
      if (c.responded && !c.draining && (revents & (POLLOUT | POLLHUP)) != 0) {
        auto wrote = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
        if (wrote < 0 && errno != EAGAIN && errno != EINTR) {
          close_conn(k);
          continue;
        }
        if (wrote > 0)
          c.sent += static_cast<std::size_t>(wrote);
        if (c.sent == c.out.size()) {
          // Close only after the peer has read everything: shut our side
          // and read until it closes (closing with unread input would reset
          // the connection and could cut the response short).
          ::shutdown(c.fd, SHUT_WR);
          c.draining = true;
          c.deadline = std::min(c.deadline, now + std::chrono::seconds(2));
        }
        continue;
      }
      if (c.draining && (revents & (POLLIN | POLLHUP)) != 0) {
        char buf[4096];
        auto got = ::recv(c.fd, buf, sizeof buf, 0);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
          close_conn(k);
      }
    }
    if ((fds[1].revents & POLLIN) != 0) {
      for (;;) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
          break;
        if (conns.size() >= max_connections) {
          // Idle connections must not starve a scrape: the oldest goes.
          auto idle = oldest_idle(conns);
          if (!idle) {
            ::close(fd); // every slot is answering a request
            continue;
          }
          close_conn(*idle);
        }
        conns.push_back({fd, {}, {}, 0, false, false, now + first_byte_timeout, now});
      }
    }
  }
  for (auto& c : conns)
    ::close(c.fd);
}

} // namespace switchyard::metrics

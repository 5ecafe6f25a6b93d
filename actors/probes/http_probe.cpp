#include "actors/probes/http_probe.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include "actors/probes/socket_connect.hpp"

namespace switchyard::actors {

int parse_http_status(const std::string& head) {
  // "HTTP/1.1 200 OK"
  if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12 || head[8] != ' ')
    return -1;
  int code = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (head[i] < '0' || head[i] > '9')
      return -1;
    code = code * 10 + (head[i] - '0');
  }
  return code;
}

http_probe::http_probe(std::string host, std::uint16_t port, std::string path, int expected_status,
                       std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), path_(std::move(path)),
      expected_status_(expected_status), timeout_(timeout) {}

namespace {

// Sends the whole request or reports why not.
std::string send_all(int fd, const std::string& data, probe_clock::time_point deadline) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    auto n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return fmt::format("send: {}", std::strerror(errno));
    pollfd pfd{fd, POLLOUT, 0};
    if (::poll(&pfd, 1, millis_until(deadline)) <= 0)
      return "timed out sending request";
  }
  return {};
}

} // namespace

probe_outcome http_probe::check() {
  auto start = probe_clock::now();
  auto deadline = start + timeout_;
  probe_outcome out;
  auto finish = [&](bool ok, std::string detail) {
    out.ok = ok;
    out.detail = std::move(detail);
    out.latency = std::chrono::duration_cast<std::chrono::microseconds>(probe_clock::now() - start);
    return out;
  };
  auto conn = connect_before(host_, port_, deadline);
  if (conn.fd < 0) {
    out.refused = conn.refused;
    return finish(false, conn.error);
  }
  auto request = fmt::format("GET {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: switchyard-health\r\n"
                             "Connection: close\r\n\r\n",
                             path_, host_, port_);
  if (auto err = send_all(conn.fd, request, deadline); !err.empty()) {
    close_fd(conn.fd);
    return finish(false, err);
  }
  // Only the status line matters; stop reading as soon as it is complete.
  std::string head;
  char buf[512];
  while (head.find("\r\n") == std::string::npos && head.size() < 4096) {
    pollfd pfd{conn.fd, POLLIN, 0};
    int ready = ::poll(&pfd, 1, millis_until(deadline));
    if (ready <= 0) {
      close_fd(conn.fd);
      return finish(false, fmt::format("no response within {} ms", timeout_.count()));
    }
    auto n = ::recv(conn.fd, buf, sizeof(buf), 0);
    if (n == 0)
      break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR)
        continue;
      auto err = errno;
      close_fd(conn.fd);
      return finish(false, fmt::format("recv: {}", std::strerror(err)));
    }
    head.append(buf, static_cast<std::size_t>(n));
  }
  close_fd(conn.fd);
  int status = parse_http_status(head);
  if (status < 0)
    return finish(false, "malformed HTTP response");
  if (status != expected_status_)
    return finish(false, fmt::format("HTTP {} (expected {})", status, expected_status_));
  return finish(true, fmt::format("HTTP {}", status));
}

} // namespace switchyard::actors

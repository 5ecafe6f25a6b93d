#include "actors/probes/redis_probe.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <variant>

#include <fmt/format.h>

#include "actors/probes/socket_connect.hpp"

namespace switchyard::actors {

std::string describe_role(const resp::reply& role) {
  if (role.is_error())
    return "ROLE: " + role.text;
  if (role.type != '*' || role.items.empty())
    return "ROLE: unexpected reply";
  const auto& items = role.items;
  const auto& kind = items[0].text;
  if (kind == "master" || kind == "sentinel")
    return kind;
  // ["slave", host, port, state, offset]
  if (kind == "slave" && items.size() >= 4)
    return fmt::format("replica of {}:{} ({})", items[1].text, items[2].text, items[3].text);
  return "role " + kind;
}

namespace {

// Why one exchange failed; `broken` when the connection itself failed (closed,
// reset) rather than the server answering late or wrongly.
struct failure {
  std::string detail;
  bool broken = false;
};

std::optional<failure> send_all(int fd, const std::string& data, probe_clock::time_point deadline,
                                std::chrono::milliseconds timeout) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    auto n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return failure{fmt::format("send: {}", std::strerror(errno)), true};
    pollfd pfd{fd, POLLOUT, 0};
    if (::poll(&pfd, 1, millis_until(deadline)) <= 0)
      return failure{fmt::format("timed out after {} ms sending PING", timeout.count())};
  }
  return std::nullopt;
}

// Reads replies off one connection; keeps what arrived past the last one.
class reply_reader {
public:
  reply_reader(int fd, probe_clock::time_point deadline, std::chrono::milliseconds timeout)
      : fd_(fd), deadline_(deadline), timeout_(timeout) {}

  /// The next reply; `what` names it in a timeout ("PONG").
  std::variant<resp::reply, failure> next(const char* what) {
    char chunk[4096];
    while (true) {
      try {
        // parse() may move `pos_` into a reply it cannot finish yet: restart from `start`.
        auto start = pos_;
        auto parsed = buffer_.size() > pos_ ? resp::parse(buffer_, pos_) : std::nullopt;
        if (parsed)
          return std::move(*parsed);
        pos_ = start;
      } catch (const std::exception&) { // a length that is not a number
        return failure{"malformed reply"};
      }
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, millis_until(deadline_)) <= 0)
        return failure{fmt::format("timed out after {} ms waiting for {}", timeout_.count(), what)};
      auto n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n == 0)
        return failure{"connection closed by the server", true};
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
          continue;
        return failure{fmt::format("recv: {}", std::strerror(errno)), true};
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  /// Whether everything received has been parsed (the connection is in step).
  [[nodiscard]] bool drained() const { return pos_ == buffer_.size(); }

private:
  int fd_;
  probe_clock::time_point deadline_;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
  std::size_t pos_ = 0;
};

// The PING and ROLE replies, or why not.
struct exchange_result {
  std::optional<failure> failed;
  resp::reply pong;
  resp::reply role;
};

exchange_result exchange(int fd, probe_clock::time_point deadline,
                         std::chrono::milliseconds timeout) {
  // Both commands in one write; an error answer to PING decides without ROLE.
  static const std::string request = resp::encode({"PING"}) + resp::encode({"ROLE"});
  exchange_result r;
  if ((r.failed = send_all(fd, request, deadline, timeout)))
    return r;
  reply_reader reader{fd, deadline, timeout};
  auto pong = reader.next("PONG");
  if (auto* f = std::get_if<failure>(&pong)) {
    r.failed = std::move(*f);
    return r;
  }
  r.pong = std::get<resp::reply>(std::move(pong));
  if (r.pong.is_error()) // e.g. "LOADING Redis is loading the dataset in memory"
    r.failed = failure{r.pong.text};
  else if (r.pong.type != '+' || r.pong.text != "PONG")
    r.failed = failure{"unexpected reply to PING: " + r.pong.text};
  if (r.failed)
    return r;
  auto role = reader.next("the ROLE reply");
  if (auto* f = std::get_if<failure>(&role)) {
    r.failed = std::move(*f);
    return r;
  }
  r.role = std::get<resp::reply>(std::move(role));
  if (!reader.drained()) // more than was asked for: not safe to reuse
    r.failed = failure{"unexpected data after the ROLE reply"};
  return r;
}

} // namespace

redis_probe::redis_probe(std::string host, std::uint16_t port, std::chrono::milliseconds timeout,
                         bool hold_connection)
    : host_(std::move(host)), port_(port), timeout_(timeout), hold_(hold_connection) {}

redis_probe::~redis_probe() {
  close_fd(held_);
}

probe_outcome redis_probe::check() {
  auto start = probe_clock::now();
  auto deadline = start + timeout_;
  probe_outcome out;
  auto finish = [&](bool ok, std::string detail) {
    out.ok = ok;
    out.detail = std::move(detail);
    out.latency = std::chrono::duration_cast<std::chrono::microseconds>(probe_clock::now() - start);
    return out;
  };
  // A held connection with unread data is out of step (or the server said
  // something before closing it): start over on a new one.
  int fd = -1;
  if (bool unread = false; held_ >= 0 && !peer_gone(held_, &unread) && !unread) {
    fd = held_;
  } else {
    close_fd(held_);
  }
  held_ = -1;
  bool retry = true;
  while (true) {
    if (fd < 0) {
      auto conn = connect_before(host_, port_, deadline);
      if (conn.fd < 0) {
        out.refused = conn.refused;
        return finish(false, conn.error);
      }
      fd = conn.fd;
    }
    auto r = exchange(fd, deadline, timeout_);
    if (!r.failed) {
      if (hold_)
        held_ = fd;
      else
        close_fd(fd);
      return finish(true, "PONG, " + describe_role(r.role));
    }
    // After a failure the connection may be out of step: never reuse it.
    close_fd(fd);
    fd = -1;
    // Closed or reset before the replies: the server may have dropped the idle
    // held connection just now, or be dying (a connection still queued when
    // its listening socket closes is reset). One fresh try tells which: the
    // latter is refused.
    if (retry && r.failed->broken && millis_until(deadline) > 0) {
      retry = false;
      continue;
    }
    return finish(false, r.failed->detail);
  }
}

} // namespace switchyard::actors

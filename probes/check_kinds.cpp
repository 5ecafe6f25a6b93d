#include "probes/check_kinds.hpp"

#include <exception>

#include <fmt/format.h>

namespace switchyard::actors {

namespace {

class tcp_kind final : public check_kind {
public:
  [[nodiscard]] const std::string& request() const override { return none_; }
  [[nodiscard]] held_use use_held(bool) const override {
    // Data sent unasked (a banner) does not matter: only whether it is up.
    return held_use::answer;
  }
  [[nodiscard]] std::optional<check_verdict> judge(const std::string&, bool) const override {
    return check_verdict{true, "connected"}; // never asked: connected is the answer
  }
  [[nodiscard]] std::string timed_out(check_phase, const std::string&,
                                      std::chrono::milliseconds) const override {
    return "connect timed out";
  }

private:
  std::string none_;
};

class http_kind final : public check_kind {
public:
  http_kind(const std::string& host, std::uint16_t port, const std::string& path,
            int expected_status)
      : request_(fmt::format("GET {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: "
                             "switchyard-health\r\n"
                             "Connection: close\r\n\r\n",
                             path, host, port)),
        expected_status_(expected_status) {}

  [[nodiscard]] const std::string& request() const override { return request_; }
  [[nodiscard]] held_use use_held(bool) const override { return held_use::reconnect; }

  [[nodiscard]] std::optional<check_verdict> judge(const std::string& in,
                                                   bool closed) const override {
    // Only the status line matters; it is complete at its line end.
    if (!closed && in.find("\r\n") == std::string::npos && in.size() < 4096)
      return std::nullopt;
    int status = parse_http_status(in);
    if (status < 0)
      return check_verdict{false, "malformed HTTP response"};
    if (status != expected_status_)
      return check_verdict{false, fmt::format("HTTP {} (expected {})", status, expected_status_)};
    return check_verdict{true, fmt::format("HTTP {}", status)};
  }

  [[nodiscard]] std::string timed_out(check_phase at, const std::string&,
                                      std::chrono::milliseconds timeout) const override {
    return at == check_phase::sending ? std::string{"timed out sending request"}
                                      : fmt::format("no response within {} ms", timeout.count());
  }

private:
  std::string request_;
  int expected_status_;
};

class redis_kind final : public check_kind {
public:
  [[nodiscard]] const std::string& request() const override { return request_; }
  [[nodiscard]] held_use use_held(bool unread) const override {
    // Unread data puts it out of step (or the server said something before
    // closing it): start over on a new one.
    return unread ? held_use::reconnect : held_use::resend;
  }

  [[nodiscard]] std::optional<check_verdict> judge(const std::string& in,
                                                   bool closed) const override {
    std::size_t pos = 0;
    std::optional<resp::reply> pong;
    std::optional<resp::reply> role;
    try {
      pong = next(in, pos);
      if (pong && pong->type == '+' && pong->text == "PONG")
        role = next(in, pos);
    } catch (const std::exception&) { // a length that is not a number
      return check_verdict{false, "malformed reply"};
    }
    // An error answer, e.g. "LOADING Redis is loading the dataset in memory".
    if (pong && pong->is_error())
      return check_verdict{false, pong->text};
    if (pong && (pong->type != '+' || pong->text != "PONG"))
      return check_verdict{false, "unexpected reply to PING: " + pong->text};
    if (!role) {
      if (closed)
        return check_verdict{false, "connection closed by the server", true};
      return std::nullopt;
    }
    if (pos != in.size()) // more than was asked for: not safe to reuse
      return check_verdict{false, "unexpected data after the ROLE reply"};
    return check_verdict{true, "PONG, " + describe_role(*role)};
  }

  [[nodiscard]] std::string timed_out(check_phase at, const std::string& in,
                                      std::chrono::milliseconds timeout) const override {
    auto ms = timeout.count();
    if (at == check_phase::sending)
      return fmt::format("timed out after {} ms sending PING", ms);
    std::size_t pos = 0;
    std::optional<resp::reply> pong;
    try {
      pong = next(in, pos);
    } catch (const std::exception&) {
    }
    if (pong) // a PONG: an error or anything else would have ended the check
      return fmt::format("timed out after {} ms waiting for the ROLE reply", ms);
    return fmt::format("timed out after {} ms waiting for PONG", ms);
  }

  [[nodiscard]] bool retries_broken() const override {
    // Closed or reset before the replies: the server may have dropped the
    // idle held connection just now, or be dying (a connection still queued
    // when its listening socket closes is reset). One fresh try tells which:
    // the latter is refused.
    return true;
  }

private:
  // The reply at `pos` (moved past it), or none while it is incomplete.
  static std::optional<resp::reply> next(const std::string& in, std::size_t& pos) {
    if (in.size() <= pos)
      return std::nullopt;
    // parse() may move `pos` into a reply it cannot finish yet: restart from `start`.
    auto start = pos;
    auto parsed = resp::parse(in, pos);
    if (!parsed)
      pos = start;
    return parsed;
  }

  std::string request_ = resp::encode({"PING"}) + resp::encode({"ROLE"});
};

} // namespace

std::unique_ptr<check_kind> tcp_check() {
  return std::make_unique<tcp_kind>();
}

std::unique_ptr<check_kind> http_check(const std::string& host, std::uint16_t port,
                                       const std::string& path, int expected_status) {
  return std::make_unique<http_kind>(host, port, path, expected_status);
}

std::unique_ptr<check_kind> redis_check() {
  return std::make_unique<redis_kind>();
}

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

} // namespace switchyard::actors

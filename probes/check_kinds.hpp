// What differs between the probe engine's tcp, http and redis checks: what is
// sent once connected, what the answer means, what a held connection is good
// for. One type per kind; the engine (probe_engine.cpp) does the connecting,
// the timing, the holding and the watching, the same for every kind.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "strategies/actions/resp.hpp"

namespace switchyard::actors {

/// Where a check is; a timeout's detail says which.
enum class check_phase { connecting, sending, receiving };

/// How a check that got as far as an answer (or a broken connection) ended.
struct check_verdict {
  bool ok = false;
  std::string detail;
  /// The connection failed (closed, reset) before the answer was complete.
  bool broken = false;
};

class check_kind {
public:
  /// What a check does with the connection held since the previous check
  /// (fast detection) when the peer has not closed it.
  enum class held_use {
    answer,   ///< that it is still up is the answer (tcp)
    resend,   ///< the request goes over it again (redis)
    reconnect ///< it is dropped and a new one made
  };

  virtual ~check_kind() = default;

  /// Sent once connected; empty when being connected is the answer (tcp).
  [[nodiscard]] virtual const std::string& request() const = 0;
  /// `unread`: data nobody asked for waits on the held connection.
  [[nodiscard]] virtual held_use use_held(bool unread) const = 0;
  /// The verdict on everything received so far (`in`), or none to read on.
  /// `closed`: the peer closed the connection after `in`; there is always one
  /// then.
  [[nodiscard]] virtual std::optional<check_verdict> judge(const std::string& in,
                                                           bool closed) const = 0;
  /// The detail of a check whose timeout ran out while sending or receiving
  /// (`in` received by then).
  [[nodiscard]] virtual std::string timed_out(check_phase at, const std::string& in,
                                              std::chrono::milliseconds timeout) const = 0;
  /// Whether an exchange that broke gets one fresh connection.
  [[nodiscard]] virtual bool retries_broken() const { return false; }
};

/// Healthy when a connection is accepted ("connected"); a held one that is
/// still up is the next check's success, whatever it was sent.
std::unique_ptr<check_kind> tcp_check();
/// HTTP/1.1 GET `path`: healthy when the status is `expected_status`.
std::unique_ptr<check_kind> http_check(const std::string& host, std::uint16_t port,
                                       const std::string& path, int expected_status);
/// PING must answer PONG; ROLE names the role in the detail ("PONG, master").
/// A held connection is reused unless data nobody asked for waits on it; a
/// broken exchange gets one fresh connection.
std::unique_ptr<check_kind> redis_check();

/// Parses the status code of an HTTP/1.x status line; -1 when malformed.
int parse_http_status(const std::string& response_head);

/// A ROLE reply in a few words: "master", "replica of 127.0.0.1:6380
/// (connected)", "sentinel"; an error reply's text after "ROLE: ".
std::string describe_role(const resp::reply& role);

} // namespace switchyard::actors

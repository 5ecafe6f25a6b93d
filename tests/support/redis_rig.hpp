// A real Redis primary + replica behind HAProxy, watched by a real
// switchyardd, for the end-to-end failover tests and the failover benchmark.
// Everything is started here and stopped when the rig is destroyed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace switchyard::testing {

using rig_clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// One RESP command over a fresh connection with a deadline: the reply's
/// text (for arrays, the items joined by '\n'), or "" with `error` set.
std::string redis_command(std::uint16_t port, const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout, std::string* error = nullptr);

struct redis_rig_options {
  std::string fence_state = "maint";             ///< haproxy state the fence step sets
  std::chrono::milliseconds probe_interval{500}; ///< the redis health check
  std::string dead_when = "refused";
  std::string fence_socket{}; ///< empty: HAProxy's real stats socket
  bool fast_detection = true;
  /// The fence step also runs `shutdown sessions server` on the old primary.
  bool fence_shutdown_sessions = false;
  /// The reroute step also forces the new primary's health ("up"); "": leaves it.
  std::string reroute_health{};
  /// HAProxy as operators run it: its own role checks on both servers
  /// (tcp-check expecting role:master, inter 1s), `retries 3`, `option
  /// redispatch`, `timeout connect 100ms`; false: retries 0, no checks.
  /// Either way haproxy.log has a tcplog line per connection, written as
  /// soon as it is established (Tw/Tc/Tt timers, retries).
  bool haproxy_checks = false;
  /// With haproxy_checks: `option abortonclose` in be_redis, so that a
  /// connection waiting out HAProxy's retry turnaround is cut by `shutdown
  /// sessions` too, even with the client's request already buffered.
  bool abort_on_close = false;
  /// The standby starts `disabled` (in maintenance); false: enabled, kept
  /// out of rotation by its own role check alone (haproxy_checks only).
  bool standby_in_maint = true;
};

class redis_rig {
public:
  explicit redis_rig(redis_rig_options options = {});
  ~redis_rig();

  /// Starts redis-a (primary), redis-b (its replica), HAProxy and switchyardd;
  /// returns "" when all are up and switchyardd sees both healthy, else why not.
  std::string start();

  /// Starts redis-a again on its port, empty (as after a crash without persistence).
  void restart_a();

  std::string role(std::uint16_t port, std::chrono::milliseconds timeout = 100ms) const;
  /// One command to HAProxy's runtime API: its answer, "" if unreachable.
  std::string haproxy_api(const std::string& command) const;
  /// HAProxy's operational/admin state line of `server` in be_redis.
  std::string haproxy_server_state(const std::string& server) const;
  std::string daemon_log() const;
  std::string db_path() const;

  temp_dir dir;
  std::string root;
  std::uint16_t port_a = 0;
  std::uint16_t port_b = 0;
  std::uint16_t front_port = 0; ///< HAProxy's frontend: where clients write
  std::uint16_t api_port = 0;
  std::string haproxy_socket;
  std::unique_ptr<child_process> redis_a;
  std::unique_ptr<child_process> redis_b;
  std::unique_ptr<child_process> haproxy;
  std::unique_ptr<child_process> daemon;

private:
  std::unique_ptr<child_process> start_redis(std::uint16_t port, std::uint16_t replica_of,
                                             const std::string& name);
  void write_configs();
  redis_rig_options options_;
};

/// A client writing through HAProxy every `period`: RPUSH writes <n>, one
/// connection kept open and reopened after any failure, each write bounded
/// by `timeout`. Records every acknowledged n with its time.
class redis_writer {
public:
  redis_writer(std::uint16_t port, std::chrono::milliseconds period = 10ms,
               std::chrono::milliseconds timeout = 100ms);
  ~redis_writer();
  void stop();

  struct ack {
    long long n;
    rig_clock::time_point at;
    rig_clock::time_point sent; ///< when the write began (a new connection first, if need be)
  };
  std::vector<ack> acked() const;
  long long failures() const { return failures_; }
  /// The first acknowledged write at or after `t`, if any.
  std::optional<rig_clock::time_point> first_ack_after(rig_clock::time_point t) const;
  /// When the first write sent at or after `t` was acknowledged, if it was:
  /// unlike first_ack_after, never a reply the killed primary sent just before it died.
  std::optional<rig_clock::time_point> first_ack_sent_after(rig_clock::time_point t) const;

private:
  void run();
  std::uint16_t port_;
  std::chrono::milliseconds period_;
  std::chrono::milliseconds timeout_;
  std::atomic<bool> stop_{false};
  std::atomic<long long> failures_{0};
  mutable std::mutex mu_;
  std::vector<ack> acked_;
  std::thread thread_;
};

/// Samples ROLE of every port every `period`; remembers the most masters
/// seen at once (an unreachable server counts as no master).
class role_sampler {
public:
  role_sampler(std::vector<std::uint16_t> ports, std::chrono::milliseconds period = 5ms);
  ~role_sampler();
  void stop();
  int max_masters() const { return max_masters_; }
  long long samples() const { return samples_; }

private:
  std::vector<std::uint16_t> ports_;
  std::chrono::milliseconds period_;
  std::atomic<bool> stop_{false};
  std::atomic<int> max_masters_{0};
  std::atomic<long long> samples_{0};
  std::thread thread_;
};

} // namespace switchyard::testing

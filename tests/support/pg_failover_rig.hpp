// A real PostgreSQL 15 primary and two streaming standbys (pg_cluster) behind
// HAProxy, watched by a real switchyardd, for the end-to-end failover tests
// and the PostgreSQL failover benchmark. Stopped when the rig is destroyed.
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

#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace switchyard::testing {

using rig_clock = std::chrono::steady_clock;

struct pg_rig_options {
  /// The primary waits for one standby to confirm each commit.
  bool synchronous = false;
  std::chrono::milliseconds probe_interval{500}; ///< the postgres health check
  std::chrono::milliseconds probe_timeout{300};
  int fall = 2;
  /// The postgres check's fast detection (a held session whose loss is seen
  /// at once); false: `fast_detection: false`.
  bool fast_detection = true;
  /// The fence also runs the postgres `stop` operation on the old primary's
  /// data directory (pg_ctl stop -m immediate, then the backends a killed
  /// postmaster left behind are killed).
  bool fence_stop = true;
  /// A `rollback:` command for the fence step `read-only` (run when a later
  /// step of a planned switchover fails).
  std::string fence_rollback{};
  /// > 0: strategy.restart_in_place with this deadline and the postgres
  /// `start` operation (a crashed primary started again before any failover).
  std::chrono::milliseconds restart_deadline{0};
};

class pg_failover_rig {
public:
  explicit pg_failover_rig(pg_rig_options options = {});
  ~pg_failover_rig();
  pg_failover_rig(const pg_failover_rig&) = delete;
  pg_failover_rig& operator=(const pg_failover_rig&) = delete;

  /// Starts n0 (primary) with standbys n1 and n2, creates the table `writes`,
  /// starts HAProxy and switchyardd; "" when all are up and switchyardd sees
  /// the three healthy, else why not.
  [[nodiscard]] std::string start();

  /// libpq settings through HAProxy's frontend.
  [[nodiscard]] std::string haproxy_conninfo() const;
  /// libpq multi-host settings naming the three servers, read-write only.
  [[nodiscard]] std::string multi_host_conninfo() const;
  /// The node that is a primary (not in recovery) now, or -1 (none or several).
  [[nodiscard]] int primary() const;

  /// One command to HAProxy's runtime API: its answer, "" if unreachable.
  [[nodiscard]] std::string haproxy_api(const std::string& command) const;
  /// HAProxy's `show servers state` line of `server` in be_pg.
  [[nodiscard]] std::string haproxy_server_state(const std::string& server) const;
  [[nodiscard]] std::string daemon_log() const;
  [[nodiscard]] std::string db_path() const;
  [[nodiscard]] std::string config_path() const { return root + "/switchyard.yaml"; }
  [[nodiscard]] static std::string service() { return "db"; }

  pg_cluster cluster;
  temp_dir dir;
  std::string root;
  std::uint16_t front_port = 0; ///< HAProxy's frontend
  std::uint16_t api_port = 0;
  std::string haproxy_socket;
  std::unique_ptr<child_process> haproxy;
  std::unique_ptr<child_process> daemon;

private:
  void write_configs();
  pg_rig_options options_;
};

/// A client inserting a row into `writes` every `period` (INSERT ...
/// RETURNING id), over one libpq session reopened after any failure, each
/// write (with its connect, if need be) bounded by `timeout`. Records every
/// acknowledged id with its time.
class pg_writer {
public:
  pg_writer(std::string conninfo, std::chrono::milliseconds period = std::chrono::milliseconds(10),
            std::chrono::milliseconds timeout = std::chrono::milliseconds(200));
  ~pg_writer();
  pg_writer(const pg_writer&) = delete;
  pg_writer& operator=(const pg_writer&) = delete;
  void stop();

  struct ack {
    long long id;
    rig_clock::time_point at;
    rig_clock::time_point sent; ///< when the write began (a new connection first, if need be)
  };
  [[nodiscard]] std::vector<ack> acked() const;
  [[nodiscard]] long long failures() const { return failures_; }
  [[nodiscard]] std::string last_error() const;
  /// When the first write sent at or after `t` was acknowledged, if it was:
  /// never a reply the killed primary's backends sent after it died.
  [[nodiscard]] std::optional<rig_clock::time_point>
  first_ack_sent_after(rig_clock::time_point t) const;

private:
  void run();
  std::string conninfo_;
  std::chrono::milliseconds period_;
  std::chrono::milliseconds timeout_;
  std::atomic<bool> stop_{false};
  std::atomic<long long> failures_{0};
  mutable std::mutex mu_;
  std::vector<ack> acked_;
  std::string last_error_;
  std::thread thread_;
};

} // namespace switchyard::testing

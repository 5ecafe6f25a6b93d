// A real PostgreSQL 15 primary and N streaming standbys for tests and
// benchmarks, on free loopback ports, in a temporary folder (on tmpfs when
// there is room: pg_rewind and checkpoints fsync). As root, every server runs
// as the `postgres` system user. The destructor kills every server it started
// (and any started on its data directories by others, e.g. by pg_ctl).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "strategies/actions/pg_session.hpp"
#include "tests/support/process.hpp"

namespace switchyard::testing {

struct pg_cluster_options {
  /// The primary waits for one standby to confirm each commit
  /// (synchronous_standby_names = 'ANY 1 (*)').
  bool synchronous = false;
  /// Lines appended to every server's postgresql.conf.
  std::vector<std::string> extra_conf;
};

class pg_cluster {
public:
  explicit pg_cluster(pg_cluster_options options = {});
  ~pg_cluster();
  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;

  /// Creates node 0 (the primary) and `standbys` standbys ("n0", "n1", ...),
  /// starts them and waits until every standby streams; "" or why not (with
  /// the servers' logs). Call once.
  [[nodiscard]] std::string start(std::size_t standbys,
                                  std::chrono::milliseconds limit = std::chrono::seconds(30));

  [[nodiscard]] std::size_t size() const { return nodes_.size(); }
  [[nodiscard]] std::string name(std::size_t i) const { return "n" + std::to_string(i); }
  [[nodiscard]] std::uint16_t port(std::size_t i) const { return nodes_.at(i).port; }
  /// "127.0.0.1:<port>"
  [[nodiscard]] std::string address(std::size_t i) const;
  [[nodiscard]] const std::string& data_dir(std::size_t i) const { return nodes_.at(i).dir; }
  /// The folder holding the data directories, the sockets and the logs.
  [[nodiscard]] const std::string& root() const { return root_; }
  /// libpq options besides host and port: "user=postgres dbname=postgres".
  [[nodiscard]] static std::string options() { return "user=postgres dbname=postgres"; }
  /// Where initdb, pg_ctl, pg_rewind and postgres are.
  [[nodiscard]] static std::string bin_dir() { return "/usr/lib/postgresql/15/bin"; }

  /// The postmaster running on node i's data directory (whoever started
  /// it), or -1.
  [[nodiscard]] pid_t pid(std::size_t i) const;
  [[nodiscard]] bool running(std::size_t i) const { return pid(i) > 0; }

  /// Sends `sig` to the postmaster only. SIGKILL (a postmaster crash) also
  /// waits until it is gone; its children exit on their own (start_again
  /// waits for them).
  void kill(std::size_t i, int sig);
  /// A node crash: SIGKILL to the postmaster and every process it started,
  /// at once; returns when all are gone.
  void crash(std::size_t i);
  /// A fast shutdown (SIGINT, like pg_ctl stop -m fast); "" once stopped.
  [[nodiscard]] std::string stop(std::size_t i);
  /// Starts node i's server again on its data directory; "" once it accepts
  /// connections, else why not (with its log).
  [[nodiscard]] std::string start_again(std::size_t i,
                                        std::chrono::milliseconds limit = std::chrono::seconds(20));

  /// Runs `sql` on node i over a new session (user postgres): its rows, or
  /// nullopt with `error` set (the server's message).
  std::optional<pg::result>
  query(std::size_t i, const std::string& sql, std::string* error = nullptr,
        std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  /// The first value of the first row of `sql` on node i; "NULL", "" for no
  /// row, or "error: <message>".
  [[nodiscard]] std::string value(std::size_t i, const std::string& sql) const;

  /// "" once standby i streams from the server on `from_port` (its
  /// pg_stat_wal_receiver), else what it does instead.
  [[nodiscard]] std::string
  wait_until_streaming(std::size_t i, std::uint16_t from_port,
                       std::chrono::milliseconds limit = std::chrono::seconds(10)) const;
  /// "" once standby i has replayed all WAL that node `primary` has written.
  [[nodiscard]] std::string
  wait_until_replayed(std::size_t i, std::size_t primary,
                      std::chrono::milliseconds limit = std::chrono::seconds(10)) const;

  /// Node i's server log, and its last lines (for failure messages).
  [[nodiscard]] std::string log_file(std::size_t i) const { return root_ + "/" + name(i) + ".log"; }
  [[nodiscard]] std::string log_tail(std::size_t i, std::size_t lines = 20) const;
  [[nodiscard]] std::string logs() const;

private:
  struct node {
    std::uint16_t port = 0;
    std::string dir;
    std::unique_ptr<child_process> process;
    std::vector<pid_t> orphans; ///< children of a postmaster killed alone
  };
  void launch(std::size_t i);
  [[nodiscard]] std::string wait_ready(std::size_t i, std::chrono::milliseconds limit) const;
  [[nodiscard]] std::string configure(std::size_t i, std::size_t standbys);

  pg_cluster_options options_;
  std::string root_;
  std::vector<node> nodes_;
};

} // namespace switchyard::testing

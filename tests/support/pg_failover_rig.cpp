#include "tests/support/pg_failover_rig.hpp"

#include <algorithm>
#include <csignal>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "strategies/actions/pg_session.hpp"
#include "strategies/actions/stream_socket.hpp"
#include "tests/support/haproxy_admin.hpp"
#include "tests/support/test_tokens.hpp"

namespace switchyard::testing {

using namespace std::chrono_literals;
using strategies::stream_socket;

pg_failover_rig::pg_failover_rig(pg_rig_options options)
    : cluster(pg_cluster_options{options.synchronous, {}}), options_(std::move(options)) {
  root = dir.path().string();
  front_port = free_port();
  do
    api_port = free_port();
  while (api_port == front_port);
  haproxy_socket = root + "/haproxy.sock";
}

pg_failover_rig::~pg_failover_rig() {
  // The daemon first, so that it does not act on the servers going away
  // (the cluster stops its servers in its own destructor).
  for (auto* p : {&daemon, &haproxy})
    if (*p) {
      (*p)->signal(SIGKILL);
      (*p)->wait_for_exit(5s);
    }
}

std::string pg_failover_rig::haproxy_conninfo() const {
  return pg::conninfo("127.0.0.1", front_port, pg_cluster::options() + " connect_timeout=1");
}

std::string pg_failover_rig::multi_host_conninfo() const {
  return fmt::format("host=127.0.0.1,127.0.0.1,127.0.0.1 port={},{},{} "
                     "target_session_attrs=read-write connect_timeout=1 {}",
                     cluster.port(0), cluster.port(1), cluster.port(2), pg_cluster::options());
}

int pg_failover_rig::primary() const {
  int found = -1;
  for (std::size_t i = 0; i < cluster.size(); ++i)
    if (cluster.running(i) && cluster.value(i, "SELECT pg_is_in_recovery()") == "f") {
      if (found >= 0)
        return -1;
      found = static_cast<int>(i);
    }
  return found;
}

void pg_failover_rig::write_configs() {
  std::ofstream cfg(root + "/haproxy.cfg");
  cfg << "global\n"
      << "  stats socket " << haproxy_socket << " level admin\n"
      << "defaults\n"
      << "  mode tcp\n"
      << "  timeout connect 100ms\n"
      << "  timeout client 30s\n"
      << "  timeout server 30s\n"
      << "  retries 0\n" // a refused connection is not retried against the same dead server
      << "frontend fe_pg\n"
      << "  bind 127.0.0.1:" << front_port << "\n"
      << "  default_backend be_pg\n"
      << "backend be_pg\n";
  // No checks of its own: which server takes writes is switchyardd's decision.
  for (std::size_t i = 0; i < cluster.size(); ++i)
    cfg << "  server " << cluster.name(i) << " " << cluster.address(i)
        << (i == 0 ? "" : " disabled") << "\n";
  cfg.close();
  write_test_tokens(root + "/tokens.yaml");

  auto haproxy_step = [&](const char* name, const char* state, bool fence) {
    return fmt::format("        - {{name: {}, type: haproxy, socket: {}, backend: be_pg, "
                       "state: {}{}, timeout: 500ms}}\n",
                       name, haproxy_socket, state, fence ? ", shutdown_sessions: true" : "");
  };
  std::ostringstream y;
  y << "orchestrator:\n  data_dir: data\n  log_level: info\n"
    << fmt::format("api:\n  listen: 127.0.0.1:{}\n  tokens_file: tokens.yaml\n", api_port)
    << "services:\n"
    << "  - name: db\n"
    << "    block_period: 60s\n"
    << "    objectives: {rto: 5s, rpo: 0s}\n"
    << fmt::format("    postgres: {{options: '{}', bin_dir: {}, rewind: true}}\n",
                   pg_cluster::options(), pg_cluster::bin_dir())
    << fmt::format("    health_check: {{type: postgres, interval: {}ms, timeout: {}ms, rise: 2, "
                   "fall: {}, fast_detection: {}}}\n",
                   options_.probe_interval.count(), options_.probe_timeout.count(), options_.fall,
                   options_.fast_detection ? "true" : "false")
    << "    instances:\n";
  for (std::size_t i = 0; i < cluster.size(); ++i)
    y << fmt::format("      - {{name: {}, address: '{}', site: dc1, role: {}, priority: {}, "
                     "data_directory: {}}}\n",
                     cluster.name(i), cluster.address(i), i == 0 ? "primary" : "standby",
                     100 - 10 * static_cast<int>(i), cluster.data_dir(i));
  y << "    strategy:\n"
    << "      type: active_passive\n"
    << "      dead_when: refused\n";
  if (options_.restart_deadline.count() > 0)
    y << "      restart_in_place:\n"
      << "        deadline: " << options_.restart_deadline.count() << "ms\n"
      << "        actions:\n"
      << "          - {name: start-again, type: postgres, operation: start, timeout: 10s}\n";
  y << "      position: {name: lsn, type: postgres, operation: lsn, timeout: 300ms}\n"
    << "      fence:\n"
    << "        - name: read-only\n"
    << "          type: postgres\n"
    << "          operation: fence\n"
    << "          timeout: 500ms\n";
  if (!options_.fence_rollback.empty())
    y << "          rollback: >-\n            " << options_.fence_rollback << "\n";
  if (options_.fence_stop)
    y << "        - {name: stop-old, type: postgres, operation: stop, timeout: 5s}\n";
  y << haproxy_step("take-old-out", "maint", true) << "      promote:\n"
    << "        - {name: promote, type: postgres, operation: promote, timeout: 5s}\n"
    << "      reroute:\n"
    << haproxy_step("send-writes-to-new", "ready", false)
    << "        - {name: follow-new, type: postgres, operation: follow, target: other_standbys, "
       "timeout: 5s}\n";
  std::ofstream(config_path()) << y.str();
}

std::string pg_failover_rig::start() {
  if (auto why = cluster.start(2); !why.empty())
    return why;
  std::string error;
  if (!cluster.query(0,
                     "CREATE TABLE writes (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())",
                     &error))
    return "CREATE TABLE writes: " + error;
  write_configs();
  haproxy = std::make_unique<child_process>(
      std::vector<std::string>{"/usr/sbin/haproxy", "-f", root + "/haproxy.cfg", "-db"},
      root + "/haproxy.log");
  auto through_haproxy = [&] {
    std::string why;
    auto s = pg::session::connect(haproxy_conninfo(), pg::clock::now() + 500ms, why);
    return s && s->query("SELECT 1", pg::clock::now() + 500ms, why).has_value();
  };
  if (!wait_until(through_haproxy, 10s))
    return "HAProxy does not pass sessions to n0: " + read_file(root + "/haproxy.log");
  daemon = std::make_unique<child_process>(
      std::vector<std::string>{SWITCHYARDD_PATH, "--config", config_path()},
      root + "/switchyardd.log");
  auto healthy = wait_until(
      [&] {
        auto log = daemon_log();
        for (std::size_t i = 0; i < cluster.size(); ++i)
          if (log.find("db/" + cluster.name(i) + ": unknown -> healthy") == std::string::npos)
            return false;
        return true;
      },
      15s);
  if (!healthy)
    return "switchyardd did not see the three healthy: " + daemon_log();
  return "";
}

std::string pg_failover_rig::haproxy_api(const std::string& command) const {
  return haproxy_command(haproxy_socket, command, 1s);
}

std::string pg_failover_rig::haproxy_server_state(const std::string& server) const {
  return haproxy_server_line(haproxy_socket, "be_pg", server);
}

std::string pg_failover_rig::daemon_log() const {
  return read_file(root + "/switchyardd.log");
}

std::string pg_failover_rig::db_path() const {
  return root + "/data/switchyard.db";
}

pg_writer::pg_writer(std::string conninfo, std::chrono::milliseconds period,
                     std::chrono::milliseconds timeout)
    : conninfo_(std::move(conninfo)), period_(period), timeout_(timeout),
      thread_([this] { run(); }) {}

pg_writer::~pg_writer() {
  stop();
}

void pg_writer::stop() {
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
}

void pg_writer::run() {
  std::unique_ptr<pg::session> s;
  auto next = rig_clock::now();
  while (!stop_) {
    auto sent = rig_clock::now();
    auto deadline = sent + timeout_;
    std::string why;
    if (!s || !s->usable())
      s = pg::session::connect(conninfo_, deadline, why);
    auto r = s ? s->query("INSERT INTO writes DEFAULT VALUES RETURNING id", deadline, why)
               : std::nullopt;
    std::optional<long long> id;
    if (r && !r->rows.empty() && r->rows[0].size() == 1 && r->rows[0][0]) {
      try {
        id = std::stoll(*r->rows[0][0]);
      } catch (const std::exception&) {
        why = "not an id: " + *r->rows[0][0];
      }
    }
    if (id) {
      std::lock_guard lock{mu_};
      acked_.push_back({*id, rig_clock::now(), sent});
    } else {
      ++failures_;
      s.reset(); // whatever went wrong, the next write starts on a fresh session
      std::lock_guard lock{mu_};
      last_error_ = why;
    }
    next += period_;
    auto now = rig_clock::now();
    if (next > now)
      std::this_thread::sleep_until(next); // the client's own pace, not a synchronisation
    else
      next = now;
  }
}

std::vector<pg_writer::ack> pg_writer::acked() const {
  std::lock_guard lock{mu_};
  return acked_;
}

std::string pg_writer::last_error() const {
  std::lock_guard lock{mu_};
  return last_error_;
}

std::optional<rig_clock::time_point>
pg_writer::first_ack_sent_after(rig_clock::time_point t) const {
  std::lock_guard lock{mu_};
  for (const auto& a : acked_)
    if (a.sent >= t)
      return a.at;
  return std::nullopt;
}

} // namespace switchyard::testing

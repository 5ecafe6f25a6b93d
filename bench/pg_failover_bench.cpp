// PostgreSQL failover benchmark on real servers: a PostgreSQL 15 primary and
// two standbys (pg_failover_rig) behind HAProxy (timeout connect 100ms),
// switchyardd with postgres probes, and two clients inserting a row every
// 10 ms (200 ms per write): one through HAProxy, one with a libpq multi-host
// string (target_session_attrs=read-write). Each run kills the primary:
//   postmaster  SIGKILL to the postmaster alone (its backends exit or are
//               killed by the fence's stop step)
//   node        the whole node: postmaster and every process it started, at once
// and measures, from the kill:
//   detection   the detection switchyardd persisted (its at_ms)
//   failover    the switchover journal: opened -> closed
//   first write the acknowledgement of each client's first write sent after the kill
//   lost        acknowledged writes (before or after the kill) the new primary lacks
//   failed      writes that failed in between (retried by the client as new writes)
// Usage: pg_failover_bench [runs] [--fault postmaster|node] [--sync|--async]
//                          [--no-fast-detection]
//   default: 20 runs of each fault, asynchronous and synchronous.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_stats.hpp"
#include "persistence/sqlite_store.hpp"
#include "tests/support/pg_failover_rig.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using switchyard::testing::pg_failover_rig;
using switchyard::testing::pg_rig_options;
using switchyard::testing::pg_writer;
using switchyard::testing::rig_clock;
using switchyard::testing::wait_until;

using switchyard::bench::maximum;
using switchyard::bench::median;
namespace {

struct client_result {
  double first_write_ms = -1;
  long long lost = -1;
  long long failed = -1;
};

struct run_result {
  double detection_ms = -1;
  double failover_ms = -1;
  client_result libpq;
  client_result haproxy;
  std::string error;
};

double ms_between(rig_clock::time_point a, rig_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// What switchyardd did, for a run that went wrong: its decisions and
// switchovers as it logged them.
std::string why_not(const pg_failover_rig& rig) {
  auto log = rig.daemon_log();
  auto from = log.find("-> unhealthy");
  std::istringstream in(log.substr(from == std::string::npos ? 0 : log.rfind('\n', from) + 1));
  std::string out;
  for (std::string line; std::getline(in, line);)
    out += "      " + line + "\n";
  return out;
}

run_result one_run(const pg_rig_options& options, bool node_crash) {
  run_result r;
  pg_failover_rig rig{options};
  if (auto why = rig.start(); !why.empty()) {
    r.error = why.substr(0, 300);
    return r;
  }
  pg_writer libpq(rig.multi_host_conninfo());
  pg_writer haproxy(rig.haproxy_conninfo());
  if (!wait_until([&] { return libpq.acked().size() >= 50 && haproxy.acked().size() >= 50; },
                  10s)) {
    r.error = "the writers never got going: " + libpq.last_error() + " / " + haproxy.last_error();
    return r;
  }
  auto failures_before = std::pair{libpq.failures(), haproxy.failures()};
  auto wall_kill_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto killed_at = rig_clock::now();
  if (node_crash)
    rig.cluster.crash(0);
  else
    rig.cluster.kill(0, SIGKILL);
  if (!wait_until(
          [&] {
            return libpq.first_ack_sent_after(killed_at).has_value() &&
                   haproxy.first_ack_sent_after(killed_at).has_value();
          },
          20s)) {
    r.error = "writes never resumed: " + libpq.last_error() + " / " + haproxy.last_error() + "\n" +
              why_not(rig);
    return r;
  }
  r.libpq.first_write_ms = ms_between(killed_at, *libpq.first_ack_sent_after(killed_at));
  r.haproxy.first_write_ms = ms_between(killed_at, *haproxy.first_ack_sent_after(killed_at));
  libpq.stop();
  haproxy.stop();
  r.libpq.failed = libpq.failures() - failures_before.first;
  r.haproxy.failed = haproxy.failures() - failures_before.second;

  std::string to;
  wait_until(
      [&] {
        auto db = persistence::sqlite_store::open(rig.db_path());
        if (!db)
          return false;
        auto list = (*db)->list_switchovers(pg_failover_rig::service());
        if (!list || list->empty() || list->front().status == switchover_status::running)
          return false;
        const auto& sw = list->front();
        r.failover_ms = static_cast<double>(sw.finished_at_ms - sw.started_at_ms);
        to = sw.to.value;
        if (auto d = (*db)->list_detections(pg_failover_rig::service()); d)
          for (const auto& det : *d)
            if (det.type == failure_type::unreachable && det.instance.value == "n0")
              r.detection_ms = static_cast<double>(det.at_ms - wall_kill_ms);
        return true;
      },
      10s);
  std::size_t fresh = to == "n1" ? 1 : to == "n2" ? 2 : 0;
  if (fresh == 0) {
    r.error = "no completed switchover in the journal";
    return r;
  }
  std::set<long long> stored;
  if (auto rows = rig.cluster.query(fresh, "SELECT id FROM writes"))
    for (const auto& row : rows->rows)
      if (!row.empty() && row[0])
        stored.insert(std::stoll(*row[0]));
  for (auto [w, c] : {std::pair{&libpq, &r.libpq}, std::pair{&haproxy, &r.haproxy}}) {
    c->lost = 0;
    for (const auto& a : w->acked())
      c->lost += stored.count(a.id) == 0 ? 1 : 0;
  }
  return r;
}

// Every run of one (fault, replication) pair; false when every run failed.
bool series(int runs, bool node_crash, pg_rig_options options) {
  fmt::print("\n== fault: {}, replication: {}, fast detection: {} ({} runs)\n",
             node_crash ? "node crash (postmaster + all its processes)" : "postmaster SIGKILL",
             options.synchronous ? "synchronous (ANY 1)" : "asynchronous",
             options.fast_detection ? "on" : "off", runs);
  fmt::print("{:>4} {:>9} {:>8} | {:>11} {:>5} {:>6} | {:>11} {:>5} {:>6}\n", "", "", "", "libpq",
             "", "", "haproxy", "", "");
  fmt::print("{:>4} {:>9} {:>8} | {:>11} {:>5} {:>6} | {:>11} {:>5} {:>6}\n", "run", "detection",
             "failover", "first write", "lost", "failed", "first write", "lost", "failed");
  std::vector<double> detection, failover, lw, ll, hw, hl;
  int errors = 0;
  for (int i = 1; i <= runs; ++i) {
    auto r = one_run(options, node_crash);
    if (!r.error.empty()) {
      fmt::print("{:>4} error: {}\n", i, r.error);
      ++errors;
      continue;
    }
    fmt::print("{:>4} {:>9.0f} {:>8.0f} | {:>11.0f} {:>5} {:>6} | {:>11.0f} {:>5} {:>6}\n", i,
               r.detection_ms, r.failover_ms, r.libpq.first_write_ms, r.libpq.lost, r.libpq.failed,
               r.haproxy.first_write_ms, r.haproxy.lost, r.haproxy.failed);
    std::fflush(stdout);
    detection.push_back(r.detection_ms);
    failover.push_back(r.failover_ms);
    lw.push_back(r.libpq.first_write_ms);
    ll.push_back(static_cast<double>(r.libpq.lost));
    hw.push_back(r.haproxy.first_write_ms);
    hl.push_back(static_cast<double>(r.haproxy.lost));
  }
  auto sum = [](const std::vector<double>& v) {
    double s = 0;
    for (auto x : v)
      s += x;
    return s;
  };
  fmt::print("{:>4} {:>9.0f} {:>8.0f} | {:>11.0f} {:>5.0f} {:>6} | {:>11.0f} {:>5.0f}\n", "med",
             median(detection), median(failover), median(lw), median(ll), "", median(hw),
             median(hl));
  fmt::print("{:>4} {:>9.0f} {:>8.0f} | {:>11.0f} {:>5.0f} {:>6} | {:>11.0f} {:>5.0f}\n", "max",
             maximum(detection), maximum(failover), maximum(lw), maximum(ll), "", maximum(hw),
             maximum(hl));
  fmt::print("lost in all runs: libpq {:.0f}, haproxy {:.0f}; errors: {}\n", sum(ll), sum(hl),
             errors);
  // For scripts/bench.sh's table.
  auto tag = fmt::format("{}_{}", node_crash ? "node" : "postmaster",
                         options.synchronous ? "sync" : "async");
  fmt::print("RESULT {}_median_detection {:.0f} ms\n", tag, median(detection));
  fmt::print("RESULT {}_median_first_write_libpq {:.0f} ms\n", tag, median(lw));
  fmt::print("RESULT {}_median_first_write_haproxy {:.0f} ms\n", tag, median(hw));
  fmt::print("RESULT {}_lost_writes {:.0f} count\n", tag, sum(ll) + sum(hl));
  std::fflush(stdout);
  return errors < runs;
}

} // namespace

int main(int argc, char** argv) {
  int runs = 20;
  std::vector<bool> faults{false, true}; // postmaster, node
  std::vector<bool> syncs{false, true};
  bool fast = true;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string next = i + 1 < argc ? argv[i + 1] : "";
    if (arg == "--fault" && (next == "postmaster" || next == "node")) {
      faults = {next == "node"};
      ++i;
    } else if (arg == "--sync") {
      syncs = {true};
    } else if (arg == "--async") {
      syncs = {false};
    } else if (arg == "--no-fast-detection") {
      fast = false;
    } else if (!arg.empty() && std::isdigit(static_cast<unsigned char>(arg[0])) != 0) {
      runs = std::max(1, std::atoi(arg.c_str()));
    } else {
      std::fprintf(stderr, "pg_failover_bench: unknown argument %s (see the source's header)\n",
                   arg.c_str());
      return 2;
    }
  }
  fmt::print("PostgreSQL failover benchmark: primary + 2 standbys (PostgreSQL 15), HAProxy "
             "(timeout connect 100ms), switchyardd (postgres check every 500 ms, timeout 300 ms, "
             "fall 2; fence: postgres fence + stop + haproxy maint/shutdown sessions; promote; "
             "reroute: haproxy ready + follow); clients insert a row every 10 ms (200 ms "
             "timeout)\n");
  bool any = false;
  for (bool node : faults)
    for (bool sync : syncs) {
      pg_rig_options options;
      options.synchronous = sync;
      options.fast_detection = fast;
      any = series(runs, node, options) || any;
    }
  fmt::print("\nall in ms from the kill; detection and failover come from switchyardd's own "
             "journal (millisecond timestamps); first write is measured by each client (the "
             "first write sent after the kill).\n");
  return any ? 0 : 1;
}

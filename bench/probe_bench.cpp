// Probe benchmark: what health-checking N instances at 1 s costs switchyardd,
// next to HAProxy checking the same N endpoints.
//
// Targets: N listening ports on 127.0.0.1, served by two forked worker
// processes with epoll (accept; answer an HTTP request with 200; close). They
// count accepted connections in shared memory: the probe rate is measured,
// not assumed (switchyardd's own /metrics count its probes: its tcp checks,
// like HAProxy's, reset the connection before the targets could accept it).
// For each probe type (tcp, http):
//   1. the real switchyardd with a generated config (N instances in services
//      of 10, health_check interval 1 s, fast_detection off so that every
//      probe is a new connection, as HAProxy's are); wait until every
//      instance is healthy; then CPU (utime+stime from /proc/PID/stat) over
//      the window and RSS (VmRSS, VmHWM from /proc/PID/status);
//   2. /usr/sbin/haproxy with one backend of N servers, `check inter 1s`,
//      measured the same way.
// Usage: probe_bench [instances=10000] [seconds=20] [types=tcp,http]
#include <sys/wait.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_targets.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_tokens.hpp"

using namespace std::chrono_literals;
using switchyard::bench::raise_fd_limit;
using switchyard::bench::start_targets;
using switchyard::bench::targets;
using switchyard::testing::child_process;
using switchyard::testing::free_port;
using switchyard::testing::read_file;
using switchyard::testing::wait_until;

namespace {

using steady = std::chrono::steady_clock;

// -- measuring a process -----------------------------------------------------------

double cpu_seconds(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command (which may hold spaces) start after the last ')'.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i == 14 || i == 15) // utime, stime
      ticks += std::stod(field);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

long status_kb(pid_t pid, const std::string& key) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0)
      return std::atol(line.c_str() + key.size() + 1);
  return -1;
}

struct measurement {
  std::string who;
  double cpu_share = 0; ///< of one core
  /// Per second: for switchyardd, probes that succeeded (its /metrics); for
  /// haproxy http, connections the targets accepted; haproxy tcp: configured.
  double probes_per_s = 0;
  long rss_mb = 0;
  long hwm_mb = 0;
  long threads = 0;
  double ready_s = 0; ///< start until every instance probed/healthy
  /// Instances reported down (all targets are up: every one is false).
  std::size_t false_downs = 0;
  std::string error;
};

// Probes counted over the window: by default the connections the targets accepted.
using probe_counter = std::function<std::uint64_t()>;

void measure(pid_t pid, const probe_counter& count, std::chrono::seconds window, measurement& m) {
  auto c0 = cpu_seconds(pid);
  auto a0 = count();
  auto t0 = steady::now();
  std::this_thread::sleep_for(window); // the measuring window itself, not a synchronization
  auto c1 = cpu_seconds(pid);
  auto a1 = count();
  double secs = std::chrono::duration<double>(steady::now() - t0).count();
  m.cpu_share = (c1 - c0) / secs;
  m.probes_per_s = static_cast<double>(a1 - a0) / secs;
  m.rss_mb = status_kb(pid, "VmRSS") / 1024;
  m.hwm_mb = status_kb(pid, "VmHWM") / 1024;
  m.threads = status_kb(pid, "Threads");
}

// -- switchyardd ---------------------------------------------------------------------

std::string switchyard_config(const std::string& type, const std::vector<std::uint16_t>& ports,
                              int n, std::uint16_t api_port, std::uint16_t metrics_port) {
  std::string y = fmt::format("orchestrator:\n  data_dir: data\n  log_level: info\n"
                              "  metrics_listen: 127.0.0.1:{}\n"
                              "api:\n  listen: 127.0.0.1:{}\n  tokens_file: tokens.yaml\n"
                              "services:\n",
                              metrics_port, api_port);
  constexpr int per_service = 10;
  for (int s = 0; s * per_service < n; ++s) {
    y += fmt::format("  - name: s{}\n"
                     "    health_check: {{type: {}, {}interval: 1s, timeout: 500ms, "
                     "rise: 1, fall: 3}}\n"
                     "    instances:\n",
                     s, type, type == "http" ? "path: /health, " : "fast_detection: false, ");
    for (int i = s * per_service; i < std::min(n, (s + 1) * per_service); ++i)
      y += fmt::format("      - {{name: i{}, address: 127.0.0.1:{}, site: dc1, role: {}, "
                       "priority: 100}}\n",
                       i, ports[static_cast<std::size_t>(i)],
                       i == s * per_service ? "primary" : "standby");
    y += "    strategy:\n      type: active_passive\n      promote:\n"
         "        - {name: promote, type: exec, command: 'true', timeout: 1s}\n";
  }
  return y;
}

// The value of the sample `series` (name and labels as written) in a
// Prometheus text page; 0 when absent.
std::uint64_t metric_value(const std::string& text, const std::string& series) {
  auto line = "\n" + series + " ";
  auto at = text.find(line);
  if (at == std::string::npos)
    return 0;
  return static_cast<std::uint64_t>(std::strtod(text.c_str() + at + line.size(), nullptr));
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
    ++n;
  return n;
}

measurement bench_switchyardd(const std::string& root, const std::string& type, const targets& t,
                              int n, std::chrono::seconds window) {
  measurement m;
  m.who = "switchyardd";
  auto dir = root + "/switchyard-" + type;
  std::filesystem::create_directories(dir);
  switchyard::testing::write_test_tokens(dir + "/tokens.yaml");
  auto metrics_port = free_port();
  std::ofstream(dir + "/switchyard.yaml")
      << switchyard_config(type, t.ports, n, free_port(), metrics_port);
  auto log = dir + "/switchyardd.log";
  auto start = steady::now();
  child_process daemon({SWITCHYARDD_PATH, "--config", dir + "/switchyard.yaml"}, log);
  std::size_t healthy = 0;
  bool exited = false;
  bool ready = wait_until(
      [&] {
        if ((exited = !daemon.running()))
          return true;
        // Every instance judged once: its first transition (out of unknown).
        healthy = count_of(read_file(log), ": unknown -> ");
        return healthy >= static_cast<std::size_t>(n);
      },
      std::chrono::milliseconds(180s));
  m.ready_s = std::chrono::duration<double>(steady::now() - start).count();
  if (!ready || exited) {
    auto text = read_file(log);
    m.error = fmt::format("{} of {} instances judged after {:.0f} s; log tail: {}", healthy, n,
                          m.ready_s, text.substr(text.size() > 1500 ? text.size() - 1500 : 0));
    return m;
  }
  m.hwm_mb = status_kb(daemon.pid(), "VmHWM") / 1024;
  std::this_thread::sleep_for(3s); // settle after the start-up burst (not a synchronization)
  // Its own count of probes that succeeded: a tcp check resets the
  // connection before the targets accept it (as HAProxy's do), so they
  // cannot count it.
  measure(
      daemon.pid(),
      [&] {
        auto text = switchyard::testing::http_request("GET", metrics_port, "/metrics");
        auto label = fmt::format("{{type=\"{}\"}}", type);
        auto done = metric_value(text, "switchyard_probe_duration_seconds_count" + label);
        auto failed = metric_value(text, "switchyard_probes_failed_total" + label);
        return done > failed ? done - failed : 0;
      },
      window, m);
  m.false_downs = count_of(read_file(log), " -> unhealthy");
  daemon.signal(SIGTERM);
  if (daemon.wait_for_exit(20s) < 0)
    daemon.signal(SIGKILL);
  return m;
}

// -- haproxy -------------------------------------------------------------------------

measurement bench_haproxy(const std::string& root, const std::string& type, const targets& t, int n,
                          std::chrono::seconds window) {
  measurement m;
  m.who = "haproxy";
  auto dir = root + "/haproxy-" + type;
  std::filesystem::create_directories(dir);
  std::string cfg = fmt::format("global\n  maxconn 4000\n"
                                "defaults\n  mode {}\n  timeout connect 500ms\n"
                                "  timeout client 30s\n  timeout server 30s\n"
                                "  timeout check 500ms\n"
                                "frontend fe\n  bind 127.0.0.1:{}\n  default_backend be\n"
                                "backend be\n",
                                type == "http" ? "http" : "tcp", free_port());
  if (type == "http")
    cfg += "  option httpchk GET /health\n  http-check expect status 200\n";
  cfg += "  default-server check inter 1s rise 1 fall 3\n";
  for (int i = 0; i < n; ++i)
    cfg += fmt::format("  server i{} 127.0.0.1:{}\n", i, t.ports[static_cast<std::size_t>(i)]);
  std::ofstream(dir + "/haproxy.cfg") << cfg;
  auto start = steady::now();
  child_process haproxy({"/usr/sbin/haproxy", "-f", dir + "/haproxy.cfg", "-db"},
                        dir + "/haproxy.log");
  // Checking: an http check is a request the targets see; a tcp check is
  // not (HAProxy resets the connection before the handshake completes on
  // the server's side, so it is never accepted): there, HAProxy must still
  // run after 2 intervals, and its log names no server DOWN.
  auto a0 = t.count();
  bool checking =
      type == "http"
          ? wait_until(
                [&] {
                  return haproxy.running() && t.count() - a0 >= static_cast<std::uint64_t>(n);
                },
                std::chrono::milliseconds(60s))
          : !wait_until([&] { return !haproxy.running(); }, 2s) &&
                read_file(dir + "/haproxy.log").find("DOWN") == std::string::npos;
  m.ready_s = std::chrono::duration<double>(steady::now() - start).count();
  if (!checking) {
    m.error = "haproxy did not check every server: " + read_file(dir + "/haproxy.log");
    return m;
  }
  std::this_thread::sleep_for(3s);
  measure(
      haproxy.pid(), [&t] { return t.count(); }, window, m);
  if (type != "http")
    m.probes_per_s = n; // configured: one check per server per second (not countable here)
  m.false_downs = count_of(read_file(dir + "/haproxy.log"), " is DOWN");
  haproxy.signal(SIGTERM);
  if (haproxy.wait_for_exit(10s) < 0)
    haproxy.signal(SIGKILL);
  return m;
}

} // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::max(1, std::atoi(argv[1])) : 10000;
  auto window = std::chrono::seconds(argc > 2 ? std::max(1, std::atoi(argv[2])) : 20);
  std::string types = argc > 3 ? argv[3] : "tcp,http";
  raise_fd_limit();
  ::signal(SIGPIPE, SIG_IGN);

  std::string pattern = (std::filesystem::temp_directory_path() / "probe-bench-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    fmt::print(stderr, "mkdtemp: {}\n", std::strerror(errno));
    return 1;
  }
  const std::string root = pattern;
  auto t = start_targets(n);
  if (static_cast<int>(t->ports.size()) < n) {
    fmt::print(stderr, "only {} of {} ports could be bound\n", t->ports.size(), n);
    return 1;
  }
  fmt::print("probe benchmark: {} instances on 127.0.0.1:{}..{}, interval 1 s, window {} s, "
             "{} target workers (epoll)\n\n",
             n, t->ports.front(), t->ports.back(), window.count(), t->pids.size());
  fmt::print("{:<5} {:<12} {:>8} {:>10} {:>12} {:>18} {:>8} {:>8} {:>8} {:>12}\n", "type",
             "checker", "ready s", "probes/s", "CPU % core", "CPU %/1k probes/s", "RSS MB",
             "peak MB", "threads", "false downs");
  int failures = 0;
  std::vector<std::string> results; // `RESULT name value unit` lines (scripts/bench.sh)
  std::vector<std::string> kinds;
  {
    std::istringstream in(types);
    for (std::string k; std::getline(in, k, ',');)
      if (k == "tcp" || k == "http")
        kinds.push_back(k);
  }
  for (const auto& type : kinds) {
    auto sy = bench_switchyardd(root, type, *t, n, window);
    auto ha = bench_haproxy(root, type, *t, n, window);
    for (const auto* m : {&sy, &ha}) {
      if (!m->error.empty()) {
        fmt::print("{:<5} {:<12} error: {}\n", type, m->who, m->error);
        ++failures;
        continue;
      }
      double per_k = m->probes_per_s > 0 ? 100 * m->cpu_share / (m->probes_per_s / 1000) : 0;
      fmt::print("{:<5} {:<12} {:>8.1f} {:>10.0f} {:>12.1f} {:>18.2f} {:>8} {:>8} {:>8} {:>12}\n",
                 type, m->who, m->ready_s, m->probes_per_s, 100 * m->cpu_share, per_k, m->rss_mb,
                 m->hwm_mb, m->threads, m->false_downs);
      auto key = type + "_" + m->who;
      results.push_back(
          fmt::format("RESULT {}_probes_per_s {:.0f} probes/s", key, m->probes_per_s));
      results.push_back(fmt::format("RESULT {}_cpu {:.1f} %core", key, 100 * m->cpu_share));
      results.push_back(fmt::format("RESULT {}_cpu_per_1k_probes_per_s {:.2f} %core", key, per_k));
      results.push_back(fmt::format("RESULT {}_rss {} MB", key, m->rss_mb));
      results.push_back(fmt::format("RESULT {}_peak_rss {} MB", key, m->hwm_mb));
      results.push_back(fmt::format("RESULT {}_false_downs {} count", key, m->false_downs));
    }
    if (sy.error.empty() && ha.error.empty() && sy.probes_per_s > 0 && ha.probes_per_s > 0 &&
        ha.cpu_share > 0) {
      auto ratio = (sy.cpu_share / sy.probes_per_s) / (ha.cpu_share / ha.probes_per_s);
      fmt::print("{:<5} ratio of CPU per probe, switchyardd / haproxy: {:.2f}\n", type, ratio);
      results.push_back(fmt::format("RESULT {}_cpu_per_probe_ratio {:.2f} x", type, ratio));
    }
  }
  fmt::print("\nprobes/s: per second during the window, for switchyardd the probes that "
             "succeeded (its /metrics), for haproxy http the connections the targets accepted, "
             "for haproxy tcp the configured rate (tcp checks of both reset the connection "
             "before the targets can accept it). ready: start until every instance was healthy "
             "(switchyardd), or checking (haproxy). false downs: instances reported down "
             "(switchyardd: transitions to unhealthy; haproxy: servers DOWN), though every "
             "target was up. Files in {}\n",
             root);
  for (const auto& r : results)
    fmt::print("{}\n", r);
  return failures == 0 ? 0 : 1;
}

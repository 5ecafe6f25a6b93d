// Failover benchmark on real servers: Redis primary + replica behind HAProxy
// (connect timeout 100 ms), a client writing through HAProxy every 10 ms,
// switchyardd with redis probes and fast detection. Each run kills the
// primary with SIGKILL and measures:
//   detection   kill -> the detection switchyardd persisted (its at_ms)
//   fenced      kill -> the fence step done (journal), rerouted: the reroute step
//   failover    the switchover journal: opened -> closed
//   first write kill -> the acknowledgement of the first write sent after it
//   lost        acknowledged writes (before or after the kill) the new primary lacks
//   failed      writes that failed in between (the client retried them as new writes)
//   retried     HAProxy's tcplog of connections it had to retry: server, Tw/Tc/Tt, retries
// Usage: failover_bench [runs] [options]   (default 7 runs); prints every run, median, max.
//   --haproxy-checks   HAProxy as operators run it: own role checks (inter 1s),
//                      retries 3, option redispatch (default: retries 0, no checks)
//   --today-steps      with --haproxy-checks: fence = maint, reroute = ready (the
//                      strategy before shutdown_sessions/health; default: fence =
//                      maint + shutdown_sessions, reroute = ready + health up)
//   --abortonclose     with --haproxy-checks: `option abortonclose` in the backend
//   --standby-enabled  with --haproxy-checks: the standby is not `disabled`; its
//                      own failing role check alone keeps it out
//   --busy             both cores kept busy by spinning child processes meanwhile
//   --client-timeout MS  each write's timeout (default 100, with --haproxy-checks 1000)
//   --keep-logs DIR    copy haproxy.log and switchyardd.log of runs over 100 ms there
// SWITCHYARDD=<path> runs that daemon binary instead of the build's (a copy
// pinned for a series of runs that a rebuild must not change midway).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "bench/bench_stats.hpp"
#include "persistence/sqlite_store.hpp"
#include "tests/support/redis_rig.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using switchyard::testing::read_file;
using switchyard::testing::redis_command;
using switchyard::testing::redis_rig;
using switchyard::testing::redis_rig_options;
using switchyard::testing::redis_writer;
using switchyard::testing::rig_clock;
using switchyard::testing::wait_until;

using switchyard::bench::maximum;
using switchyard::bench::median;
namespace {

struct run_result {
  double detection_ms = -1;
  double fenced_ms = -1;
  double rerouted_ms = -1;
  double failover_ms = -1;
  double first_write_ms = -1;
  long long lost = -1;
  long long failed = -1;
  std::string retried; ///< HAProxy's retried connections, from its tcplog
  std::string error;
};

double ms_between(rig_clock::time_point a, rig_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Connections HAProxy retried (tcplog, `%ac/%fc/%bc/%sc/%rc` with %rc != 0):
// "<server> <Tw/Tc/Tt> <retries>" each; a '+' before the retries is a redispatch.
std::string retried_connections(const std::string& log) {
  std::istringstream in(log);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::vector<std::string> f{std::istream_iterator<std::string>(words), {}};
    if (f.size() < 9 || f[2] != "fe_redis")
      continue;
    auto retries = f[7].substr(f[7].rfind('/') + 1);
    if (retries == "0")
      continue;
    auto server = f[3].substr(f[3].find('/') + 1);
    out += fmt::format("{}{} {} {}", out.empty() ? "" : "; ", server, f[4], retries);
  }
  return out.empty() ? "-" : out;
}

// One kill -9. `keep_logs`: where to copy the logs of a run whose first
// write took over 100 ms ("": nowhere), as run-<run>-<log>.
run_result one_run(const redis_rig_options& options, std::chrono::milliseconds client_timeout,
                   int run, const std::string& keep_logs) {
  run_result r;
  redis_rig rig{options};
  if (auto why = rig.start(); !why.empty()) {
    r.error = why.substr(0, 300);
    return r;
  }
  redis_writer writer(rig.front_port, 10ms, client_timeout);
  if (!wait_until([&] { return writer.acked().size() >= 50; }, 10s)) {
    r.error = "the writer never got going";
    return r;
  }
  auto failures_before = writer.failures();
  auto wall_kill_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto killed_at = rig_clock::now();
  rig.redis_a->signal(SIGKILL);
  rig.redis_a->wait_for_exit(5s);
  if (!wait_until([&] { return writer.first_ack_sent_after(killed_at).has_value(); }, 15s)) {
    r.error = "writes never resumed";
    return r;
  }
  r.first_write_ms = ms_between(killed_at, *writer.first_ack_sent_after(killed_at));
  writer.stop();
  r.failed = writer.failures() - failures_before;
  // A connection HAProxy is still retrying is logged once it gets a server
  // (or gives up), after the client stopped: wait for its streams to end.
  wait_until([&] { return rig.haproxy_api("show sess").find("fe=fe_redis") == std::string::npos; },
             5s);
  r.retried = retried_connections(read_file(rig.root + "/haproxy.log"));
  if (!keep_logs.empty() && r.first_write_ms > 100) {
    std::error_code ec;
    std::filesystem::create_directories(keep_logs, ec);
    for (const char* log : {"haproxy.log", "switchyardd.log"})
      std::filesystem::copy_file(rig.root + "/" + log,
                                 fmt::format("{}/run-{}-{}", keep_logs, run, log),
                                 std::filesystem::copy_options::overwrite_existing, ec);
  }
  std::optional<persistence::switchover_row> sw;
  wait_until(
      [&] {
        auto db = persistence::sqlite_store::open(rig.db_path());
        if (!db)
          return false;
        auto list = (*db)->list_switchovers("cache");
        if (!list || list->empty() || list->front().status == switchover_status::running)
          return false;
        sw = list->front();
        if (auto d = (*db)->list_detections("cache"); d)
          for (const auto& det : *d)
            if (det.type == failure_type::unreachable && det.instance.value == "redis-a")
              r.detection_ms = static_cast<double>(det.at_ms - wall_kill_ms);
        if (auto steps = (*db)->list_steps(sw->id); steps)
          for (const auto& st : *steps) {
            auto at = static_cast<double>(st.finished_at_ms - wall_kill_ms);
            if (st.name == "take-old-out")
              r.fenced_ms = at;
            else if (st.name == "send-writes-to-new")
              r.rerouted_ms = at;
          }
        return true;
      },
      10s);
  if (sw)
    r.failover_ms = static_cast<double>(sw->finished_at_ms - sw->started_at_ms);

  std::set<std::string> stored;
  std::istringstream in(redis_command(rig.port_b, {"LRANGE", "writes", "0", "-1"}, 2s));
  for (std::string n; std::getline(in, n);)
    stored.insert(n);
  r.lost = 0;
  for (const auto& a : writer.acked())
    if (stored.count(std::to_string(a.n)) == 0)
      ++r.lost;
  return r;
}

// One spinning child per core, killed (by pid) when this goes away.
class busy_cores {
public:
  busy_cores() {
    auto cores = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < cores; ++i) {
      pid_t pid = ::fork();
      if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL); // never outlive the benchmark
        volatile unsigned long spin = 0;
        while (true)
          spin = spin + 1;
      }
      if (pid > 0)
        pids_.push_back(pid);
    }
  }
  ~busy_cores() {
    for (auto pid : pids_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  busy_cores(const busy_cores&) = delete;
  busy_cores& operator=(const busy_cores&) = delete;
  std::size_t count() const { return pids_.size(); }

private:
  std::vector<pid_t> pids_;
};

} // namespace

int main(int argc, char** argv) {
  int runs = 7;
  bool busy = false;
  bool today_steps = false;
  int client_timeout_ms = -1;
  std::string keep_logs;
  redis_rig_options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--haproxy-checks")
      options.haproxy_checks = true;
    else if (arg == "--today-steps")
      today_steps = true;
    else if (arg == "--abortonclose")
      options.abort_on_close = true;
    else if (arg == "--standby-enabled")
      options.standby_in_maint = false;
    else if (arg == "--busy")
      busy = true;
    else if (arg == "--keep-logs" && i + 1 < argc)
      keep_logs = argv[++i];
    else if (arg == "--client-timeout" && i + 1 < argc)
      client_timeout_ms = std::max(1, std::atoi(argv[++i]));
    else if (!arg.empty() && std::isdigit(static_cast<unsigned char>(arg[0])) != 0)
      runs = std::max(1, std::atoi(arg.c_str()));
    else {
      std::fprintf(stderr, "failover_bench: unknown argument %s (see the source's header)\n",
                   arg.c_str());
      return 2;
    }
  }
  // The operator's client waits long enough to see HAProxy's own retries
  // (its turnaround is 100 ms per retry), not its own timeout.
  if (client_timeout_ms < 0)
    client_timeout_ms = options.haproxy_checks ? 1000 : 100;
  auto client_timeout = std::chrono::milliseconds{client_timeout_ms};
  if (options.haproxy_checks && !today_steps) {
    options.fence_shutdown_sessions = true;
    options.reroute_health = "up";
  }

  std::string setup =
      options.haproxy_checks
          ? fmt::format("operator's HAProxy (role checks inter 1s, retries 3, option redispatch{}"
                        "{}); steps: {}",
                        options.abort_on_close ? ", option abortonclose" : "",
                        options.standby_in_maint ? "" : ", standby enabled",
                        today_steps ? "fence maint, reroute ready"
                                    : "fence maint + shutdown sessions, reroute "
                                      "ready + health up")
          : std::string{"HAProxy with retries 0 and no checks; steps: fence maint, reroute ready"};
  std::unique_ptr<busy_cores> spinners;
  if (busy)
    spinners = std::make_unique<busy_cores>();
  fmt::print("failover benchmark: redis primary+replica behind haproxy (timeout connect 100ms), "
             "client writes every 10 ms ({} ms timeout), kill -9 of the primary; {} runs\n{}{}\n\n",
             client_timeout_ms, runs, setup,
             busy ? fmt::format("; busy: {} spinning processes", spinners->count()) : "");
  fmt::print("{:>4} {:>9} {:>7} {:>9} {:>9} {:>11} {:>5} {:>6}  {}\n", "run", "detection", "fenced",
             "rerouted", "failover", "first write", "lost", "failed",
             "retried by haproxy (server Tw/Tc/Tt retries)");
  std::vector<double> detection, fenced, rerouted, failover, first_write, lost;
  int errors = 0;
  for (int i = 1; i <= runs; ++i) {
    run_result r;
    try { // the rig's destructor stops whatever it started
      r = one_run(options, client_timeout, i, keep_logs);
    } catch (const std::exception& e) {
      r.error = e.what();
    }
    if (!r.error.empty()) {
      fmt::print("{:>4} error: {}\n", i, r.error);
      ++errors;
      continue;
    }
    fmt::print("{:>4} {:>9.1f} {:>7.1f} {:>9.1f} {:>9.1f} {:>11.1f} {:>5} {:>6}  {}\n", i,
               r.detection_ms, r.fenced_ms, r.rerouted_ms, r.failover_ms, r.first_write_ms, r.lost,
               r.failed, r.retried);
    std::fflush(stdout);
    detection.push_back(r.detection_ms);
    fenced.push_back(r.fenced_ms);
    rerouted.push_back(r.rerouted_ms);
    failover.push_back(r.failover_ms);
    first_write.push_back(r.first_write_ms);
    lost.push_back(static_cast<double>(r.lost));
  }
  fmt::print("{:>4} {:>9.1f} {:>7.1f} {:>9.1f} {:>9.1f} {:>11.1f} {:>5.1f}\n", "med",
             median(detection), median(fenced), median(rerouted), median(failover),
             median(first_write), median(lost));
  fmt::print("{:>4} {:>9.1f} {:>7.1f} {:>9.1f} {:>9.1f} {:>11.1f} {:>5.1f}\n", "max",
             maximum(detection), maximum(fenced), maximum(rerouted), maximum(failover),
             maximum(first_write), maximum(lost));
  fmt::print("\nall in ms; detection, fenced, rerouted and failover come from switchyardd's own "
             "journal (millisecond timestamps); first write is measured by the client.\n");
  return errors == runs ? 1 : 0;
}

// Failover benchmark on real servers: Redis primary + replica behind HAProxy
// (connect timeout 100 ms), a client writing through HAProxy every 10 ms,
// switchyardd with redis probes and fast detection. Each run kills the
// primary with SIGKILL and measures:
//   detection   kill -> the detection switchyardd persisted (its at_ms)
//   failover    the switchover journal: opened -> closed
//   first write kill -> the first write acknowledged through HAProxy after it
//   lost        writes acknowledged before the kill that the new primary lacks
//   failed      writes that failed in between (the client retried them as new writes)
// Usage: failover_bench [runs]   (default 7); prints every run and the medians.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "persistence/sqlite_store.hpp"
#include "tests/support/redis_rig.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using switchyard::testing::redis_command;
using switchyard::testing::redis_rig;
using switchyard::testing::redis_writer;
using switchyard::testing::rig_clock;
using switchyard::testing::wait_until;

namespace {

struct run_result {
  double detection_ms = -1;
  double failover_ms = -1;
  double first_write_ms = -1;
  long long lost = -1;
  long long failed = -1;
  std::string error;
};

double ms_between(rig_clock::time_point a, rig_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

run_result one_run() {
  run_result r;
  redis_rig rig;
  if (auto why = rig.start(); !why.empty()) {
    r.error = why.substr(0, 300);
    return r;
  }
  redis_writer writer(rig.front_port, 10ms, 100ms);
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
  if (!wait_until([&] { return writer.first_ack_after(killed_at).has_value(); }, 15s)) {
    r.error = "writes never resumed";
    return r;
  }
  r.first_write_ms = ms_between(killed_at, *writer.first_ack_after(killed_at));
  writer.stop();
  r.failed = writer.failures() - failures_before;

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
    if (a.at < killed_at && stored.count(std::to_string(a.n)) == 0)
      ++r.lost;
  return r;
}

double median(std::vector<double> v) {
  if (v.empty())
    return -1;
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

} // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 7;
  fmt::print("failover benchmark: redis primary+replica behind haproxy (timeout connect 100ms), "
             "client writes every 10 ms, kill -9 of the primary; {} runs\n\n",
             runs);
  fmt::print("{:>4} {:>14} {:>12} {:>15} {:>6} {:>7}\n", "run", "detection ms", "failover ms",
             "first write ms", "lost", "failed");
  std::vector<double> detection, failover, first_write, lost;
  int errors = 0;
  for (int i = 1; i <= runs; ++i) {
    auto r = one_run();
    if (!r.error.empty()) {
      fmt::print("{:>4} error: {}\n", i, r.error);
      ++errors;
      continue;
    }
    fmt::print("{:>4} {:>14.1f} {:>12.1f} {:>15.1f} {:>6} {:>7}\n", i, r.detection_ms,
               r.failover_ms, r.first_write_ms, r.lost, r.failed);
    detection.push_back(r.detection_ms);
    failover.push_back(r.failover_ms);
    first_write.push_back(r.first_write_ms);
    lost.push_back(static_cast<double>(r.lost));
  }
  fmt::print("{:>4} {:>14.1f} {:>12.1f} {:>15.1f} {:>6.1f}\n", "med", median(detection),
             median(failover), median(first_write), median(lost));
  fmt::print("\ndetection and failover come from switchyardd's own journal (millisecond "
             "timestamps); first write is measured by the client.\n");
  return errors == runs ? 1 : 0;
}

// Election benchmark (issue 20): how long after the leader dies another
// candidate leads and may act, with cluster::leader_lease against a real
// three-member etcd (tests/support/etcd_cluster) on loopback.
//
// Each run: a candidate in a child process (this program with --candidate)
// campaigns and leads; a candidate in this process follows (as a standby
// replica does). The child gets SIGKILL — no resignation, its lease ends only
// by expiring at etcd — and the time until this process's candidate may act
// is measured (polled every millisecond). Then a new child is started and
// this candidate resigns to it once the child campaigns (a handover: the
// time until the child says it leads), for the next run.
//
// Usage: election_bench [runs=20] [ttl_ms=2000] [keepalive_ms=500]
// Prints `RESULT <name> <value> <unit>`.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "bench/bench_stats.hpp"
#include "cluster/etcd_client.hpp"
#include "cluster/leader_lease.hpp"
#include "messages/error.hpp"
#include "tests/support/etcd_cluster.hpp"
#include "tests/support/process.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using bench_clock = std::chrono::steady_clock;

namespace {

const std::string leader_key = "/switchyard/bench/leader";

cluster::leader_settings settings_for(const std::string& id, std::chrono::milliseconds ttl,
                                      std::chrono::milliseconds keepalive) {
  cluster::leader_settings s;
  s.leader_key = leader_key;
  s.candidate_id = id;
  s.timing.ttl = ttl;
  s.timing.keepalive_interval = keepalive;
  return s;
}

cluster::etcd_client client_of(const std::string& endpoints) {
  auto parsed = cluster::parse_endpoints(endpoints);
  if (!parsed) {
    std::fprintf(stderr, "endpoints: %s\n", describe(parsed.error()).c_str());
    std::exit(2);
  }
  cluster::client_settings settings;
  settings.endpoints = *parsed;
  auto client = cluster::etcd_client::create(settings);
  if (!client) {
    std::fprintf(stderr, "client: %s\n", describe(client.error()).c_str());
    std::exit(2);
  }
  return *client;
}

std::unique_ptr<cluster::leader_lease> campaign(const std::string& endpoints,
                                                const cluster::leader_settings& s) {
  auto lease = cluster::leader_lease::start(client_of(endpoints), s);
  if (!lease) {
    std::fprintf(stderr, "leader_lease: %s\n", describe(lease.error()).c_str());
    std::exit(2);
  }
  return std::move(*lease);
}

// The child: campaigns, says when it leads, and waits to be killed.
int run_candidate(const std::string& endpoints, const std::string& id,
                  std::chrono::milliseconds ttl, std::chrono::milliseconds keepalive) {
  auto lease = campaign(endpoints, settings_for(id, ttl, keepalive));
  bool said = false;
  while (!lease->may_act()) {
    auto s = lease->status();
    if (!said && s.lease_id != 0 && !s.leader_id.empty()) {
      std::printf("FOLLOWING %s\n", s.leader_id.c_str()); // campaigning: ready to take over
      std::fflush(stdout);
      said = true;
    }
    std::this_thread::sleep_for(1ms);
  }
  std::printf("LEADING %lld\n", static_cast<long long>(lease->status().epoch.value));
  std::fflush(stdout);
  while (true)
    std::this_thread::sleep_for(1s);
}

using switchyard::bench::pct;

// Polls `cond` every millisecond; the time it took, or -1 after `limit`.
template <class Cond> double time_until(Cond cond, std::chrono::milliseconds limit) {
  auto t0 = bench_clock::now();
  while (!cond()) {
    if (bench_clock::now() - t0 > limit)
      return -1;
    std::this_thread::sleep_for(1ms);
  }
  return std::chrono::duration<double, std::milli>(bench_clock::now() - t0).count();
}

} // namespace

int main(int argc, char** argv) {
  if (argc >= 6 && std::string{argv[1]} == "--candidate")
    return run_candidate(argv[2], argv[3], std::chrono::milliseconds(std::atoi(argv[4])),
                         std::chrono::milliseconds(std::atoi(argv[5])));
  int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  auto ttl = std::chrono::milliseconds(argc > 2 ? std::atoi(argv[2]) : 2000);
  auto keepalive = std::chrono::milliseconds(argc > 3 ? std::atoi(argv[3]) : 500);

  testing::etcd_cluster etcd;
  if (auto why = etcd.start(); !why.empty()) {
    std::fprintf(stderr, "etcd: %s\n", why.c_str());
    return 1;
  }
  auto endpoints = etcd.endpoints();
  std::printf("election_bench: %d runs, etcd 3 members on %s, ttl %lld ms, keep-alive %lld ms\n",
              runs, endpoints.c_str(), static_cast<long long>(ttl.count()),
              static_cast<long long>(keepalive.count()));
  char self[4096] = {};
  if (::readlink("/proc/self/exe", self, sizeof(self) - 1) <= 0)
    return 1;
  auto dir = std::string{"/tmp/election-bench-"} + std::to_string(::getpid());
  std::string mk = "mkdir -p " + dir;
  if (std::system(mk.c_str()) != 0)
    return 1;

  // This process's candidate: the standby replica that takes over (from the
  // first child's leadership on).
  std::unique_ptr<cluster::leader_lease> standby;
  std::vector<double> takeover;
  std::vector<double> handover;
  int failures = 0;
  for (int run = 0; run < runs && failures < 3; ++run) {
    // A child that leads: the standby resigns to it (after the first run).
    auto log = fmt::format("{}/child-{}.log", dir, run);
    testing::child_process child({self, "--candidate", endpoints, fmt::format("child-{}", run),
                                  std::to_string(ttl.count()), std::to_string(keepalive.count())},
                                 log);
    auto child_leads = [&] { return testing::read_file(log).find("LEADING") != std::string::npos; };
    auto child_follows = [&] {
      return testing::read_file(log).find("FOLLOWING") != std::string::npos;
    };
    if (standby && standby->status().leader) {
      if (!testing::wait_until(child_follows, 10s)) {
        std::fprintf(stderr, "run %d: the child did not campaign\n", run);
        ++failures;
        continue;
      }
      (void)standby->resign();
      auto ms = time_until(child_leads, 10s);
      if (ms < 0) {
        std::fprintf(stderr, "run %d: the child did not take over after a resignation\n", run);
        ++failures;
        continue;
      }
      handover.push_back(ms);
      standby = campaign(endpoints, settings_for("standby", ttl, keepalive)); // a follower again
    } else if (!testing::wait_until(child_leads, 10s)) {
      std::fprintf(stderr, "run %d: the child never led\n", run);
      ++failures;
      continue;
    }
    if (!standby)
      standby = campaign(endpoints, settings_for("standby", ttl, keepalive));
    // Campaigning (it has a lease and sees the child lead) before the kill.
    if (!testing::wait_until(
            [&] {
              auto st = standby->status();
              return st.lease_id != 0 && !st.leader_id.empty();
            },
            10s)) {
      std::fprintf(stderr, "run %d: the standby did not campaign\n", run);
      ++failures;
      continue;
    }
    // The follower is campaigning; the leader dies.
    child.signal(SIGKILL);
    auto ms = time_until([&] { return standby->may_act(); }, ttl * 4 + 5s);
    (void)child.wait_for_exit(2s);
    if (ms < 0) {
      std::fprintf(stderr, "run %d: no takeover within %lld ms\n", run,
                   static_cast<long long>((ttl * 4 + 5s).count()));
      ++failures;
      continue;
    }
    takeover.push_back(ms);
    std::printf("run %2d: leader killed -> standby may act in %7.1f ms (epoch %lld)\n", run, ms,
                static_cast<long long>(standby->status().epoch.value));
  }
  std::string rm = "rm -rf " + dir;
  (void)std::system(rm.c_str());
  std::printf("RESULT election_takeover_median %.0f ms\n", pct(takeover, 0.5));
  std::printf("RESULT election_takeover_max %.0f ms\n", pct(takeover, 1.0));
  std::printf("RESULT election_takeover_min %.0f ms\n", pct(takeover, 0.0));
  std::printf("RESULT election_handover_median %.0f ms\n", pct(handover, 0.5));
  std::printf("RESULT election_runs %zu count\n", takeover.size());
  return failures > 0 || takeover.empty() ? 1 : 0;
}

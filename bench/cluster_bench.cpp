// Cluster benchmark: takeover with real switchyardd processes. Three replicas
// (cluster section, lease_ttl 2 s, other timings default) on a real
// three-member etcd (tests/support/etcd_cluster), guarding a service `web` of
// two demo_service instances (web-a primary, web-b standby; http checks every
// 100 ms, fall 2, rise 1, block_period 1s), all on loopback ports, in a
// temporary directory (on /dev/shm when there is one).
//
// 1. leader runs: the leader (the one replica whose /metrics says
//    switchyard_cluster_may_act 1) gets SIGKILL; the time until another
//    replica's /metrics says may_act 1 (polled every 10 ms). The killed
//    replica is restarted (same config and data) and must follow (its
//    switchyard_cluster_epoch equals the leader's) before the next run. A run
//    in which a demo_service's role changes counts as failed.
// 2. primary runs: with the primary (GET /role of both demo services) and the
//    standby healthy in every replica's view, the leader AND the primary
//    demo_service get SIGKILL at the same instant; the time until the other
//    demo_service answers /role = primary (promoted by the new leader). The
//    killed demo_service is restarted as a standby, the killed replica too,
//    and everything must be healthy and following before the next run. A run
//    that ends otherwise (the wrong failover, 30 s without one) counts as failed.
//
// Usage: cluster_bench [leader_runs=20] [primary_runs=10]
// Prints `RESULT <name> <value> <unit>`.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_stats.hpp"
#include "tests/support/etcd_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_tokens.hpp"

using namespace std::chrono_literals;
using switchyard::testing::child_process;
using switchyard::testing::free_port;
using switchyard::testing::http_request;
using switchyard::testing::wait_until;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto run_limit = 30s;

struct replica {
  std::string name;
  std::string dir;
  std::uint16_t api = 0;
  std::uint16_t metrics = 0;
  std::unique_ptr<child_process> process;
};

struct demo {
  std::string name;
  std::uint16_t port = 0;
  std::unique_ptr<child_process> process;
};

std::string root;

double ms_since(steady::time_point t0) {
  return std::chrono::duration<double, std::milli>(steady::now() - t0).count();
}

using switchyard::bench::pct;

// The replica's /metrics, "" when it is not running or does not answer.
std::string metrics_of(const replica& r) {
  if (!r.process)
    return {};
  auto answer = http_request("GET", r.metrics, "/metrics");
  return answer.rfind("200", 0) == 0 ? answer : std::string{};
}

// A gauge of a /metrics answer (`name` may hold a label set), -1 when absent.
double gauge(const std::string& body, const std::string& name) {
  std::smatch m;
  if (std::regex_search(body, m, std::regex("\n" + name + " ([-0-9.e+]+)")))
    return std::stod(m[1]);
  return -1;
}

double healthy(const std::string& body, const std::string& instance) {
  return gauge(body, "switchyard_instance_healthy\\{[^}]*instance=\"" + instance + "\"[^}]*\\}");
}

std::vector<replica*> acting(std::vector<replica>& replicas) {
  std::vector<replica*> out;
  for (auto& r : replicas)
    if (gauge(metrics_of(r), "switchyard_cluster_may_act") == 1)
      out.push_back(&r);
  return out;
}

replica* wait_for_leader(std::vector<replica>& replicas, std::chrono::milliseconds limit) {
  replica* leader = nullptr;
  (void)wait_until(
      [&] {
        auto now = acting(replicas);
        leader = now.size() == 1 ? now.front() : nullptr;
        return leader != nullptr;
      },
      limit);
  return leader;
}

// Every replica runs and knows the leader's epoch.
bool all_follow(std::vector<replica>& replicas, replica& leader) {
  return wait_until(
      [&] {
        auto epoch = gauge(metrics_of(leader), "switchyard_cluster_epoch");
        for (const auto& r : replicas)
          if (!r.process || gauge(metrics_of(r), "switchyard_cluster_epoch") != epoch)
            return false;
        return epoch > 0;
      },
      run_limit);
}

void start(replica& r) {
  r.process = std::make_unique<child_process>(
      std::vector<std::string>{SWITCHYARDD_PATH, "--config", r.dir + "/switchyard.yaml"},
      r.dir + "/switchyardd.log");
}

void kill(replica& r) {
  r.process->signal(SIGKILL);
  (void)r.process->wait_for_exit(5s);
  r.process.reset();
}

void start(demo& d, const std::string& role) {
  d.process = std::make_unique<child_process>(
      std::vector<std::string>{DEMO_SERVICE_PATH, "--name", d.name, "--port",
                               std::to_string(d.port), "--role", role},
      root + "/" + d.name + ".log");
}

std::string role_of(const demo& d) {
  auto answer = http_request("GET", d.port, "/role");
  if (answer.rfind("200 ", 0) != 0)
    return "down";
  auto body = answer.substr(4);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r'))
    body.pop_back();
  return body;
}

void write_config(const replica& r, const std::vector<replica>& all, const std::string& endpoints,
                  const demo& a, const demo& b) {
  auto action = [](const std::string& name, const std::string& command) {
    return fmt::format("        - {{name: {}, type: exec, timeout: 5s, command: '{}'}}\n", name,
                       command);
  };
  std::ofstream out(r.dir + "/switchyard.yaml", std::ios::trunc);
  out << "orchestrator:\n  data_dir: data\n  log_level: info\n"
      << fmt::format("  metrics_listen: \"127.0.0.1:{}\"\n", r.metrics)
      << fmt::format("api:\n  listen: 127.0.0.1:{}\n  tokens_file: tokens.yaml\n", r.api)
      << "services:\n"
      << "  - name: web\n"
      << "    block_period: 1s\n"
      << "    objectives: {rto: 10s, rpo: 0s}\n"
      << "    health_check: {type: http, path: /health, interval: 100ms, timeout: 80ms,"
         " rise: 1, fall: 2}\n"
      << "    instances:\n"
      << fmt::format("      - {{name: {}, address: 127.0.0.1:{}, site: dc1, role: primary, "
                     "priority: 100}}\n",
                     a.name, a.port)
      << fmt::format("      - {{name: {}, address: 127.0.0.1:{}, site: dc1, role: standby, "
                     "priority: 90}}\n",
                     b.name, b.port)
      << "    strategy:\n      type: active_passive\n"
      << "      fence:\n"
      << action("fence-old", "true") << "      promote:\n"
      << action("promote-new",
                "curl -fsS -m 2 -X POST http://$SWITCHYARD_NEW_PRIMARY_ADDRESS/promote")
      << "      reroute:\n"
      << action("reroute", "true") << "cluster:\n"
      << "  member: " << r.name << "\n  members:\n";
  for (const auto& m : all)
    out << fmt::format("    - {{name: {}, api: 127.0.0.1:{}}}\n", m.name, m.api);
  out << "  endpoints: [" << endpoints << "]\n  lease_ttl: 2s\n";
}

std::string make_root() {
  std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string pattern = base + "/cluster-bench-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr)
    return {};
  return buf.data();
}

void report(const char* name, const std::vector<double>& v) {
  fmt::print("RESULT {}_median {:.0f} ms\n", name, pct(v, 0.5));
  fmt::print("RESULT {}_max {:.0f} ms\n", name, pct(v, 1.0));
}

} // namespace

int main(int argc, char** argv) {
  int leader_runs = argc > 1 ? std::max(0, std::atoi(argv[1])) : 20;
  int primary_runs = argc > 2 ? std::max(0, std::atoi(argv[2])) : 10;
  if (argc > 3 || (argc > 1 && !std::isdigit(static_cast<unsigned char>(argv[1][0])))) {
    std::fprintf(stderr, "usage: cluster_bench [leader_runs=20] [primary_runs=10]\n");
    return 2;
  }
  auto began = steady::now();
  root = make_root();
  if (root.empty()) {
    std::fprintf(stderr, "mkdtemp failed\n");
    return 1;
  }
  int rc = 0;
  {
    switchyard::testing::etcd_cluster etcd;
    if (auto why = etcd.start(); !why.empty()) {
      std::fprintf(stderr, "etcd: %s\n", why.c_str());
      std::filesystem::remove_all(root);
      return 1;
    }
    std::vector<demo> demos(2);
    demos[0].name = "web-a";
    demos[1].name = "web-b";
    for (auto& d : demos)
      d.port = free_port();
    start(demos[0], "primary");
    start(demos[1], "standby");
    std::vector<replica> replicas(3);
    const char* names[] = {"sy-a", "sy-b", "sy-c"};
    for (std::size_t i = 0; i < replicas.size(); ++i) {
      replicas[i].name = names[i];
      replicas[i].dir = root + "/" + names[i];
      replicas[i].api = free_port();
      replicas[i].metrics = free_port();
      std::filesystem::create_directories(replicas[i].dir);
      switchyard::testing::write_test_tokens(replicas[i].dir + "/tokens.yaml");
    }
    for (auto& r : replicas) {
      write_config(r, replicas, etcd.endpoints(), demos[0], demos[1]);
      start(r);
    }
    fmt::print("cluster_bench: {} leader runs, {} primary runs; etcd {}; replicas in {}\n",
               leader_runs, primary_runs, etcd.endpoints(), root);
    std::fflush(stdout);

    // Every replica follows the leader and sees both instances healthy.
    auto settled = [&]() -> replica* {
      auto* leader = wait_for_leader(replicas, run_limit);
      if (!leader || !all_follow(replicas, *leader))
        return nullptr;
      bool ok = wait_until(
          [&] {
            for (const auto& r : replicas) {
              auto m = metrics_of(r);
              for (const auto& d : demos)
                if (healthy(m, d.name) != 1)
                  return false;
            }
            return true;
          },
          run_limit);
      return ok ? leader : nullptr;
    };
    auto roles = [&] { return role_of(demos[0]) + "/" + role_of(demos[1]); };
    if (!settled()) {
      std::fprintf(stderr, "the cluster did not settle; logs in %s\n", root.c_str());
      return 1; // the directory is kept for the logs
    }

    std::vector<double> takeover;
    int leader_failed = 0;
    for (int run = 0; run < leader_runs && leader_failed < 3; ++run) {
      auto* leader = wait_for_leader(replicas, run_limit);
      if (!leader || !all_follow(replicas, *leader)) {
        fmt::print("leader run {:2}: FAILED: no leader followed by every replica\n", run);
        ++leader_failed;
        continue;
      }
      auto before = roles();
      auto t0 = steady::now();
      leader->process->signal(SIGKILL);
      replica* next = nullptr;
      while (!next && steady::now() - t0 < run_limit) {
        for (auto& r : replicas)
          if (&r != leader && gauge(metrics_of(r), "switchyard_cluster_may_act") == 1)
            next = &r;
        if (!next)
          std::this_thread::sleep_for(10ms);
      }
      double ms = ms_since(t0);
      kill(*leader);
      start(*leader);
      bool follows = next && all_follow(replicas, *next);
      auto after = roles();
      if (!next || !follows || after != before) {
        fmt::print("leader run {:2}: FAILED: {} killed; {}\n", run, leader->name,
                   !next      ? "no other replica acted within 30 s"
                   : !follows ? "the restarted replica did not follow"
                              : "roles changed " + before + " -> " + after);
        ++leader_failed;
        continue;
      }
      takeover.push_back(ms);
      fmt::print("leader run {:2}: {} killed -> {} may act in {:7.1f} ms (epoch {:.0f})\n", run,
                 leader->name, next->name, ms,
                 gauge(metrics_of(*next), "switchyard_cluster_epoch"));
      std::fflush(stdout);
    }

    std::vector<double> promoted;
    int primary_failed = 0;
    auto last_failover = steady::now() - 10s;
    std::string expected = roles(); // what the previous run left
    for (int run = 0; run < primary_runs && primary_failed < 3; ++run) {
      auto* leader = settled();
      auto before = roles();
      demo* primary = before == "primary/standby"   ? &demos[0]
                      : before == "standby/primary" ? &demos[1]
                                                    : nullptr;
      if (!leader || !primary) {
        fmt::print("primary run {:2}: FAILED: not settled (roles {})\n", run, before);
        ++primary_failed;
        continue;
      }
      if (before != expected) {
        // Another failover than the measured one happened since (counted once).
        fmt::print("primary run {:2}: FAILED: roles {}, expected {}\n", run, before, expected);
        expected = before;
        ++primary_failed;
        continue;
      }
      demo& other = primary == &demos[0] ? demos[1] : demos[0];
      // Past the block period of the previous failover.
      std::this_thread::sleep_until(last_failover + 1500ms);
      auto t0 = steady::now();
      leader->process->signal(SIGKILL);
      primary->process->signal(SIGKILL);
      bool done = false;
      while (!(done = role_of(other) == "primary") && steady::now() - t0 < run_limit)
        std::this_thread::sleep_for(10ms);
      double ms = ms_since(t0);
      last_failover = steady::now();
      kill(*leader);
      (void)primary->process->wait_for_exit(5s);
      primary->process.reset();
      start(*primary, "standby");
      start(*leader);
      auto* next = wait_for_leader(replicas, 5s);
      if (!done) {
        fmt::print("primary run {:2}: FAILED: {} + {} killed; {} not primary within 30 s\n", run,
                   leader->name, primary->name, other.name);
        ++primary_failed;
        continue;
      }
      expected = primary == &demos[0] ? "standby/primary" : "primary/standby";
      promoted.push_back(ms);
      fmt::print("primary run {:2}: {} + {} killed -> {} primary in {:7.1f} ms (new leader {})\n",
                 run, leader->name, primary->name, other.name, ms, next ? next->name : "?");
      std::fflush(stdout);
    }
    if (primary_runs > 0) { // what the last run left: one more check, as a next run's
      if (!settled()) {
        fmt::print("note: the cluster did not settle after the last primary run\n");
      } else if (auto now = roles(); now != expected) {
        fmt::print("after the last primary run: FAILED: roles {}, expected {}\n", now, expected);
        ++primary_failed;
      }
    }

    report("cluster_leader_kill_to_acting", takeover);
    report("cluster_leader_and_primary_kill_to_new_primary", promoted);
    fmt::print("RESULT cluster_leader_runs {} count\n", takeover.size());
    fmt::print("RESULT cluster_leader_runs_failed {} count\n", leader_failed);
    fmt::print("RESULT cluster_primary_runs {} count\n", promoted.size());
    fmt::print("RESULT cluster_primary_runs_failed {} count\n", primary_failed);
    if (leader_failed > 0 || primary_failed > 0)
      rc = 1;
    for (auto& r : replicas)
      if (r.process) {
        r.process->signal(SIGTERM);
        if (r.process->wait_for_exit(15s) < 0)
          r.process->signal(SIGKILL);
      }
  }
  std::filesystem::remove_all(root);
  fmt::print("cluster_bench: {:.1f} s in all\n", ms_since(began) / 1000);
  return rc;
}

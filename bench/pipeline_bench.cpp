// Pipeline latency benchmark (issue 7): from a health transition that crosses
// the fall threshold to the failover's first journaled step, in process, with
// the real actors (store on a real SQLite file, classifier, coordinator,
// runner, performance monitor, event hub + fanout), registered under their
// names like the supervisor does.
//
// Topology: N services x 2 instances (primary + standby; their health is
// reported by the benchmark itself), strategy active_passive with
// one exec fence step (`true`). Safety limits are raised so that they never
// hold a failover back: max_failovers_per_hour 10000 (its maximum), one failover at a
// time (the benchmark waits for each switchover to close before the next).
//
// Steps: every instance is reported healthy (unknown -> healthy, rise
// reached); then, one service at a time, the primary's healthy -> unhealthy
// transition (streak = fall, connection refused) is sent to the classifier
// and timed until its first step is journaled: the runner's journal point
// `step_started:1` (actors/fault_injection.hpp), on the worker's thread once
// the store has answered the write, i.e. after its commit (SQLite WAL,
// synchronous=FULL). Also timed: until the `step` event of that step reaches
// a WatchEvents-style watcher of the event fanout (two thread hops more). On
// the path: the detection row (with the transition's health row), then the
// decision, the plan, the switchover row and the step row in one commit (an
// fsync each on a disk). Each hop the failure passes is timed too
// (actors::trace_hop) and printed as `HOP <name> p50 p99`, each from the hop
// before it.
//
// Background load, `--load`:
// - `probes` (the default): what monitoring the instances costs switchyardd.
//   One real health checker per instance (tcp, interval 1 s, timeout 500 ms,
//   every probe a new connection) in the real probe engine, against as many
//   local ports served by forked workers (bench_targets.hpp); they report to
//   a classifier of their own, so the timed failures are the only ones on the
//   path. Healthy, their successes stay on the engine's thread.
// - `samples`: a thread sends one probe_sample per instance per second
//   (10,000/s for 10,000 instances, in slices every 100 ms) to the
//   performance monitor, as the health checkers of services whose performance
//   is monitored do: the most CAF traffic the instances make.
// - `none` (or --no-load).
//
// Usage: pipeline_bench [--services N] [--failovers K] [--dir DIR] [--label L]
//                       [--load probes|samples|none]
// Prints every figure as `RESULT <name> <value> <unit>`.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "actors/event_hub.hpp"
#include "actors/failover_coordinator.hpp"
#include "actors/failover_runner.hpp"
#include "actors/failure_classifier.hpp"
#include "actors/fault_injection.hpp"
#include "actors/health_checker.hpp"
#include "actors/peers.hpp"
#include "actors/performance_monitor.hpp"
#include "actors/scheduler_settings.hpp"
#include "actors/store.hpp"
#include "bench/bench_stats.hpp"
#include "bench/bench_targets.hpp"
#include "config/loader.hpp"
#include "messages/message_types.hpp"
#include "messages/type_ids.hpp"
#include "observability/event_fanout.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::actors;
using bench_clock = std::chrono::steady_clock;

namespace {

struct options {
  int services = 5000;
  int failovers = 200;
  std::string dir = "/var/tmp";
  std::string label = "disk";
  std::string load = "probes";
};

std::string service_name(int i) {
  return fmt::format("svc{:05}", i);
}

std::string make_config(const options& o, const std::string& data_dir) {
  std::string y = fmt::format("orchestrator:\n"
                              "  data_dir: {}\n"
                              "  metrics_listen: \"off\"\n"
                              "  log_level: warn\n"
                              "  safety:\n"
                              "    max_concurrent_failovers: 1\n"
                              "    max_failovers_per_hour: 10000\n"
                              "api:\n"
                              "  listen: 127.0.0.1:0\n"
                              "services:\n",
                              data_dir);
  for (int i = 0; i < o.services; ++i) {
    auto n = service_name(i);
    y += fmt::format("  - name: {0}\n"
                     "    health_check: {{type: tcp, interval: 1s, timeout: 500ms, rise: 2, fall: "
                     "3}}\n"
                     "    instances:\n"
                     "      - {{name: {0}-a, address: \"127.0.0.1:1\", role: primary}}\n"
                     "      - {{name: {0}-b, address: \"127.0.0.1:1\", role: standby}}\n"
                     "    strategy:\n"
                     "      type: active_passive\n"
                     "      fence:\n"
                     "        - {{name: fence, type: exec, command: \"true\"}}\n",
                     n);
  }
  return y;
}

using switchyard::bench::pct;

health_transition transition(const std::string& svc, const std::string& inst, health_status from,
                             health_status to, std::uint32_t streak, bool refused) {
  health_transition t;
  t.service = service_id{svc};
  t.instance = instance_id{inst};
  t.from = from;
  t.to = to;
  t.reason = refused ? "connection refused" : "ok";
  t.streak = streak;
  t.at = caf::make_timestamp();
  t.refused = refused;
  return t;
}

// Where the background checkers' transitions go: nowhere (all healthy).
classifier_actor::behavior_type sink_classifier() {
  return {
      [](health_transition&) {},
      [](service_topology&) {},
  };
}

int usage() {
  std::fprintf(stderr, "usage: pipeline_bench [--services N] [--failovers K] [--dir DIR] "
                       "[--label L] [--load probes|samples|none]\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--services")
      o.services = std::atoi(next().c_str());
    else if (a == "--failovers")
      o.failovers = std::atoi(next().c_str());
    else if (a == "--dir")
      o.dir = next();
    else if (a == "--label")
      o.label = next();
    else if (a == "--no-load")
      o.load = "none";
    else if (a == "--load")
      o.load = next();
    else
      return usage();
  }
  if (o.services < 1 || o.failovers < 1 ||
      (o.load != "probes" && o.load != "samples" && o.load != "none"))
    return usage();
  o.failovers = std::min(o.failovers, o.services);
  spdlog::set_level(spdlog::level::warn); // the daemon logs at info; a console sink would dominate

  auto data_dir = std::filesystem::path(o.dir) / fmt::format("pipeline-bench-{}", ::getpid());
  std::filesystem::create_directories(data_dir);
  auto loaded = config::load_config_text(make_config(o, data_dir.string()),
                                         (data_dir / "bench.yaml").string());
  if (!loaded.ok()) {
    for (auto& e : loaded.errors)
      std::fprintf(stderr, "config: %s\n", config::to_string(e).c_str());
    return 1;
  }
  auto cfg = std::make_shared<const config::switchyard_config>(std::move(loaded.config));
  const int instances = o.services * 2;
  std::printf("pipeline_bench [%s]: %d services, %d instances, %d failovers, database %s, "
              "background load: %s\n",
              o.label.c_str(), o.services, instances, o.failovers, cfg->database_path().c_str(),
              o.load.c_str());

  // When each service's first step was journaled, on the runner's worker
  // thread; and when its failure passed each hop on the way (the first time,
  // actors::trace_hop), for the per-hop breakdown.
  struct journaled_steps {
    std::mutex mtx;
    std::map<std::string, bench_clock::time_point> at;
    std::map<std::string, std::map<std::string, bench_clock::time_point>> hops;
  };
  auto journaled = std::make_shared<journaled_steps>();
  actors::observe_journal_points([journaled](const std::string& service, const std::string& point) {
    auto now = bench_clock::now();
    std::lock_guard<std::mutex> guard{journaled->mtx};
    if (point.rfind("hop:", 0) == 0)
      journaled->hops[service].emplace(point.substr(4), now);
    else if (point == "step_started:1")
      journaled->at.emplace(service, now);
  });

  int rc = 0;
  {
    caf::actor_system_config caf_cfg;
    switchyard::add_message_types(caf_cfg);
    actors::apply_scheduler_settings(caf_cfg); // as switchyardd runs it
    caf::actor_system sys{caf_cfg};
    auto fanout = std::make_shared<event_fanout>(1u << 20);
    auto steps = fanout->subscribe({{}, {event_kind::step, event_kind::switchover}});
    auto health = fanout->subscribe({{}, {event_kind::health}});

    // The daemon's order (apps/switchyardd/daemon.cpp), minus the supervisor.
    std::vector<caf::actor> all;
    auto peers = std::make_shared<peer_table>();
    auto put = [&](peer who, caf::actor a) {
      peers->set(who, a);
      all.push_back(a);
    };
    auto t_start = bench_clock::now();
    put(peer::store, caf::actor_cast<caf::actor>(sys.spawn<caf::detached>(store, cfg, peers)));
    put(peer::events, caf::actor_cast<caf::actor>(sys.spawn(event_hub, fanout, peers)));
    auto cls = sys.spawn(failure_classifier, peers);
    caf::anon_send(cls, config_update{cfg});
    put(peer::classifier, caf::actor_cast<caf::actor>(cls));
    auto perf = sys.spawn(performance_monitor, cfg, false, peers);
    put(peer::performance, caf::actor_cast<caf::actor>(perf));
    put(peer::runner, caf::actor_cast<caf::actor>(sys.spawn(failover_runner, cfg, peers)));
    auto coord = sys.spawn(failover_coordinator, cfg, peers);
    put(peer::coordinator, caf::actor_cast<caf::actor>(coord));

    // Everyone healthy; the classifier publishes a health event per transition.
    for (int i = 0; i < o.services; ++i)
      for (const char* s : {"-a", "-b"}) {
        auto n = service_name(i);
        caf::anon_send(
            cls, transition(n, n + s, health_status::unknown, health_status::healthy, 2, false));
      }
    int seen = 0;
    orchestrator_event ev;
    while (seen < instances && health->next(ev, 30s) == event_watcher::wait_result::event)
      ++seen;
    auto t_ready = bench_clock::now();
    std::printf("startup + %d healthy transitions: %.0f ms (%d health events)\n", instances,
                std::chrono::duration<double, std::milli>(t_ready - t_start).count(), seen);
    // Let the readiness checks that healthy standbys trigger settle.
    std::this_thread::sleep_for(3s);
    while (health->next(ev, 0ms) == event_watcher::wait_result::event) {
    }
    while (steps->next(ev, 0ms) == event_watcher::wait_result::event) {
    }

    // Real health checkers of every instance, reporting to a classifier of their own.
    std::unique_ptr<bench::targets> targets;
    auto probe_peers = std::make_shared<peer_table>();
    std::vector<caf::actor> checkers;
    if (o.load == "probes") {
      bench::raise_fd_limit();
      targets = bench::start_targets(instances);
      probe_peers->set(peer::classifier, sys.spawn(sink_classifier));
      config::health_check_settings check;
      check.type = config::check_type::tcp;
      check.rise = 1;
      check.fall = 3;
      check.fast_detection = false; // a new connection every probe, as HAProxy's
      for (std::size_t i = 0; i < targets->ports.size(); ++i) {
        auto n = service_name(static_cast<int>(i / 2));
        config::instance_settings inst{n + ((i % 2) == 0 ? "-a" : "-b"),
                                       "127.0.0.1",
                                       targets->ports[i],
                                       "dc1",
                                       config::instance_role::standby,
                                       100,
                                       {}};
        probe_factory factory = [n, check, inst] { return make_probe(n, check, inst); };
        checkers.push_back(caf::actor_cast<caf::actor>(
            sys.spawn(health_checker, n, inst, check, factory, probe_peers, false)));
      }
      std::this_thread::sleep_for(3s); // every checker past its first probe
    }
    auto probes_run = [&] {
      return probe_peers->metrics()
          .counter_for("switchyard_probes_sent_total", "Health probes run.", {{"type", "tcp"}})
          .value();
    };
    const double probes_before = probes_run();

    std::atomic<bool> stop{false};
    std::atomic<long> samples{0};
    std::thread load([&] {
      if (o.load != "samples")
        return;
      // One sample per instance per second, in 10 slices per second.
      int cursor = 0;
      auto due = bench_clock::now();
      while (!stop.load()) {
        for (int k = 0; k < instances / 10; ++k) {
          int svc = cursor / 2;
          auto n = service_name(svc);
          probe_sample p;
          p.service = service_id{n};
          p.instance = instance_id{n + ((cursor % 2) == 0 ? "-a" : "-b")};
          p.ok = true;
          p.latency = caf::timespan{250'000};
          p.at = caf::make_timestamp();
          caf::anon_send(perf, std::move(p));
          cursor = (cursor + 1) % instances;
          samples.fetch_add(1);
        }
        due += 100ms;
        std::this_thread::sleep_until(due);
      }
    });
    std::this_thread::sleep_for(1s); // load running before the first failover

    std::vector<double> lat;     // to the journaled step
    std::vector<double> watched; // to the watcher
    // The path in order; each hop is timed from the one before it.
    const std::vector<std::string> path{"classifier",
                                        "store_has_detection",
                                        "detection_committed",
                                        "coordinator",
                                        "job_sent",
                                        "runner",
                                        "worker",
                                        "worker_asks",
                                        "store_has_opening",
                                        "opening_written",
                                        "opening_committed"};
    std::vector<std::vector<double>> hop_us(path.size() + 1);
    int failed = 0, timeouts = 0, completed = 0;
    auto t_run = bench_clock::now();
    for (int i = 0; i < o.failovers; ++i) {
      // Spread over the services, not just the first ones.
      int svc = static_cast<int>(static_cast<long>(i) * o.services / o.failovers);
      auto n = service_name(svc);
      {
        std::lock_guard<std::mutex> guard{journaled->mtx};
        journaled->hops.erase(n);
      }
      auto t0 = bench_clock::now();
      caf::anon_send(
          cls, transition(n, n + "-a", health_status::healthy, health_status::unhealthy, 3, true));
      bool got_step = false, closed = false;
      auto limit = t0 + 10s;
      while (!closed && bench_clock::now() < limit) {
        auto r = steps->next(ev, 1s);
        if (r != event_watcher::wait_result::event)
          continue;
        auto t1 = bench_clock::now();
        if (ev.service.value != n)
          continue;
        if (ev.kind == event_kind::step && !got_step) {
          got_step = true;
          watched.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
          std::lock_guard<std::mutex> guard{journaled->mtx};
          if (auto j = journaled->at.find(n); j != journaled->at.end()) {
            lat.push_back(std::chrono::duration<double, std::milli>(j->second - t0).count());
            auto& passed = journaled->hops[n];
            auto before = t0;
            for (std::size_t h = 0; h <= path.size(); ++h) {
              auto at = j->second; // the last hop ends at the journaled step
              if (h < path.size()) {
                auto k = passed.find(path[h]);
                if (k == passed.end())
                  break; // a hop not passed (cannot happen on this path)
                at = k->second;
              }
              hop_us[h].push_back(std::chrono::duration<double, std::micro>(at - before).count());
              before = at;
            }
          }
        } else if (ev.kind == event_kind::switchover &&
                   ev.summary.find(" started:") == std::string::npos) {
          closed = true;
          if (ev.summary.find("completed") != std::string::npos)
            ++completed;
          else
            ++failed;
        }
      }
      if (!got_step) {
        ++timeouts;
        std::fprintf(stderr, "failover %d (%s): no step within 10 s\n", i, n.c_str());
        if (timeouts >= 3)
          break;
      }
    }
    auto run_s = std::chrono::duration<double>(bench_clock::now() - t_run).count();
    stop = true;
    load.join();

    std::printf("per hop, from the one before (first: from the transition sent):\n");
    for (std::size_t h = 0; h <= path.size(); ++h) {
      auto name = h < path.size() ? path[h] : std::string{"step_journaled"};
      std::printf("HOP %-20s p50 %6.1f us  p99 %6.1f us  (%zu)\n", name.c_str(),
                  pct(hop_us[h], 0.50), pct(hop_us[h], 0.99), hop_us[h].size());
    }
    const auto& L = o.label;
    std::printf("%zu failovers timed (%d completed, %d failed, %d without a step) in %.1f s; "
                "%ld probe samples sent (%.0f/s); %.0f probes run by %zu health checkers "
                "(%.0f/s)\n",
                lat.size(), completed, failed, timeouts, run_s, samples.load(),
                static_cast<double>(samples.load()) / (run_s + 1.0), probes_run() - probes_before,
                checkers.size(), (probes_run() - probes_before) / (run_s + 1.0));
    std::printf("RESULT pipeline_%s_p50 %.3f ms\n", L.c_str(), pct(lat, 0.50));
    std::printf("RESULT pipeline_%s_p99 %.3f ms\n", L.c_str(), pct(lat, 0.99));
    std::printf("RESULT pipeline_%s_max %.3f ms\n", L.c_str(), pct(lat, 1.0));
    std::printf("RESULT pipeline_%s_watcher_p50 %.3f ms\n", L.c_str(), pct(watched, 0.50));
    std::printf("RESULT pipeline_%s_watcher_p99 %.3f ms\n", L.c_str(), pct(watched, 0.99));
    std::printf("RESULT pipeline_%s_failovers %zu count\n", L.c_str(), lat.size());
    if (lat.empty() || timeouts > 0 || lat.size() != watched.size())
      rc = 1;

    for (auto& a : checkers)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    for (std::size_t i = 0; i < peer_count; ++i)
      probe_peers->set(static_cast<peer>(i), caf::actor{});
    for (auto& a : all)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    for (std::size_t i = 0; i < peer_count; ++i)
      peers->set(static_cast<peer>(i), caf::actor{});
    fanout->close_all();
  }
  std::error_code ec;
  std::filesystem::remove_all(data_dir, ec);
  return rc;
}

// The store's group commits under a burst: N services (default 1,000) fail at
// once; each journals a detection, opens a switchover, journals 4 steps (start
// and end: 8 rows) and closes it, every write waiting for the store's answer
// before the next (as the classifier and the runner do). Through the real
// store actor (detached, as in switchyardd) on a real file with
// synchronous=FULL. Prints journal rows/s and the number of commits.
// Usage: journal_bench [services] [max_batch]   (max_batch 1: no batching)
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/peers.hpp"
#include "actors/scheduler_settings.hpp"
#include "actors/store.hpp"
#include "messages/error.hpp"
#include "messages/message_types.hpp"
#include "messages/type_ids.hpp"
#include "observability/metrics.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::uint32_t steps_per_switchover = 4;
constexpr int rows_per_service = 1 + 1 + 2 * steps_per_switchover + 1; // 11

struct done_counter {
  std::mutex mtx;
  std::condition_variable cv;
  int done = 0;
  int failed = 0;
  void finish(bool ok) {
    std::lock_guard guard{mtx};
    ++done;
    if (!ok)
      ++failed;
    cv.notify_all();
  }
};

struct chain_state {
  chain_state() = default;
  switchover_id so{0};
  std::uint32_t step = 0;
  std::function<void()> run_step; ///< in the state: gone with the actor (no cycle)
};

// One failing service's journal, each write after the previous one's answer.
caf::behavior service_chain(caf::stateful_actor<chain_state>* self, store_actor store,
                            std::string service, done_counter* counter) {
  auto fail = [self, counter](const caf::error& err) {
    static std::atomic<int> shown{0};
    if (shown++ < 3)
      fmt::print(stderr, "journal write failed: {}\n", describe(err));
    counter->finish(false);
    self->quit();
  };
  auto finish_switchover = [self, store, service, counter, fail] {
    self->request(store, caf::infinite,
                  switchover_finish{self->state.so, service_id{service},
                                    switchover_status::completed, instance_id{service + "-b"},
                                    epoch{2}, "bench"})
        .then(
            [self, counter](caf::ok_atom) {
              counter->finish(true);
              self->quit();
            },
            fail);
  };
  self->state.run_step = [self, store, service, fail, finish_switchover] {
    if (self->state.step == steps_per_switchover) {
      finish_switchover();
      return;
    }
    auto seq = ++self->state.step;
    plan_step st{seq,
                 static_cast<step_phase>(seq),
                 "step-" + std::to_string(seq),
                 "exec",
                 "true",
                 instance_id{service + "-b"},
                 5s};
    self->request(store, caf::infinite, step_start{self->state.so, st, epoch{2}})
        .then(
            [self, store, fail](step_id id) {
              self->request(store, caf::infinite, step_finish{id, true, "exit 0"})
                  .then([self](caf::ok_atom) { self->state.run_step(); }, fail);
            },
            fail);
  };
  failure_detection d;
  d.service = service_id{service};
  d.instance = instance_id{service + "-a"};
  d.type = failure_type::unreachable;
  d.level = severity::critical;
  d.affects_primary = true;
  d.evidence = "connection refused";
  d.at = caf::make_timestamp();
  self->request(store, caf::infinite, d)
      .then(
          [self, store, service, fail](detection_id det) {
            self->request(store, caf::infinite,
                          switchover_start{service_id{service}, switchover_kind::automatic_failover,
                                           instance_id{service + "-a"}, instance_id{service + "-b"},
                                           det, 0, epoch{2}, "primary unreachable"})
                .then(
                    [self](switchover_id so) {
                      self->state.so = so;
                      self->state.run_step();
                    },
                    fail);
          },
          fail);
  return {[](tick_atom) {}};
}

} // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::max(1, std::atoi(argv[1])) : 1000;
  std::size_t max_batch =
      argc > 2 ? static_cast<std::size_t>(std::max(1, std::atoi(argv[2]))) : std::size_t{512};

  auto dir = std::filesystem::temp_directory_path() /
             fmt::format("journal-bench-{}-{}", ::getpid(), max_batch);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto cfg = std::make_shared<config::switchyard_config>();
  cfg->orchestrator.data_dir = dir.string();
  for (int i = 0; i < n; ++i) {
    config::service_settings s;
    s.name = fmt::format("svc-{:05}", i);
    s.instances.push_back(
        {s.name + "-a", "127.0.0.1", 10000, "dc1", config::instance_role::primary, 100, {}});
    s.instances.push_back(
        {s.name + "-b", "127.0.0.1", 10001, "dc1", config::instance_role::standby, 90, {}});
    cfg->services.push_back(std::move(s));
  }

  caf::actor_system_config caf_cfg;
  switchyard::add_message_types(caf_cfg);
  actors::apply_scheduler_settings(caf_cfg); // as switchyardd runs it
  int code = 0;
  {
    caf::actor_system sys{caf_cfg};
    auto peers = std::make_shared<actors::peer_table>();
    auto store = sys.spawn<caf::detached>(actors::store_with,
                                          std::shared_ptr<const config::switchyard_config>(cfg),
                                          peers, actors::store_options{max_batch, {}});
    {
      // Wait until the store has opened the file and recorded the services.
      caf::scoped_actor self{sys};
      self->request(store, caf::infinite, load_topo_atom::value)
          .receive([](const topology_list&) {},
                   [](caf::error& err) { fmt::print(stderr, "store: {}\n", describe(err)); });
    }
    auto& commits = peers->metrics().histogram_for("switchyard_journal_write_duration_seconds", "");
    auto commits_before = commits.count();
    auto sum_before = commits.sum();

    done_counter counter;
    auto t0 = clock_type::now();
    for (int i = 0; i < n; ++i)
      sys.spawn(service_chain, store, fmt::format("svc-{:05}", i), &counter);
    {
      std::unique_lock lock{counter.mtx};
      counter.cv.wait(lock, [&] { return counter.done == n; });
    }
    double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    auto commit_count = commits.count() - commits_before;
    auto rows = static_cast<double>(n) * rows_per_service;
    fmt::print("journal benchmark: {} services failing at once, {} journal rows each "
               "(detection, switchover start, {} steps x start/end, finish)\n",
               n, rows_per_service, steps_per_switchover);
    fmt::print("store: max_batch {} ({}), synchronous=FULL, WAL, file {}\n", max_batch,
               max_batch == 1 ? "no batching" : "group commits", dir.string());
    fmt::print("{:<28} {:>12}\n", "journal rows", rows);
    fmt::print("{:<28} {:>12.3f}\n", "wall time (s)", secs);
    fmt::print("{:<28} {:>12.0f}\n", "journal rows/s", rows / secs);
    fmt::print("{:<28} {:>12}\n", "commits", commit_count);
    fmt::print("{:<28} {:>12.1f}\n", "rows per commit",
               commit_count > 0 ? rows / static_cast<double>(commit_count) : 0.0);
    fmt::print("{:<28} {:>12.3f}\n", "mean commit time (ms)",
               commit_count > 0
                   ? 1000 * (commits.sum() - sum_before) / static_cast<double>(commit_count)
                   : 0.0);
    fmt::print("{:<28} {:>12}\n", "failed chains", counter.failed);
    code = counter.failed == 0 ? 0 : 1;
    std::fflush(stdout);
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  }
  std::filesystem::remove_all(dir);
  return code;
}

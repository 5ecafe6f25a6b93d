// The pipeline fixture shared by the coordinator suites: real health
// checkers (scripted probes), classifier, coordinator and store (a real
// SQLite file) on the deterministic scheduler, with a fake runner that
// records the jobs it is given.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include <sqlite3.h>

#include "actors/failover_coordinator.hpp"
#include "actors/failure_classifier.hpp"
#include "actors/health_checker.hpp"
#include "actors/peers.hpp"
#include "actors/running_jobs.hpp"
#include "actors/store.hpp"
#include "messages/error.hpp"
#include "observability/metrics.hpp"
#include "persistence/sqlite_store.hpp"
#include "strategies/active_passive.hpp"
#include "tests/actors/scripted_probe.hpp"
#include "tests/actors/test_system.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::actors;

namespace switchyard::testing::pipeline {

using switchyard::testing::scripted_probe;
using switchyard::testing::up_map;

struct runner_log {
  std::vector<failover_job> jobs;
  std::vector<std::shared_ptr<const config::switchyard_config>> configs; ///< reloads received
  std::set<std::string> refuse;                  ///< candidates whose pre-checks fail
  std::vector<candidate_check> checks;           ///< pre-checks of failovers
  std::vector<candidate_check> readiness_checks; ///< the coordinator's readiness rounds
  std::vector<rejoin_request> rejoins;
  std::vector<restart_request> restarts; ///< restart_in_place requests
  bool restart_ok = true;
  bool succeed = true;
  std::string alert; ///< set on failed jobs' results
};

inline runner_actor::behavior_type fake_runner(runner_actor::pointer,
                                               std::shared_ptr<runner_log> log) {
  return {
      [log](failover_job& job) -> failover_result {
        log->jobs.push_back(job);
        return failover_result{job.plan.service,
                               switchover_id{static_cast<std::int64_t>(log->jobs.size())},
                               log->succeed,
                               log->succeed ? job.to : job.from,
                               job.new_epoch,
                               log->succeed ? "ok" : "step 2 (promote) failed",
                               log->succeed ? std::string{} : log->alert};
      },
      [log](rejoin_request& req) {
        log->rejoins.push_back(req);
        return rejoin_outcome{true, "follow: replicates", ""};
      },
      [log](restart_request& req) {
        log->restarts.push_back(req);
        return restart_outcome{log->restart_ok, log->restart_ok ? "started" : "exit 1"};
      },
      [log](candidate_check& check) {
        (check.readiness ? log->readiness_checks : log->checks).push_back(check);
        candidate_verdict v;
        for (const auto& c : check.candidates) {
          if (!log->refuse.count(c.value)) {
            v.chosen = c;
            break;
          }
          v.reasons.push_back("check lag refused " + c.value + ": exit 1 | lag 90s");
        }
        return v;
      },
      // Site switchovers are tested with real processes (site_switchover_test).
      [](site_prepare&) { return site_prepare_outcome{}; },
      [](integrity_check&) { return integrity_outcome{}; },
      [log](config_update& update) { log->configs.push_back(update.cfg); },
  };
}

// Asks the coordinator for its state from an event-based actor (a blocking
// request would stall the deterministic scheduler).
inline caf::behavior state_query(caf::event_based_actor* self, coordinator_actor coord,
                                 std::shared_ptr<service_state_list> out) {
  self->request(coord, caf::infinite, get_state_atom::value)
      .then([self, out](service_state_list& s) {
        *out = std::move(s);
        self->quit();
      });
  return {[](int) {}};
}

// Sends one request to the coordinator from an event-based actor and keeps
// the reply (or the error's text).
template <class Reply, class Msg>
caf::behavior one_request(caf::event_based_actor* self, coordinator_actor coord, Msg msg,
                          std::shared_ptr<std::optional<Reply>> reply,
                          std::shared_ptr<std::string> error) {
  self->request(coord, caf::infinite, std::move(msg))
      .then(
          [self, reply](Reply& r) {
            *reply = std::move(r);
            self->quit();
          },
          [self, error](caf::error& err) {
            *error = describe(err);
            self->quit();
          });
  return {[](int) {}};
}

inline config::action_settings exec_action(std::string name) {
  config::action_settings a;
  a.name = std::move(name);
  a.command = "true";
  a.timeout = 1s;
  return a;
}

class pipeline_test : public switchyard::testing::deterministic_test {
protected:
  pipeline_test() {
    auto c = std::make_shared<config::switchyard_config>();
    c->source_file = (dir.path() / "test.yaml").string();
    c->orchestrator.data_dir = dir.path().string();
    config::service_settings svc;
    svc.name = "web";
    svc.block_period = 60s;
    svc.health_check.type = config::check_type::http;
    svc.health_check.interval = 1s;
    svc.health_check.rise = 1;
    svc.health_check.fall = 2;
    svc.instances.push_back(
        {"web-a", "127.0.0.1", 1, "dc1", config::instance_role::primary, 100, {}});
    svc.instances.push_back(
        {"web-b", "127.0.0.1", 2, "dc1", config::instance_role::standby, 90, {}});
    svc.strategy.fence.push_back(exec_action("fence-a"));
    svc.strategy.promote.push_back(exec_action("promote-b"));
    c->services.push_back(svc);
    cfg_ptr = c;
  }

  void start(bool with_store = true) {
    if (with_store)
      peers->set(peer::store, sys.spawn(store_with, cfg_ptr, peers, store_opts));
    peers->set(peer::classifier, sys.spawn(failure_classifier, peers));
    peers->set(peer::runner, sys.spawn(fake_runner, runner));
    coord = sys.spawn(failover_coordinator, cfg_ptr, peers);
    peers->set(peer::coordinator, coord);
    run();
    const auto& svc = cfg_ptr->services.front();
    for (const auto& inst : svc.instances) {
      (*up)[inst.name] = true;
      probe_factory f = [this, name = inst.name] {
        return std::make_unique<scripted_probe>(up, name);
      };
      checkers.push_back(
          caf::actor_cast<caf::actor>(sys.spawn(health_checker, svc.name, inst, svc.health_check, f,
                                                peers, svc.performance.has_value())));
    }
    run();
  }

  service_state web_state() {
    auto out = std::make_shared<service_state_list>();
    sys.spawn(state_query, coord, out);
    run();
    EXPECT_EQ(out->size(), 1u);
    return out->empty() ? service_state{} : out->front();
  }

  template <class Reply, class Msg>
  std::optional<Reply> ask(Msg msg, std::string* error_out = nullptr) {
    auto reply = std::make_shared<std::optional<Reply>>();
    auto error = std::make_shared<std::string>();
    sys.spawn(one_request<Reply, Msg>, coord, std::move(msg), reply, error);
    run();
    if (error_out != nullptr)
      *error_out = *error;
    return *reply;
  }

  std::unique_ptr<persistence::sqlite_store> open_db() {
    auto db = persistence::sqlite_store::open(cfg_ptr->database_path());
    EXPECT_TRUE(db) << (db ? "" : describe(db.error()));
    return db ? std::move(*db) : nullptr;
  }

  // An earlier switchyardd failed web over to web-b (epoch 7), just now.
  void journal_failover_to_web_b() {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->sync_config(*cfg_ptr));
    auto id = db->begin_switchover(switchover_start{
        service_id{"web"}, switchover_kind::automatic_failover, instance_id{"web-a"},
        instance_id{"web-b"}, detection_id{0}, 0, epoch{7}, "test"});
    ASSERT_TRUE(id);
    ASSERT_TRUE(db->finish_switchover(switchover_finish{*id, service_id{"web"},
                                                        switchover_status::completed,
                                                        instance_id{"web-b"}, epoch{7}, "done"}));
  }

  void TearDown() override {
    for (auto& c : checkers)
      caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    for (auto who : {peer::store, peer::classifier, peer::runner, peer::coordinator})
      if (auto h = peers->actor(who))
        caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
    run();
  }

  switchyard::testing::temp_dir dir;
  std::shared_ptr<const config::switchyard_config> cfg_ptr;
  std::shared_ptr<up_map> up = std::make_shared<up_map>();
  std::shared_ptr<runner_log> runner = std::make_shared<runner_log>();
  store_options store_opts;
  coordinator_actor coord;
  std::vector<caf::actor> checkers;
};

inline bool mentions(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& l : lines)
    if (l.find(part) != std::string::npos)
      return true;
  return false;
}

// A store hook: no detection can be written while `*full` (the error SQLite
// gives on a full disk); every other row can.
inline std::function<void(persistence::sqlite_store&)>
detections_refused_while(std::shared_ptr<bool> full) {
  return [full](persistence::sqlite_store& db) {
    (void)db.exec_for_testing(*full ? "CREATE TEMP TRIGGER IF NOT EXISTS disk_full BEFORE INSERT "
                                      "ON main.detections BEGIN SELECT RAISE(ABORT, 'database or "
                                      "disk is full'); END"
                                    : "DROP TRIGGER IF EXISTS temp.disk_full");
  };
}

inline double journal_write_failures(metrics::registry& registry, const char* record) {
  return registry.counter_for("switchyard_journal_write_failures_total", "", {{"record", record}})
      .value();
}

} // namespace switchyard::testing::pipeline

// The coordinator's safety rules on the deterministic scheduler: global
// limits, shadow mode, min_healthy_standbys and TILT, with real health
// checkers (scripted probes), classifier and store (a real SQLite file), and
// a fake runner that holds each job until the test ends it.
#include <map>
#include <memory>
#include <vector>

#include "actors/failover_coordinator.hpp"
#include "actors/failure_classifier.hpp"
#include "actors/health_checker.hpp"
#include "actors/peers.hpp"
#include "actors/store.hpp"
#include "messages/error.hpp"
#include "persistence/sqlite_store.hpp"
#include "tests/actors/scripted_probe.hpp"
#include "tests/actors/test_system.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::actors;

namespace {

using switchyard::testing::scripted_probe;
using switchyard::testing::up_map;

struct runner_log {
  std::vector<failover_job> jobs;
  std::vector<caf::response_promise> open; ///< jobs not ended yet, oldest first
  bool hold = true;                        ///< false: every job succeeds at once
  std::vector<rejoin_request> rejoins;
};

failover_result success(const failover_job& job, std::size_t n) {
  return failover_result{job.plan.service,
                         switchover_id{static_cast<std::int64_t>(n)},
                         true,
                         job.to,
                         job.new_epoch,
                         "ok",
                         ""};
}

// A runner that keeps each job running until it is sent ok_atom (which ends
// the oldest open one successfully). Untyped so that it can take ok_atom; the
// coordinator reaches it through the runner_actor handle in the registry.
caf::behavior holding_runner(caf::event_based_actor* self, std::shared_ptr<runner_log> log) {
  return {
      [self, log](failover_job& job) -> caf::result<failover_result> {
        log->jobs.push_back(job);
        if (!log->hold)
          return success(job, log->jobs.size());
        auto rp = self->make_response_promise();
        log->open.push_back(rp);
        return caf::delegated<failover_result>{};
      },
      [log](caf::ok_atom) {
        if (log->open.empty())
          return;
        auto rp = log->open.front();
        log->open.erase(log->open.begin());
        std::size_t n = log->jobs.size() - log->open.size();
        rp.deliver(success(log->jobs[n - 1], n));
      },
      [log](rejoin_request& req) {
        log->rejoins.push_back(req);
        return rejoin_outcome{true, "follow: replicates", ""};
      },
      [](restart_request&) {
        return restart_outcome{false, "not scripted"};
      },
      [](candidate_check& check) {
        return candidate_verdict{check.candidates.front(), {}};
      },
      // Site switchovers are tested with real processes (site_switchover_test).
      [](site_prepare&) { return site_prepare_outcome{}; },
      [](integrity_check&) { return integrity_outcome{}; },
      [](config_update&) {},
  };
}

events_actor::behavior_type event_log(events_actor::pointer,
                                      std::shared_ptr<std::vector<orchestrator_event>> out) {
  return {[out](orchestrator_event& e) { out->push_back(std::move(e)); }};
}

caf::behavior state_query(caf::event_based_actor* self, coordinator_actor coord,
                          std::shared_ptr<service_state_list> out) {
  self->request(coord, caf::infinite, get_state_atom::value)
      .then([self, out](service_state_list& s) {
        *out = std::move(s);
        self->quit();
      });
  return {[](int) {}};
}

caf::behavior one_switchover(caf::event_based_actor* self, coordinator_actor coord,
                             switchover_request req,
                             std::shared_ptr<std::optional<switchover_reply>> reply) {
  self->request(coord, caf::infinite, std::move(req)).then([self, reply](switchover_reply& r) {
    *reply = std::move(r);
    self->quit();
  });
  return {[](int) {}};
}

config::action_settings exec_action(std::string name) {
  config::action_settings a;
  a.name = std::move(name);
  a.command = "true";
  a.timeout = 1s;
  return a;
}

config::service_settings service(const std::string& name, int standbys = 1) {
  config::service_settings svc;
  svc.name = name;
  svc.block_period = 60s;
  svc.health_check.type = config::check_type::http;
  svc.health_check.interval = 1s;
  svc.health_check.rise = 1;
  svc.health_check.fall = 2;
  svc.instances.push_back(
      {name + "-a", "127.0.0.1", 1, "dc1", config::instance_role::primary, 100, {}});
  for (int i = 0; i < standbys; ++i)
    svc.instances.push_back({name + "-" + std::string(1, static_cast<char>('b' + i)),
                             "127.0.0.1",
                             static_cast<std::uint16_t>(2 + i),
                             "dc1",
                             config::instance_role::standby,
                             90 - i,
                             {}});
  svc.strategy.fence.push_back(exec_action("fence"));
  svc.strategy.promote.push_back(exec_action("promote"));
  return svc;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class safety_rules_test : public switchyard::testing::deterministic_test {
protected:
  safety_rules_test() {
    cfg = std::make_shared<config::switchyard_config>();
    cfg->source_file = (dir.path() / "test.yaml").string();
    cfg->orchestrator.data_dir = dir.path().string();
    cfg->services = {service("web"), service("db")};
  }

  void start() {
    peers->set(peer::store, sys.spawn(store, cfg, peers));
    peers->set(peer::events, sys.spawn(event_log, events));
    peers->set(peer::classifier, sys.spawn(failure_classifier, peers));
    runner_handle = sys.spawn(holding_runner, runner);
    peers->set(peer::runner, runner_handle);
    coord = sys.spawn(failover_coordinator, cfg, peers);
    peers->set(peer::coordinator, coord);
    run();
    for (const auto& svc : cfg->services)
      for (const auto& inst : svc.instances) {
        up->emplace(inst.name, true);
        probe_factory f = [this, name = inst.name] {
          return std::make_unique<scripted_probe>(up, name);
        };
        checkers.push_back(
            caf::actor_cast<caf::actor>(sys.spawn(health_checker, svc.name, inst, svc.health_check,
                                                  f, peers, svc.performance.has_value())));
      }
    run();
  }

  /// Ends the oldest running job, successfully.
  void end_job() {
    caf::anon_send(runner_handle, caf::ok_atom::value);
    run();
  }

  /// Moves the clock forward by `d` at once, then fires every timer that is
  /// due: each fires `d` late, as after a SIGSTOP or a starved host.
  void jump(caf::timespan d) {
    run();
    sched.clock().current_time += d;
    sched.clock().advance_time(caf::timespan{0});
    run();
  }

  service_state state_of(const std::string& name) {
    auto out = std::make_shared<service_state_list>();
    sys.spawn(state_query, coord, out);
    run();
    for (auto& s : *out)
      if (s.service.value == name)
        return s;
    ADD_FAILURE() << "no service " << name;
    return {};
  }

  decision_record_list decisions(const std::string& service) {
    auto db = persistence::sqlite_store::open(cfg->database_path());
    EXPECT_TRUE(db) << (db ? "" : describe(db.error()));
    if (!db)
      return {};
    auto rows = (*db)->list_decisions(service, 100);
    EXPECT_TRUE(rows) << (rows ? "" : describe(rows.error()));
    return rows ? *rows : decision_record_list{};
  }

  bool streamed(const std::string& part) {
    for (const auto& e : *events)
      if (has(e.summary, part))
        return true;
    return false;
  }

  void TearDown() override {
    for (auto& c : checkers)
      caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    for (auto who : {peer::store, peer::classifier, peer::runner, peer::coordinator, peer::events})
      if (auto h = peers->actor(who))
        caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
    run();
  }

  switchyard::testing::temp_dir dir;
  std::shared_ptr<config::switchyard_config> cfg;
  std::shared_ptr<up_map> up = std::make_shared<up_map>();
  std::shared_ptr<runner_log> runner = std::make_shared<runner_log>();
  std::shared_ptr<std::vector<orchestrator_event>> events =
      std::make_shared<std::vector<orchestrator_event>>();
  caf::actor runner_handle;
  coordinator_actor coord;
  std::vector<caf::actor> checkers;
};

} // namespace

TEST_F(safety_rules_test, two_failing_services_fail_over_one_at_a_time) {
  start(); // max_concurrent_failovers: 1 (the default)
  (*up)["web-a"] = false;
  (*up)["db-a"] = false;
  advance(2s);
  ASSERT_EQ(runner->jobs.size(), 1u) << "the second waits for the first";
  auto first = runner->jobs[0].plan.service.value;
  auto second = first == "web" ? std::string{"db"} : std::string{"web"};
  auto waiting = state_of(second);
  EXPECT_EQ(waiting.primary.value, second + "-a");
  EXPECT_TRUE(
      has(waiting.last_decision,
          "blocked: max_concurrent_failovers is 1: 1 switchover in progress (" + first + ")"))
      << waiting.last_decision;
  auto rows = decisions(second);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front().verdict, "blocked");
  EXPECT_FALSE(rows.front().shadow);
  EXPECT_GT(rows.front().detection.value, 0);
  EXPECT_TRUE(has(rows.front().reason, "max_concurrent_failovers is 1")) << rows.front().reason;
  // The first's decision travels with its job, to be journaled in the
  // transaction that opens the switchover (this runner is a fake: the real
  // one's opening is tested in store_test and the pipeline tests).
  const auto& taken = runner->jobs[0].decision;
  EXPECT_EQ(taken.verdict, "fail over");
  EXPECT_EQ(taken.service.value, first);
  EXPECT_EQ(taken.detection, runner->jobs[0].detection.id);
  EXPECT_GT(taken.detection.value, 0);
  EXPECT_TRUE(decisions(first).empty()) << "journaled with the opening, not on its own";

  advance(5s);
  EXPECT_EQ(runner->jobs.size(), 1u) << "still held while the first runs";
  end_job(); // the first ends: the held failure is decided again at once
  ASSERT_EQ(runner->jobs.size(), 2u);
  EXPECT_EQ(runner->jobs[1].plan.service.value, second);
  EXPECT_EQ(runner->jobs[1].to.value, second + "-b");
  end_job();
  EXPECT_EQ(state_of(first).primary.value, first + "-b");
  EXPECT_EQ(state_of(second).primary.value, second + "-b");
}

TEST_F(safety_rules_test, an_operator_switchover_goes_through_the_limits_and_counts_against_them) {
  cfg->orchestrator.safety.max_failovers_per_hour = 1;
  runner->hold = false;
  start();
  auto reply = std::make_shared<std::optional<switchover_reply>>();
  switchover_request req;
  req.service = service_id{"db"};
  req.kind = switchover_kind::planned_switchover;
  req.principal = "alice";
  req.reason = "kernel upgrade";
  sys.spawn(one_switchover, coord, req, reply);
  run();
  ASSERT_TRUE(*reply);
  EXPECT_TRUE((*reply)->success) << (*reply)->detail;
  (*up)["web-a"] = false;
  advance(2s);
  EXPECT_EQ(runner->jobs.size(), 1u) << "the hour's one switchover was the operator's";
  auto web = state_of("web");
  EXPECT_TRUE(has(web.last_decision, "max_failovers_per_hour is 1: 1 switchover started in the "
                                     "last hour"))
      << web.last_decision;
  // An operator may still act: the limits hold back automatic failovers only.
  req.service = service_id{"web"};
  req.kind = switchover_kind::forced_failover;
  sys.spawn(one_switchover, coord, req, reply);
  run();
  ASSERT_TRUE(*reply);
  EXPECT_TRUE((*reply)->success) << (*reply)->detail;
  EXPECT_EQ(state_of("web").primary.value, "web-b");
}

TEST_F(safety_rules_test, the_hourly_limit_remembers_switchovers_from_before_a_restart) {
  cfg->orchestrator.safety.max_failovers_per_hour = 1;
  {
    auto db = persistence::sqlite_store::open(cfg->database_path());
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->sync_config(*cfg));
    auto id = (*db)->begin_switchover(
        switchover_start{service_id{"db"}, switchover_kind::automatic_failover, instance_id{"db-a"},
                         instance_id{"db-b"}, detection_id{0}, 0, epoch{2}, "before the restart"});
    ASSERT_TRUE(id);
    ASSERT_TRUE((*db)->finish_switchover(switchover_finish{
        *id, service_id{"db"}, switchover_status::failed, instance_id{"db-a"}, epoch{2}, "x"}));
  }
  start();
  (*up)["web-a"] = false;
  advance(2s);
  EXPECT_TRUE(runner->jobs.empty());
  EXPECT_TRUE(has(state_of("web").last_decision, "max_failovers_per_hour is 1"))
      << state_of("web").last_decision;
}

TEST_F(safety_rules_test, shadow_mode_records_what_it_would_do_and_does_nothing) {
  cfg->orchestrator.safety.shadow = true;
  cfg->services.front().strategy.rejoin.push_back(exec_action("follow"));
  start();
  EXPECT_TRUE(state_of("web").shadow);
  (*up)["web-a"] = false;
  advance(3s);
  EXPECT_TRUE(runner->jobs.empty()) << "no runner job in shadow mode";
  auto web = state_of("web");
  EXPECT_EQ(web.primary.value, "web-a") << "the topology does not change";
  EXPECT_EQ(web.current_epoch.value, 1u);
  EXPECT_FALSE(web.failover_in_flight);
  EXPECT_FALSE(web.in_block_period);
  EXPECT_TRUE(has(web.last_decision, "would have failed over: primary web-a unreachable: promote "
                                     "web-b (2 steps); plan v1 saved, nothing was run"))
      << web.last_decision;
  EXPECT_TRUE(streamed("would have failed over: primary web-a unreachable"));

  auto rows = decisions("web");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front().verdict, "would fail over");
  EXPECT_TRUE(rows.front().shadow);
  EXPECT_GT(rows.front().detection.value, 0);
  for (const auto& r : rows)
    EXPECT_TRUE(r.shadow) << "every decision in shadow mode is a shadow one: " << r.reason;
  auto db = persistence::sqlite_store::open(cfg->database_path());
  ASSERT_TRUE(db);
  auto plan = (*db)->latest_plan("web");
  ASSERT_TRUE(plan && *plan) << "the plan is computed and persisted";
  EXPECT_EQ((*plan)->version, 1);
  EXPECT_TRUE((*db)->list_switchovers("web")->empty());
  auto topo = (*db)->load_topology();
  ASSERT_TRUE(topo);
  for (const auto& t : *topo)
    EXPECT_EQ(t.current_epoch.value, 1u) << t.service.value;

  // A standby coming back is not made a replica either.
  (*up)["web-b"] = false;
  advance(2s);
  (*up)["web-b"] = true;
  advance(1s);
  EXPECT_TRUE(runner->rejoins.empty());
}

TEST_F(safety_rules_test, a_service_in_shadow_mode_only_watches_while_the_others_act) {
  cfg->services[1].shadow = true; // db
  cfg->orchestrator.safety.max_concurrent_failovers = 2;
  runner->hold = false;
  start();
  EXPECT_FALSE(state_of("web").shadow);
  EXPECT_TRUE(state_of("db").shadow);
  (*up)["web-a"] = false;
  (*up)["db-a"] = false;
  advance(2s);
  ASSERT_EQ(runner->jobs.size(), 1u);
  EXPECT_EQ(runner->jobs[0].plan.service.value, "web");
  EXPECT_EQ(state_of("web").primary.value, "web-b");
  EXPECT_EQ(state_of("db").primary.value, "db-a");
  EXPECT_EQ(runner->jobs[0].decision.verdict, "fail over"); // journaled with the opening
  EXPECT_FALSE(runner->jobs[0].decision.shadow);
  // Watchers see the detection before the decision on it (the store publishes
  // it before it hands the detection to the coordinator).
  auto first = [&](event_kind kind, const std::string& service) {
    for (std::size_t i = 0; i < events->size(); ++i) {
      const auto& e = (*events)[i];
      if (e.kind == kind && e.service.value == service && has(e.summary, "detection #"))
        return i;
    }
    return events->size();
  };
  for (const std::string svc : {"web", "db"}) {
    ASSERT_LT(first(event_kind::decision, svc), events->size()) << svc;
    EXPECT_LT(first(event_kind::detection, svc), first(event_kind::decision, svc)) << svc;
  }
  auto db = decisions("db");
  ASSERT_FALSE(db.empty());
  EXPECT_EQ(db.front().verdict, "would fail over");
  EXPECT_TRUE(db.front().shadow);
}

TEST_F(safety_rules_test, too_few_healthy_standbys_hold_a_failover_back_until_one_returns) {
  cfg->services = {service("web", 2)};
  cfg->services[0].min_healthy_standbys = 2;
  runner->hold = false;
  start();
  (*up)["web-c"] = false;
  advance(2s);
  (*up)["web-a"] = false;
  advance(2s);
  EXPECT_TRUE(runner->jobs.empty());
  auto web = state_of("web");
  EXPECT_TRUE(has(web.last_decision, "blocked: min_healthy_standbys is 2: only 1 healthy standby "
                                     "(web-b)"))
      << web.last_decision;
  EXPECT_EQ(decisions("web").front().verdict, "blocked");
  (*up)["web-c"] = true;
  advance(1s); // web-c healthy again: the held failure is decided again
  ASSERT_EQ(runner->jobs.size(), 1u);
  EXPECT_EQ(runner->jobs[0].to.value, "web-b");
}

TEST_F(safety_rules_test, a_late_timer_enters_tilt_which_holds_automatic_failovers_until_it_ends) {
  runner->hold = false;
  start();
  advance(1s);
  EXPECT_EQ(state_of("web").tilt, "");
  jump(3200ms); // the process did not run for 3.2 s
  auto web = state_of("web");
  EXPECT_TRUE(has(web.tilt, "s late; evidence may be stale")) << web.tilt;
  EXPECT_TRUE(streamed("TILT: timers were"));
  (*up)["web-a"] = false;
  advance(2s);
  EXPECT_TRUE(runner->jobs.empty()) << "no automatic failover in TILT";
  web = state_of("web");
  EXPECT_TRUE(has(web.last_decision, "blocked: TILT: timers were")) << web.last_decision;
  auto rows = decisions("web");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front().verdict, "blocked");
  EXPECT_TRUE(has(rows.front().reason, "TILT: timers were")) << rows.front().reason;
  advance(27s); // 29 s after the late timer
  EXPECT_TRUE(runner->jobs.empty());
  EXPECT_NE(state_of("web").tilt, "");
  advance(1500ms); // 30 s of timely timers: TILT ends, the held failure is decided again
  EXPECT_EQ(state_of("web").tilt, "");
  EXPECT_TRUE(streamed("TILT ended"));
  ASSERT_EQ(runner->jobs.size(), 1u);
  EXPECT_EQ(runner->jobs[0].to.value, "web-b");
}

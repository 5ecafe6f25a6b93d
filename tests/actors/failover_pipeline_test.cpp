// The detection-to-decision pipeline on the deterministic scheduler: real
// health checkers (scripted probes), classifier, coordinator and store (a
// real SQLite file), with a fake runner that records the jobs it is given.
#include "tests/actors/pipeline_fixture.hpp"

using namespace switchyard::testing::pipeline;

TEST_F(pipeline_test, primary_failure_becomes_one_failover_job) {
  start();
  auto before = web_state();
  EXPECT_EQ(before.primary.value, "web-a");
  EXPECT_EQ(before.current_epoch.value, 1u);

  (*up)["web-a"] = false;
  advance(1s); // first failed probe: below fall (2)
  EXPECT_TRUE(runner->jobs.empty());
  advance(1s); // second failed probe: unhealthy -> detection -> decision
  ASSERT_EQ(runner->jobs.size(), 1u);
  const auto& job = runner->jobs.front();
  EXPECT_EQ(job.from.value, "web-a");
  EXPECT_EQ(job.to.value, "web-b");
  EXPECT_EQ(job.new_epoch.value, 2u);
  EXPECT_EQ(job.kind, switchover_kind::automatic_failover);
  EXPECT_GT(job.detection.id.value, 0) << "the detection is persisted before anyone acts";
  EXPECT_EQ(job.plan_version, 0) << "a new switchover: the runner persists the plan with it";
  ASSERT_EQ(job.plan.steps.size(), 2u);

  auto after = web_state();
  EXPECT_EQ(after.primary.value, "web-b");
  EXPECT_EQ(after.current_epoch.value, 2u);
  EXPECT_TRUE(after.in_block_period);

  auto db = open_db();
  ASSERT_TRUE(db);
  auto detections = db->list_detections("web");
  ASSERT_TRUE(detections);
  ASSERT_EQ(detections->size(), 1u);
  EXPECT_EQ(detections->front().instance.value, "web-a");
  EXPECT_EQ(detections->front().level, severity::critical);
}

TEST_F(pipeline_test, block_period_prevents_a_second_failover) {
  start();
  (*up)["web-a"] = false;
  advance(2s);
  ASSERT_EQ(runner->jobs.size(), 1u);
  (*up)["web-a"] = true; // old primary back as a standby
  advance(1s);
  (*up)["web-b"] = false; // the new primary fails within the block period
  advance(2s);
  EXPECT_EQ(runner->jobs.size(), 1u) << "no second failover within 60 s";
  auto s = web_state();
  EXPECT_EQ(s.primary.value, "web-b");
  EXPECT_NE(s.last_decision.find("within block period"), std::string::npos) << s.last_decision;
}

TEST_F(pipeline_test, standby_failure_is_not_a_failover) {
  start();
  (*up)["web-b"] = false;
  advance(3s);
  EXPECT_TRUE(runner->jobs.empty());
  EXPECT_EQ(web_state().primary.value, "web-a");
}

TEST_F(pipeline_test, waits_for_a_healthy_standby_then_fails_over) {
  (*up)["web-b"] = false;
  start();
  (*up)["web-b"] = false;
  advance(2s);
  (*up)["web-a"] = false;
  advance(2s);
  EXPECT_TRUE(runner->jobs.empty()) << "no healthy standby: nothing to promote";
  EXPECT_NE(web_state().last_decision.find("no healthy standby"), std::string::npos)
      << web_state().last_decision;
  (*up)["web-b"] = true;
  advance(1s); // rise 1: web-b healthy -> the pending failure is re-evaluated
  ASSERT_EQ(runner->jobs.size(), 1u);
  EXPECT_EQ(runner->jobs.front().to.value, "web-b");
}

TEST_F(pipeline_test, failed_failover_keeps_the_old_topology) {
  runner->succeed = false;
  start();
  (*up)["web-a"] = false;
  advance(2s);
  ASSERT_EQ(runner->jobs.size(), 1u);
  auto s = web_state();
  EXPECT_EQ(s.primary.value, "web-a");
  EXPECT_EQ(s.current_epoch.value, 1u);
  EXPECT_FALSE(s.failover_in_flight);
  EXPECT_NE(s.last_decision.find("failover failed"), std::string::npos) << s.last_decision;
}

TEST_F(pipeline_test, a_detection_lost_to_a_full_disk_is_acted_on_once_the_store_writes_again) {
  auto full = std::make_shared<bool>(false);
  store_opts.after_begin = detections_refused_while(full);
  start();
  auto failures_before = journal_write_failures(peers->metrics(), "detection");
  *full = true;
  (*up)["web-a"] = false;
  advance(2s);
  EXPECT_TRUE(runner->jobs.empty()) << "an unjournaled detection must not trigger a failover";
  EXPECT_GE(journal_write_failures(peers->metrics(), "detection") - failures_before, 1.0);
  auto s = web_state();
  EXPECT_FALSE(s.ready);
  EXPECT_TRUE(mentions(s.not_ready, "a failure of web-a could not be journaled"))
      << s.last_decision;
  auto summary = ask<fleet_summary>(summary_atom::value); // what GetStatus shows
  ASSERT_TRUE(summary);
  ASSERT_EQ(summary->unjournaled.size(), 1u);
  EXPECT_TRUE(mentions(summary->unjournaled, "database or disk is full"));
  advance(20s); // retried (backing off), still full
  EXPECT_TRUE(runner->jobs.empty());
  EXPECT_GE(journal_write_failures(peers->metrics(), "detection") - failures_before, 3.0)
      << "it was retried";

  *full = false; // space freed: the next retry writes it, and the failover follows
  advance(11s);
  ASSERT_EQ(runner->jobs.size(), 1u);
  EXPECT_EQ(runner->jobs.front().to.value, "web-b");
  EXPECT_GT(runner->jobs.front().detection.id.value, 0);
  EXPECT_FALSE(mentions(web_state().not_ready, "could not be journaled"));
  summary = ask<fleet_summary>(summary_atom::value);
  ASSERT_TRUE(summary);
  EXPECT_TRUE(summary->unjournaled.empty());
  auto db = open_db();
  ASSERT_TRUE(db);
  auto detections = db->list_detections("web");
  ASSERT_TRUE(detections);
  ASSERT_EQ(detections->size(), 1u) << "written once, when it could be";
}

TEST_F(pipeline_test, a_failure_that_ends_before_its_detection_is_written_is_not_acted_on) {
  auto full = std::make_shared<bool>(true);
  store_opts.after_begin = detections_refused_while(full);
  start();
  (*up)["web-a"] = false;
  advance(2s);
  EXPECT_TRUE(mentions(web_state().not_ready, "could not be journaled"));
  (*up)["web-a"] = true; // back before the disk was freed
  advance(2s);
  *full = false;
  advance(15s);
  EXPECT_TRUE(runner->jobs.empty()) << "nothing to fail over: the primary is back";
  EXPECT_FALSE(mentions(web_state().not_ready, "could not be journaled"));
}

TEST_F(pipeline_test, nothing_happens_without_a_durable_store) {
  start(/*with_store=*/false);
  (*up)["web-a"] = false;
  advance(5s);
  EXPECT_TRUE(runner->jobs.empty()) << "an unjournaled detection must not trigger a failover";
}

TEST_F(pipeline_test, primary_is_loaded_from_the_database_on_start) {
  ASSERT_NO_FATAL_FAILURE(journal_failover_to_web_b());
  start();
  auto s = web_state();
  EXPECT_EQ(s.primary.value, "web-b") << "the database wins over the file's configured primary";
  EXPECT_EQ(s.current_epoch.value, 7u);
}

TEST_F(pipeline_test, a_switchover_requested_before_the_topology_is_loaded_waits_for_it) {
  ASSERT_NO_FATAL_FAILURE(journal_failover_to_web_b());
  start(/*with_store=*/false); // the coordinator cannot load its topology yet
  auto reply = std::make_shared<std::optional<switchover_reply>>();
  auto error = std::make_shared<std::string>();
  switchover_request req{service_id{"web"}, instance_id{}, "early", "tester"};
  req.force = true; // past the block period the earlier failover started
  sys.spawn(one_request<switchover_reply, switchover_request>, coord, req, reply, error);
  run();
  EXPECT_FALSE(*reply) << "decided on the file's primary, which may not be the real one";
  EXPECT_EQ(*error, "") << "refused instead of waiting";
  EXPECT_TRUE(runner->jobs.empty());

  peers->set(peer::store, sys.spawn(store_with, cfg_ptr, peers, store_opts));
  advance(1s); // the coordinator's next attempt to load
  ASSERT_TRUE(*reply) << *error;
  EXPECT_TRUE((*reply)->success) << (*reply)->detail;
  ASSERT_EQ(runner->jobs.size(), 1u);
  EXPECT_EQ(runner->jobs[0].from.value, "web-b") << "the journal's primary, not the file's";
  EXPECT_EQ(runner->jobs[0].to.value, "web-a");
  EXPECT_EQ(runner->jobs[0].new_epoch.value, 8u);
}

// A switchover journaled by an earlier switchyardd, just before it stopped.
void journal_switchover(persistence::sqlite_store& db, switchover_status status) {
  auto id = db.begin_switchover(
      switchover_start{service_id{"web"}, switchover_kind::automatic_failover, instance_id{"web-a"},
                       instance_id{"web-b"}, detection_id{0}, 0, epoch{2}, "primary lost"});
  ASSERT_TRUE(id);
  auto to = status == switchover_status::completed ? "web-b" : "web-a";
  ASSERT_TRUE(db.finish_switchover(
      switchover_finish{*id, service_id{"web"}, status, instance_id{to}, epoch{2}, "ended"}));
}

TEST_F(pipeline_test, the_block_period_holds_across_a_restart) {
  {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->sync_config(*cfg_ptr));
    journal_switchover(*db, switchover_status::completed);
  }
  start(); // a restarted switchyardd: web-b is primary since a failover a moment ago
  EXPECT_TRUE(web_state().in_block_period);
  (*up)["web-b"] = false;
  advance(2s);
  EXPECT_TRUE(runner->jobs.empty()) << "block_period 60s: the last failover was just now";
  auto s = web_state();
  EXPECT_EQ(s.primary.value, "web-b");
  EXPECT_NE(s.last_decision.find("within block period"), std::string::npos) << s.last_decision;
}

TEST_F(pipeline_test, a_failed_attempt_before_a_restart_starts_the_block_period_too) {
  {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->sync_config(*cfg_ptr));
    journal_switchover(*db, switchover_status::failed);
  }
  start();
  (*up)["web-a"] = false;
  advance(2s);
  EXPECT_TRUE(runner->jobs.empty()) << "an attempt a moment ago starts the block period";
  EXPECT_NE(web_state().last_decision.find("within block period"), std::string::npos)
      << web_state().last_decision;
}

TEST_F(pipeline_test, an_old_failover_before_a_restart_does_not_block) {
  {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->sync_config(*cfg_ptr));
    journal_switchover(*db, switchover_status::completed);
  }
  // The same database two minutes later (block period 60 s): moved back in time.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(cfg_ptr->database_path().c_str(), &raw), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(raw,
                         "UPDATE switchovers SET started_at_ms = started_at_ms - 120000;"
                         "UPDATE services SET last_failover_ms = last_failover_ms - 120000",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  start();
  EXPECT_FALSE(web_state().in_block_period);
  (*up)["web-b"] = false;
  advance(2s);
  ASSERT_EQ(runner->jobs.size(), 1u);
  EXPECT_EQ(runner->jobs.front().to.value, "web-a");
}

TEST_F(pipeline_test, maintenance_holds_a_failover_back_until_it_expires) {
  start();
  auto on = ask<maintenance_reply>(maintenance_request{service_id{"web"}, instance_id{}, true,
                                                       "storage upgrade", "alice", 30'000});
  ASSERT_TRUE(on);
  EXPECT_TRUE(on->changed);
  EXPECT_EQ(web_state().maintenance.size(), 1u);
  (*up)["web-a"] = false;
  advance(2s);
  EXPECT_TRUE(runner->jobs.empty()) << "no automatic failover in maintenance";
  EXPECT_NE(web_state().last_decision.find("service in maintenance (storage upgrade by alice"),
            std::string::npos)
      << web_state().last_decision;
  advance(27s);
  EXPECT_TRUE(runner->jobs.empty());
  advance(1s); // 30 s after it was turned on: it expires and the held failure is decided
  ASSERT_EQ(runner->jobs.size(), 1u);
  EXPECT_EQ(runner->jobs.front().to.value, "web-b");
  EXPECT_TRUE(web_state().maintenance.empty());
  auto db = open_db();
  ASSERT_TRUE(db);
  EXPECT_TRUE(db->list_maintenance(0)->empty()) << "the expired row was deleted";
}

TEST_F(pipeline_test, maintenance_of_an_unknown_instance_is_refused_and_nothing_is_stored) {
  start();
  std::string error;
  auto r = ask<maintenance_reply>(
      maintenance_request{service_id{"web"}, instance_id{"web-z"}, true, "x", "alice", 0}, &error);
  EXPECT_FALSE(r);
  EXPECT_NE(error.find("service 'web' has no instance 'web-z'"), std::string::npos) << error;
  auto db = open_db();
  ASSERT_TRUE(db);
  EXPECT_TRUE(db->list_maintenance(0)->empty());
}

TEST_F(pipeline_test,
       a_reload_keeps_the_topology_hands_the_runner_the_new_config_and_adds_services) {
  start();
  auto next = std::make_shared<config::switchyard_config>(*cfg_ptr);
  next->services.front().block_period = 10s;
  auto db_svc = next->services.front();
  db_svc.name = "db";
  db_svc.instances[0].name = "db-a";
  db_svc.instances[1].name = "db-b";
  next->services.push_back(db_svc);
  std::string error;
  auto ok = ask<caf::ok_atom>(config_update{next}, &error);
  ASSERT_TRUE(ok) << error;
  ASSERT_EQ(runner->configs.size(), 1u);
  EXPECT_EQ(runner->configs.front(), next);
  auto out = std::make_shared<service_state_list>();
  sys.spawn(state_query, coord, out);
  run();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].service.value, "db");
  EXPECT_EQ((*out)[0].primary.value, "db-a");
  EXPECT_EQ((*out)[1].primary.value, "web-a");
  // web kept its live health through the reload (the checkers were not restarted here).
  for (const auto& h : (*out)[1].instances)
    EXPECT_EQ(h.status, health_status::healthy) << h.instance.value;
  // Failures are still decided after the reload, with the new settings.
  (*up)["web-a"] = false;
  advance(2s);
  ASSERT_EQ(runner->jobs.size(), 1u);
  ASSERT_EQ(runner->jobs.front().plan.steps.size(), 2u);
}

TEST_F(pipeline_test, a_reload_that_removes_the_current_primary_is_refused) {
  start();
  auto next = std::make_shared<config::switchyard_config>(*cfg_ptr);
  next->services.front().instances.erase(next->services.front().instances.begin());
  next->services.front().instances.front().role = config::instance_role::primary;
  std::string error;
  EXPECT_FALSE(ask<caf::ok_atom>(config_update{next}, &error));
  EXPECT_NE(error.find("removes web-a, the current primary of 'web'"), std::string::npos) << error;
  EXPECT_TRUE(runner->configs.empty()) << "nothing was handed on";
  EXPECT_EQ(web_state().primary.value, "web-a");
}

TEST_F(pipeline_test, a_standby_refused_by_the_pre_checks_is_not_promoted_until_it_passes) {
  auto c = std::make_shared<config::switchyard_config>(*cfg_ptr);
  c->services.front().strategy.checks.push_back(exec_action("lag"));
  cfg_ptr = c;
  runner->refuse.insert("web-b");
  start();
  (*up)["web-a"] = false;
  advance(2s);
  ASSERT_EQ(runner->checks.size(), 1u);
  EXPECT_EQ(runner->checks.front().candidates.front().value, "web-b");
  EXPECT_TRUE(runner->jobs.empty()) << "a lagging standby is not promoted";
  EXPECT_NE(web_state().last_decision.find("no candidate passed the pre-checks: check lag refused "
                                           "web-b: exit 1 | lag 90s"),
            std::string::npos)
      << web_state().last_decision;
  runner->refuse.clear(); // it caught up
  advance(2s);            // the held failure is looked at again
  ASSERT_EQ(runner->jobs.size(), 1u);
  EXPECT_EQ(runner->jobs.front().to.value, "web-b");
}

TEST_F(pipeline_test, a_switchover_left_running_is_resumed_before_anything_else) {
  failover_plan plan;
  {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->sync_config(*cfg_ptr));
    strategies::active_passive strategy{cfg_ptr->services.front()};
    strategies::planning_input in{
        &cfg_ptr->services.front(), "web-a", {{"web-b", health_status::healthy}}};
    auto p = strategy.plan(in);
    ASSERT_TRUE(p);
    plan = *p;
    auto version = db->save_plan(plan);
    ASSERT_TRUE(version);
    auto id = db->begin_switchover(switchover_start{
        service_id{"web"}, switchover_kind::automatic_failover, instance_id{"web-a"},
        instance_id{"web-b"}, detection_id{0}, *version, epoch{2}, "primary lost"});
    ASSERT_TRUE(id);
    auto step = db->begin_step(step_start{*id, plan.steps[0], epoch{2}});
    ASSERT_TRUE(step);
    ASSERT_TRUE(db->finish_step(step_finish{*step, true, "exit 0"}));
    ASSERT_TRUE(db->begin_step(step_start{*id, plan.steps[1], epoch{2}}));
  } // a switchyardd stopped here: step 1 done, step 2 started
  start();
  ASSERT_EQ(runner->jobs.size(), 1u);
  const auto& job = runner->jobs.front();
  EXPECT_EQ(job.resume.value, 1);
  EXPECT_EQ(job.new_epoch.value, 2u) << "the same epoch as before the restart";
  EXPECT_EQ(job.to.value, "web-b");
  EXPECT_EQ(job.plan.steps.size(), plan.steps.size());
  ASSERT_EQ(job.journaled.size(), 2u);
  EXPECT_EQ(job.journaled[0].status, step_status::done);
  EXPECT_EQ(job.journaled[1].status, step_status::started);
  auto s = web_state();
  EXPECT_EQ(s.primary.value, "web-b") << "the fake runner completed it";
  EXPECT_EQ(s.current_epoch.value, 2u);
}

TEST_F(pipeline_test, a_restarted_coordinator_waits_for_a_switchover_still_running_here) {
  switchover_id id{0};
  {
    auto db = open_db();
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->sync_config(*cfg_ptr));
    auto opened = db->begin_switchover(switchover_start{
        service_id{"web"}, switchover_kind::automatic_failover, instance_id{"web-a"},
        instance_id{"web-b"}, detection_id{0}, 0, epoch{2}, "still running"});
    ASSERT_TRUE(opened);
    id = *opened;
  }
  // The runner of this process still executes it: only the coordinator restarted.
  auto busy = std::make_unique<running_jobs::guard>(peers->jobs(), "web");
  start();
  EXPECT_TRUE(runner->jobs.empty()) << "not resumed: it is not interrupted";
  EXPECT_TRUE(web_state().failover_in_flight) << "nothing else may start for web";
  (*up)["web-a"] = false;
  advance(2s);
  EXPECT_TRUE(runner->jobs.empty()) << "no second failover beside the running one";

  {
    auto db = open_db();
    ASSERT_TRUE(
        db->finish_switchover(switchover_finish{id, service_id{"web"}, switchover_status::completed,
                                                instance_id{"web-b"}, epoch{2}, "ok"}));
  }
  busy.reset(); // the runner's job ended
  advance(500ms);
  auto s = web_state();
  EXPECT_FALSE(s.failover_in_flight);
  EXPECT_EQ(s.primary.value, "web-b") << "its outcome is taken from the database";
  EXPECT_EQ(s.current_epoch.value, 2u);
}

TEST_F(pipeline_test, a_returning_old_primary_is_made_a_replica_of_the_new_one) {
  auto c = std::make_shared<config::switchyard_config>(*cfg_ptr);
  c->services.front().strategy.rejoin.push_back(exec_action("follow"));
  cfg_ptr = c;
  start();
  EXPECT_TRUE(runner->rejoins.empty()) << "instances seen healthy at start are not rejoined";
  (*up)["web-a"] = false;
  advance(2s);
  ASSERT_EQ(runner->jobs.size(), 1u);
  EXPECT_TRUE(runner->rejoins.empty());
  (*up)["web-a"] = true; // it comes back (rise 1)
  advance(1s);
  ASSERT_EQ(runner->rejoins.size(), 1u);
  EXPECT_EQ(runner->rejoins[0].instance.value, "web-a");
  EXPECT_EQ(runner->rejoins[0].primary.value, "web-b");
  EXPECT_NE(web_state().last_decision.find("web-a rejoin done"), std::string::npos)
      << web_state().last_decision;
  advance(3s);
  EXPECT_EQ(runner->rejoins.size(), 1u) << "once per return, not once per probe";
}

TEST_F(pipeline_test, a_failover_stopped_by_a_failed_fence_says_alert) {
  runner->succeed = false;
  runner->alert = "fencing web-a failed and it is not confirmed dead";
  start();
  (*up)["web-a"] = false;
  advance(2s);
  ASSERT_EQ(runner->jobs.size(), 1u);
  auto s = web_state();
  EXPECT_EQ(s.primary.value, "web-a");
  EXPECT_NE(s.last_decision.find("failover failed: ALERT: fencing web-a failed"), std::string::npos)
      << s.last_decision;
}

TEST_F(pipeline_test, a_refused_probe_reaches_the_failover_job_as_evidence) {
  start();
  (*up)["web-a"] = false;
  advance(2s);
  ASSERT_EQ(runner->jobs.size(), 1u);
  // The scripted probe fails with "connection refused" (see scripted_probe).
  EXPECT_TRUE(runner->jobs.front().detection.refused);
}

TEST_F(pipeline_test, readiness_says_whether_a_failover_could_succeed_now_and_why_not) {
  auto c = std::make_shared<config::switchyard_config>(*cfg_ptr);
  c->services.front().strategy.checks.push_back(exec_action("lag"));
  cfg_ptr = c;
  start();
  // The first full check ran at start, on the runner, as a readiness check.
  ASSERT_EQ(runner->readiness_checks.size(), 1u);
  EXPECT_TRUE(runner->checks.empty());
  auto s = web_state();
  EXPECT_TRUE(s.ready) << (s.not_ready.empty() ? "" : s.not_ready.front());
  EXPECT_GT(s.readiness_checked_ms, 0);

  // The standby lags: the next round of pre-checks refuses it.
  runner->refuse.insert("web-b");
  advance(30s);
  s = web_state();
  EXPECT_FALSE(s.ready);
  ASSERT_EQ(s.not_ready.size(), 1u);
  EXPECT_EQ(s.not_ready[0].rfind("no standby passes the pre-checks: check lag refused web-b", 0),
            0u)
      << s.not_ready[0];
  EXPECT_TRUE(runner->jobs.empty()) << "a readiness check never starts anything";

  // Cheap parts are live: the standby going down shows at once.
  runner->refuse.clear();
  (*up)["web-b"] = false;
  advance(2s);
  s = web_state();
  EXPECT_FALSE(s.ready);
  EXPECT_EQ(s.not_ready[0], "no healthy standby to promote");
}

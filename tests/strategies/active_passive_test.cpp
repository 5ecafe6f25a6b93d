// The active-passive strategy: planning (targets, steps, estimates) and
// execution through a journal, with real exec actions.
#include "tests/strategies/active_passive_fixture.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::strategies;
using namespace switchyard::testing::active_passive_fixture;

TEST_F(active_passive_test, plan_prefers_priority_then_name_and_skips_unhealthy) {
  auto s = service(log);
  active_passive strategy{s};
  auto p = strategy.plan(input(s, {{"web-a", health_status::unhealthy},
                                   {"web-b", health_status::healthy},
                                   {"web-c", health_status::healthy},
                                   {"web-d", health_status::healthy}}));
  ASSERT_TRUE(p) << describe(p.error());
  ASSERT_EQ(p->secondary_targets.size(), 3u);
  EXPECT_EQ(p->secondary_targets[0].value, "web-c");
  EXPECT_EQ(p->secondary_targets[1].value, "web-d");
  EXPECT_EQ(p->secondary_targets[2].value, "web-b");
  EXPECT_EQ(p->primary_targets, std::vector<instance_id>{instance_id{"web-a"}});

  auto q = strategy.plan(input(s, {{"web-b", health_status::healthy},
                                   {"web-c", health_status::unhealthy},
                                   {"web-d", health_status::unknown}}));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->secondary_targets, std::vector<instance_id>{instance_id{"web-b"}});
}

TEST_F(active_passive_test, plan_steps_targets_and_estimate) {
  auto s = service(log);
  active_passive strategy{s};
  auto p = strategy.plan(input(s, {{"web-b", health_status::healthy}}));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->strategy, "active_passive");
  ASSERT_EQ(p->steps.size(), 4u);
  EXPECT_EQ(p->steps[0].sequence, 1u);
  EXPECT_EQ(p->steps[0].phase, step_phase::fence);
  EXPECT_EQ(p->steps[0].target.value, "web-a");
  EXPECT_EQ(p->steps[1].phase, step_phase::promote);
  EXPECT_EQ(p->steps[1].target.value, "web-b");
  EXPECT_EQ(p->steps[3].sequence, 4u);
  EXPECT_EQ(p->steps[3].phase, step_phase::verify);
  EXPECT_EQ(p->steps[3].action_kind, "exec");
  EXPECT_EQ(p->steps[3].timeout, caf::timespan{2s});
  // fall (2) x interval (500 ms) + timeout (300 ms) + 4 steps x 2 s
  EXPECT_EQ(p->estimated_failover_time, caf::timespan{1300ms + 8s});
  EXPECT_EQ(p->rto, caf::timespan{30s});
  ASSERT_EQ(p->triggers.size(), 2u);
  EXPECT_EQ(p->triggers[0], "primary web-a unreachable: 2 consecutive failed http probes of "
                            "/health (every 500 ms, timeout 300 ms)");
  ASSERT_EQ(p->rollback_criteria.size(), 2u);
  EXPECT_NE(p->rollback_criteria[0].find("stop before promoting"), std::string::npos);
}

TEST_F(active_passive_test, no_healthy_standby_is_an_error_listing_them) {
  auto s = service(log);
  active_passive strategy{s};
  auto p = strategy.plan(input(s, {{"web-b", health_status::unhealthy}}));
  ASSERT_FALSE(p);
  EXPECT_EQ(describe(p.error()), "no_failover_target: no healthy standby for service 'web' "
                                 "(web-b: unhealthy, web-c: unknown, web-d: unknown)");
  auto q = strategy.plan(planning_input{&s, "web-z", {}});
  ASSERT_FALSE(q);
  EXPECT_EQ(describe(q.error()), "unknown_instance: 'web-z' is not an instance of service 'web'");
}

TEST_F(active_passive_test, execute_journals_each_step_around_its_action_in_order) {
  auto s = service(log);
  active_passive strategy{s};
  auto p = strategy.plan(input(s, {{"web-b", health_status::healthy}}));
  ASSERT_TRUE(p);
  recording_journal j;
  auto r =
      strategy.execute(execution_input{&s, *p, switchover_id{1}, "web-a", "web-b", epoch{2}}, j);
  EXPECT_TRUE(r.success) << r.detail;
  EXPECT_EQ(r.steps_done, 4u);
  EXPECT_EQ(j.calls, (std::vector<std::string>{"begin fence-old", "finish 1 ok",
                                               "begin promote-new", "finish 2 ok", "begin reroute",
                                               "finish 3 ok", "begin verify", "finish 4 ok"}));
  EXPECT_EQ(slurp(log), "fence web-a\npromote web-b\nreroute web-b\nverify web-b\n");
}

TEST_F(active_passive_test, a_failed_step_stops_the_failover) {
  auto s = service(log);
  s.strategy.promote[0].command = "echo promote >> " + log + "; echo replica lagging; exit 1";
  active_passive strategy{s};
  auto p = strategy.plan(input(s, {{"web-b", health_status::healthy}}));
  recording_journal j;
  auto r =
      strategy.execute(execution_input{&s, *p, switchover_id{1}, "web-a", "web-b", epoch{2}}, j);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.steps_done, 1u);
  EXPECT_EQ(r.failed_step, "promote-new");
  EXPECT_EQ(r.detail.rfind("step 2 (promote-new) failed: exit 1 in ", 0), 0u) << r.detail;
  EXPECT_NE(r.detail.find("replica lagging"), std::string::npos) << r.detail;
  EXPECT_EQ(j.calls.back(), "finish 2 failed");
  EXPECT_EQ(slurp(log), "fence web-a\npromote\n") << "reroute and verify must not run";
}

TEST_F(active_passive_test, a_journal_failure_prevents_the_action) {
  auto s = service(log);
  active_passive strategy{s};
  auto p = strategy.plan(input(s, {{"web-b", health_status::healthy}}));
  recording_journal j;
  j.fail_begin_at = 2;
  auto r =
      strategy.execute(execution_input{&s, *p, switchover_id{1}, "web-a", "web-b", epoch{2}}, j);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.detail, "step 2 (promote-new) failed: journal write failed before the action ran: "
                      "storage_failure: disk full");
  EXPECT_EQ(slurp(log), "fence web-a\n") << "an unjournaled action must not run";
}

TEST_F(active_passive_test, a_lost_journal_write_after_a_successful_fence_is_said_as_it_is) {
  auto s = service(log);
  active_passive strategy{s};
  auto p = strategy.plan(input(s, {{"web-b", health_status::healthy}}));
  recording_journal j;
  j.fail_finish_at = 1; // the fence ran and succeeded; its end was not journaled
  auto r =
      strategy.execute(execution_input{&s, *p, switchover_id{1}, "web-a", "web-b", epoch{2}}, j);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(slurp(log), "fence web-a\n") << "nothing runs after an unjournaled step";
  EXPECT_NE(r.alert.find("fencing web-a succeeded"), std::string::npos) << r.alert;
  EXPECT_NE(r.alert.find("web-a is fenced"), std::string::npos) << r.alert;
  EXPECT_EQ(r.alert.find("may still accept writes"), std::string::npos) << r.alert;
  EXPECT_EQ(r.alert.find("fencing web-a failed"), std::string::npos) << r.alert;
}

TEST_F(active_passive_test, a_failed_fence_still_alerts_that_the_old_primary_may_accept_writes) {
  auto s = service(log);
  s.strategy.fence[0].command = "exit 3";
  active_passive strategy{s};
  auto p = strategy.plan(input(s, {{"web-b", health_status::healthy}}));
  recording_journal j;
  j.fail_finish_at = 1; // both: the fence failed and its end was not journaled
  auto r =
      strategy.execute(execution_input{&s, *p, switchover_id{1}, "web-a", "web-b", epoch{2}}, j);
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.alert.find("fencing web-a failed"), std::string::npos) << r.alert;
  EXPECT_NE(r.alert.find("may still accept writes"), std::string::npos) << r.alert;
}

TEST_F(active_passive_test, planned_switchover_rolls_back_done_steps_in_reverse) {
  auto s = service(log);
  s.strategy.fence[0].rollback = "echo undo-fence $SWITCHYARD_TARGET >> " + log;
  s.strategy.reroute[0].rollback = "echo never >> " + log; // its step never ran
  s.strategy.promote[0].rollback = "echo undo-promote $SWITCHYARD_TARGET >> " + log;
  s.strategy.reroute[0].command = "echo reroute >> " + log + "; exit 4";
  active_passive strategy{s};
  auto p = strategy.plan(input(s, {{"web-b", health_status::healthy}}));
  ASSERT_TRUE(p);
  recording_journal j;
  execution_input in{&s, *p, switchover_id{1}, "web-a", "web-b", epoch{2}, true};
  auto r = strategy.execute(in, j);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.steps_done, 2u);
  EXPECT_EQ(r.steps_rolled_back, 2u);
  EXPECT_NE(r.detail.find("step 3 (reroute) failed: exit 4"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("; rolled back: promote-new, fence-old"), std::string::npos) << r.detail;
  EXPECT_EQ(slurp(log),
            "fence web-a\npromote web-b\nreroute\nundo-promote web-b\nundo-fence web-a\n");
  EXPECT_EQ(j.calls, (std::vector<std::string>{
                         "begin fence-old", "finish 1 ok", "begin promote-new", "finish 2 ok",
                         "begin reroute", "finish 3 failed", "begin rollback promote-new",
                         "finish 5 ok", "begin rollback fence-old", "finish 6 ok"}));
}

TEST_F(active_passive_test, automatic_failover_does_not_roll_back) {
  auto s = service(log);
  s.strategy.fence[0].rollback = "echo undo-fence >> " + log;
  s.strategy.promote[0].command = "exit 1";
  active_passive strategy{s};
  auto p = strategy.plan(input(s, {{"web-b", health_status::healthy}}));
  recording_journal j;
  auto r =
      strategy.execute(execution_input{&s, *p, switchover_id{1}, "web-a", "web-b", epoch{2}}, j);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.steps_rolled_back, 0u);
  EXPECT_EQ(slurp(log), "fence web-a\n");
}

TEST_F(active_passive_test, preferred_target_goes_first) {
  auto s = service(log);
  active_passive strategy{s};
  auto in = input(s, {{"web-b", health_status::healthy}, {"web-c", health_status::healthy}});
  in.preferred_target = "web-b";
  auto p = strategy.plan(in);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->secondary_targets.front().value, "web-b");
  EXPECT_EQ(p->steps[1].target.value, "web-b");
}

TEST(active_passive_checks, a_check_refuses_a_lagging_candidate_with_its_own_reason) {
  auto s = service("/dev/null");
  s.objective.rpo = 5s;
  // Lag per candidate from the environment the check gets: web-c lags, web-d does not.
  s.strategy.checks.push_back(act(
      "replication-lag",
      "case $SWITCHYARD_TARGET in web-c) lag=90000;; *) lag=10;; esac; "
      "if [ $lag -gt $SWITCHYARD_RPO_MS ]; then "
      "echo \"lag ${lag} ms > RPO ${SWITCHYARD_RPO_MS} ms on $SWITCHYARD_NEW_PRIMARY_ADDRESS\"; "
      "exit 1; fi"));
  active_passive ap{s};
  ASSERT_TRUE(ap.has_candidate_checks());
  auto c = ap.check_candidate("web-a", "web-c");
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.detail.rfind("check replication-lag refused web-c: exit 1 in ", 0), 0u) << c.detail;
  EXPECT_NE(c.detail.find("| lag 90000 ms > RPO 5000 ms on 10.0.0.3:80"), std::string::npos)
      << c.detail;
  auto d = ap.check_candidate("web-a", "web-d");
  EXPECT_TRUE(d.ok) << d.detail;
  EXPECT_EQ(d.detail, "passed replication-lag");
}

TEST(active_passive_checks, without_checks_every_candidate_passes) {
  auto s = service("/dev/null"); // the strategy keeps a reference: it must outlive it
  active_passive ap{s};
  EXPECT_FALSE(ap.has_candidate_checks());
  EXPECT_TRUE(ap.check_candidate("web-a", "web-b").ok);
}

TEST_F(active_passive_test, a_resumed_execution_skips_done_steps_and_reruns_the_started_one) {
  auto s = service(log);
  active_passive strategy{s};
  auto p = strategy.plan(input(s, {{"web-b", health_status::healthy}}));
  ASSERT_TRUE(p);
  recording_journal j;
  execution_input in{&s, *p, switchover_id{1}, "web-a", "web-b", epoch{2}};
  in.journaled = {{1, "fence-old", step_status::done}, {2, "promote-new", step_status::started}};
  auto r = strategy.execute(in, j);
  EXPECT_TRUE(r.success) << r.detail;
  EXPECT_EQ(r.steps_done, 4u);
  EXPECT_EQ(j.calls, (std::vector<std::string>{"begin promote-new", "finish 2 ok", "begin reroute",
                                               "finish 3 ok", "begin verify", "finish 4 ok"}));
  EXPECT_EQ(slurp(log), "promote web-b\nreroute web-b\nverify web-b\n") << "fence ran before";
}

TEST_F(active_passive_test, a_resumed_planned_switchover_that_had_failed_finishes_its_rollback) {
  auto s = service(log);
  s.strategy.fence.front().rollback = "echo unfence $SWITCHYARD_TARGET >> " + log;
  s.strategy.promote.front().rollback = "echo demote $SWITCHYARD_TARGET >> " + log;
  active_passive strategy{s};
  auto p = strategy.plan(input(s, {{"web-b", health_status::healthy}}));
  ASSERT_TRUE(p);
  recording_journal j;
  execution_input in{&s, *p, switchover_id{1}, "web-a", "web-b", epoch{2}, true};
  // Step 3 failed; promote was undone (step 5), the fence's undo (step 6) had started.
  in.journaled = {{1, "fence-old", step_status::done},
                  {2, "promote-new", step_status::done},
                  {3, "reroute", step_status::failed},
                  {5, "rollback promote-new", step_status::done},
                  {6, "rollback fence-old", step_status::started}};
  auto r = strategy.execute(in, j);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.detail, "step 3 (reroute) had failed before switchyardd stopped; rolled back: "
                      "promote-new, fence-old");
  EXPECT_EQ(j.calls, (std::vector<std::string>{"begin rollback fence-old", "finish 6 ok"}))
      << "only the unfinished undo runs, under its own sequence";
  EXPECT_EQ(slurp(log), "unfence web-a\n");
}

// Fencing: a failed fence step stops the failover with an alert, unless the
// old primary is confirmed dead by the strategy's rule.
TEST_F(active_passive_test, a_failed_fence_stops_before_promotion_and_raises_an_alert) {
  auto s = service(log);
  s.strategy.fence[0].command = "echo fence >> " + log + "; echo no route to host; exit 1";
  active_passive strategy{s};
  auto p = strategy.plan(input(s, {{"web-b", health_status::healthy}}));
  ASSERT_TRUE(p);
  recording_journal j;
  auto r =
      strategy.execute(execution_input{&s, *p, switchover_id{1}, "web-a", "web-b", epoch{2}}, j);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.failed_step, "fence-old");
  EXPECT_EQ(r.alert.rfind("fencing web-a failed and it is not confirmed dead: nothing was "
                          "promoted",
                          0),
            0u)
      << r.alert;
  EXPECT_NE(r.alert.find("no route to host"), std::string::npos) << r.alert;
  EXPECT_EQ(slurp(log), "fence\n") << "nothing may be promoted after a failed fence";
}

TEST_F(active_passive_test, a_failed_fence_is_passed_over_when_the_old_primary_is_confirmed_dead) {
  auto s = service(log);
  s.strategy.dead_when = config::dead_rule::refused;
  s.strategy.fence[0].command = "echo fence >> " + log + "; echo connection refused; exit 1";
  active_passive strategy{s};
  auto p = strategy.plan(input(s, {{"web-b", health_status::healthy}}));
  ASSERT_TRUE(p);
  recording_journal j;
  execution_input in{&s, *p, switchover_id{1}, "web-a", "web-b", epoch{2}};
  in.old_primary_dead = true;
  auto r = strategy.execute(in, j);
  EXPECT_TRUE(r.success) << r.detail;
  EXPECT_TRUE(r.alert.empty());
  // Journaled as done (so a resume does not stop there), saying what happened.
  EXPECT_EQ(j.calls[1], "finish 1 ok");
  EXPECT_EQ(slurp(log), "fence\npromote web-b\nreroute web-b\nverify web-b\n");
}

TEST_F(active_passive_test, a_failed_promote_is_not_passed_over_even_when_the_old_primary_is_dead) {
  auto s = service(log);
  s.strategy.promote[0].command = "exit 1";
  active_passive strategy{s};
  auto p = strategy.plan(input(s, {{"web-b", health_status::healthy}}));
  recording_journal j;
  execution_input in{&s, *p, switchover_id{1}, "web-a", "web-b", epoch{2}};
  in.old_primary_dead = true;
  auto r = strategy.execute(in, j);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.failed_step, "promote-new");
  EXPECT_TRUE(r.alert.empty()) << "only fencing failures raise the fencing alert";
}

// Candidates by replication position (an exec position action prints it),
// most advanced first; equal positions keep the priority order; an
// unreadable one goes last.
TEST(active_passive_position, candidates_are_ranked_by_position_then_priority) {
  auto s = service("/dev/null");
  auto pos = act("offset", "case $SWITCHYARD_TARGET in web-b) echo 900;; web-c) echo 500;; "
                           "web-d) echo 500;; esac");
  s.strategy.position.push_back(pos);
  active_passive ap{s};
  EXPECT_TRUE(ap.has_candidate_checks());
  auto ranked = ap.rank_candidates("web-a", {"web-c", "web-d", "web-b"});
  ASSERT_EQ(ranked.size(), 3u);
  EXPECT_EQ(ranked[0].instance, "web-b");
  EXPECT_EQ(ranked[0].position, 900);
  EXPECT_EQ(ranked[1].instance, "web-c"); // came first (priority order), same position as web-d
  EXPECT_EQ(ranked[2].instance, "web-d");

  s.strategy.position[0].command =
      "case $SWITCHYARD_TARGET in web-b) echo unreachable; exit 1;; *) echo 7;; esac";
  active_passive failing{s};
  ranked = failing.rank_candidates("web-a", {"web-b", "web-c"});
  EXPECT_EQ(ranked[0].instance, "web-c");
  EXPECT_FALSE(ranked[1].position.has_value());
  EXPECT_NE(ranked[1].detail.find("unreachable"), std::string::npos) << ranked[1].detail;
}

TEST(active_passive_rejoin, runs_the_rejoin_actions_against_the_returning_instance) {
  switchyard::testing::temp_dir dir;
  auto log = (dir.path() / "rejoin.log").string();
  auto s = service(log);
  EXPECT_EQ(active_passive{s}.rejoin("web-b", "web-a").detail, "no rejoin actions configured");
  s.strategy.rejoin.push_back(act(
      "follow", "echo \"$SWITCHYARD_TARGET follows $SWITCHYARD_NEW_PRIMARY_ADDRESS\" >> " + log));
  active_passive ap{s};
  auto r = ap.rejoin("web-b", "web-a");
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(slurp(log), "web-a follows 10.0.0.2:80\n");
  s.strategy.rejoin[0].command = "echo refused; exit 3";
  auto failed = active_passive{s}.rejoin("web-b", "web-a");
  EXPECT_FALSE(failed.ok);
  EXPECT_EQ(failed.detail.rfind("follow failed: exit 3", 0), 0u) << failed.detail;
}

TEST(active_passive_readiness, failed_readiness_actions_are_the_reasons) {
  auto s = service("/dev/null");
  EXPECT_TRUE(active_passive{s}.check_readiness("web-a", "web-b").empty());
  s.strategy.readiness.push_back(act("lb-api", "test \"$SWITCHYARD_PHASE\" = readiness"));
  s.strategy.readiness.push_back(act("dns-api", "echo unreachable: $SWITCHYARD_TARGET; exit 7"));
  active_passive ap{s};
  auto problems = ap.check_readiness("web-a", "web-c");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].rfind("readiness dns-api failed: exit 7", 0), 0u) << problems[0];
  EXPECT_NE(problems[0].find("unreachable: web-c"), std::string::npos) << problems[0];
}

// The coordinator's safety rules as a pure function: which detections lead
// to a failover, and what holds one back.
#include <gtest/gtest.h>

#include "rules/failover_policy.hpp"
#include "strategies/active_passive.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::actors;

namespace {

class policy_test : public ::testing::Test {
protected:
  policy_test() {
    svc.name = "web";
    svc.block_period = 60s;
    svc.instances.push_back({"web-a", "h", 1, "dc1", config::instance_role::primary, 100, {}});
    svc.instances.push_back({"web-b", "h", 2, "dc1", config::instance_role::standby, 90, {}});
    svc.strategy.promote.push_back(
        config::action_settings{"promote", config::action_type::exec, "true", 1s, {}});
    view.settings = &svc;
    view.primary = "web-a";
    view.epoch = 1;
    view.health = {{"web-a", health_status::unhealthy}, {"web-b", health_status::healthy}};
  }

  failure_detection primary_down() {
    failure_detection d;
    d.service = service_id{"web"};
    d.instance = instance_id{"web-a"};
    d.type = failure_type::unreachable;
    return d;
  }

  decision decide_now(const failure_detection& d) { return decide(view, d, t0 + 120s, strategy); }

  config::service_settings svc;
  strategies::active_passive strategy{svc};
  service_view view;
  coord_clock::time_point t0{};
};

} // namespace

TEST_F(policy_test, primary_unreachable_with_a_healthy_standby_fails_over) {
  auto d = decide_now(primary_down());
  ASSERT_EQ(d.what, verdict::fail_over) << d.reason;
  ASSERT_TRUE(d.plan);
  EXPECT_EQ(d.plan->secondary_targets.front().value, "web-b");
  EXPECT_EQ(d.reason, "primary web-a unreachable: promote web-b (1 steps)");
}

TEST_F(policy_test, standby_failure_and_recoveries_are_ignored) {
  auto d = primary_down();
  d.instance = instance_id{"web-b"};
  EXPECT_EQ(decide_now(d).what, verdict::ignore);
  auto r = primary_down();
  r.type = failure_type::recovered;
  EXPECT_EQ(decide_now(r).what, verdict::ignore);
}

TEST_F(policy_test, stale_detection_of_a_recovered_primary_is_ignored) {
  view.health["web-a"] = health_status::healthy;
  auto d = decide_now(primary_down());
  EXPECT_EQ(d.what, verdict::ignore);
  EXPECT_EQ(d.reason, "primary web-a is no longer unhealthy");
}

TEST_F(policy_test, one_failover_at_a_time) {
  view.in_flight = true;
  auto d = decide_now(primary_down());
  EXPECT_EQ(d.what, verdict::blocked);
  EXPECT_EQ(d.reason, "a failover of this service is already in progress");
}

TEST_F(policy_test, block_period_holds_until_it_has_passed) {
  view.last_failover = t0 + 120s - 59'999ms;
  auto d = decide_now(primary_down());
  EXPECT_EQ(d.what, verdict::blocked);
  EXPECT_EQ(d.reason, "within block period: last failover 59999 ms ago, block period 60000 ms");
  view.last_failover = t0 + 60s; // exactly one block period ago
  EXPECT_EQ(decide_now(primary_down()).what, verdict::fail_over);
}

TEST_F(policy_test, no_healthy_standby_is_no_target) {
  view.health["web-b"] = health_status::unknown;
  auto d = decide_now(primary_down());
  EXPECT_EQ(d.what, verdict::no_target);
  EXPECT_EQ(d.reason, "no_failover_target: no healthy standby for service 'web' (web-b: unknown)");
}

TEST_F(policy_test, switchover_to_a_healthy_standby_is_accepted) {
  view.health["web-a"] = health_status::healthy;
  auto d = check_switchover(view, "web-b", false, t0 + 120s, strategy);
  ASSERT_EQ(d.what, verdict::fail_over) << d.reason;
  EXPECT_EQ(d.reason, "switch web-a -> web-b (1 steps)");
  EXPECT_EQ(d.plan->secondary_targets.front().value, "web-b");
}

TEST_F(policy_test, switchover_refusals_say_why) {
  view.health["web-b"] = health_status::unhealthy;
  EXPECT_EQ(check_switchover(view, "web-b", false, t0, strategy).reason,
            "no_failover_target: target 'web-b' is not healthy (unhealthy)");
  EXPECT_EQ(check_switchover(view, "web-a", false, t0, strategy).reason,
            "no_failover_target: 'web-a' is already the primary of 'web'");
  EXPECT_EQ(check_switchover(view, "web-z", false, t0, strategy).reason,
            "unknown_instance: 'web-z' is not an instance of service 'web'");
  view.health["web-b"] = health_status::healthy;
  view.in_flight = true;
  EXPECT_EQ(check_switchover(view, "", false, t0, strategy).what, verdict::blocked);
}

TEST_F(policy_test, switchover_in_the_block_period_needs_force) {
  view.last_failover = t0 + 100s;
  auto d = check_switchover(view, "", false, t0 + 120s, strategy);
  EXPECT_EQ(d.what, verdict::blocked);
  EXPECT_EQ(d.reason, "within block period: last failover 20000 ms ago, block period 60000 ms "
                      "(force overrides)");
  EXPECT_EQ(check_switchover(view, "", true, t0 + 120s, strategy).what, verdict::fail_over);
}

TEST_F(policy_test, maintenance_of_the_service_or_the_primary_holds_automatic_failover_back) {
  view.maintenance =
      maintenance_record{service_id{"web"}, instance_id{}, "storage upgrade", "alice", 1, 0};
  auto d = decide_now(primary_down());
  EXPECT_EQ(d.what, verdict::blocked);
  EXPECT_EQ(d.reason, "service in maintenance (storage upgrade by alice until turned off): no "
                      "automatic action");
  view.maintenance.reset();
  view.instance_maintenance["web-a"] =
      maintenance_record{service_id{"web"}, instance_id{"web-a"}, "disk swap", "bob", 1, 5};
  d = decide_now(primary_down());
  EXPECT_EQ(d.what, verdict::blocked);
  EXPECT_EQ(d.reason.rfind("primary web-a in maintenance (disk swap by bob)", 0), 0u) << d.reason;
}

TEST_F(policy_test, a_standby_in_maintenance_is_never_promoted_automatically) {
  view.instance_maintenance["web-b"] =
      maintenance_record{service_id{"web"}, instance_id{"web-b"}, "patching", "bob", 1, 0};
  auto d = decide_now(primary_down());
  EXPECT_EQ(d.what, verdict::no_target) << d.reason;
  // An operator may name it knowingly, with force.
  auto planned = check_switchover(view, "web-b", false, t0 + 120s, strategy);
  EXPECT_EQ(planned.what, verdict::no_target);
  EXPECT_NE(planned.reason.find("target 'web-b' is in maintenance"), std::string::npos)
      << planned.reason;
  EXPECT_EQ(check_switchover(view, "web-b", true, t0 + 120s, strategy).what, verdict::fail_over);
}

TEST_F(policy_test, forced_failover_needs_a_primary_that_is_not_healthy_unless_forced) {
  view.health["web-a"] = health_status::healthy;
  auto d = check_switchover(view, "", false, t0 + 120s, strategy, switchover_kind::forced_failover);
  EXPECT_EQ(d.what, verdict::blocked);
  EXPECT_EQ(d.reason.rfind("primary web-a is healthy: use a planned switchover", 0), 0u);
  EXPECT_EQ(
      check_switchover(view, "", true, t0 + 120s, strategy, switchover_kind::forced_failover).what,
      verdict::fail_over);
  view.health["web-a"] = health_status::unhealthy;
  EXPECT_EQ(
      check_switchover(view, "", false, t0 + 120s, strategy, switchover_kind::forced_failover).what,
      verdict::fail_over);
}

TEST_F(policy_test, demote_steps_run_in_planned_switchovers_only_and_fencing_always) {
  svc.strategy.demote.push_back(
      config::action_settings{"drain", config::action_type::exec, "true", 1s, {}});
  svc.strategy.fence.push_back(
      config::action_settings{"stonith", config::action_type::exec, "true", 1s, {}});
  auto names = [](const decision& d) {
    std::vector<std::string> out;
    for (const auto& s : d.plan->steps)
      out.push_back(std::string(to_string(s.phase)) + " " + s.name + " on " + s.target.value);
    return out;
  };
  auto planned = check_switchover(view, "", false, t0 + 120s, strategy);
  ASSERT_EQ(planned.what, verdict::fail_over) << planned.reason;
  EXPECT_EQ(names(planned),
            (std::vector<std::string>{"demote drain on web-a", "fence stonith on web-a",
                                      "promote promote on web-b"}));
  auto forced =
      check_switchover(view, "", false, t0 + 120s, strategy, switchover_kind::forced_failover);
  ASSERT_EQ(forced.what, verdict::fail_over);
  EXPECT_EQ(names(forced),
            (std::vector<std::string>{"fence stonith on web-a", "promote promote on web-b"}));
  auto automatic = decide_now(primary_down());
  ASSERT_EQ(automatic.what, verdict::fail_over);
  EXPECT_EQ(names(automatic), names(forced));
}

TEST_F(policy_test, export_plans_as_if_standbys_were_healthy_when_none_is) {
  view.health["web-b"] = health_status::unhealthy;
  auto p = export_plan(view, strategy);
  ASSERT_TRUE(p.has_plan) << p.note;
  EXPECT_EQ(p.plan.secondary_targets.front().value, "web-b");
  EXPECT_NE(p.note.find("planned as if the standbys were healthy"), std::string::npos) << p.note;
  view.health["web-b"] = health_status::healthy;
  p = export_plan(view, strategy);
  EXPECT_TRUE(p.has_plan);
  EXPECT_EQ(p.note, "");
}

// -- safety rules beyond one service -------------------------------------------

TEST_F(policy_test, fewer_healthy_standbys_than_required_hold_a_failover_back) {
  svc.instances.push_back({"web-c", "h", 3, "dc1", config::instance_role::standby, 80, {}});
  svc.min_healthy_standbys = 2;
  view.health["web-c"] = health_status::unhealthy;
  auto d = decide_now(primary_down());
  EXPECT_EQ(d.what, verdict::blocked);
  EXPECT_EQ(d.held, hold::standbys) << "decided again when a standby turns healthy";
  EXPECT_EQ(d.reason, "min_healthy_standbys is 2: only 1 healthy standby (web-b)");
  view.health["web-c"] = health_status::healthy;
  EXPECT_EQ(decide_now(primary_down()).what, verdict::fail_over) << "the candidate counts";
  // A standby in maintenance is not one to count on.
  view.instance_maintenance["web-c"] =
      maintenance_record{service_id{"web"}, instance_id{"web-c"}, "patching", "bob", 1, 0};
  EXPECT_EQ(decide_now(primary_down()).what, verdict::blocked);
  // None healthy at all is the strategy's "no target", as with the default of 1.
  view.instance_maintenance.clear();
  view.health["web-b"] = health_status::unknown;
  view.health["web-c"] = health_status::unknown;
  EXPECT_EQ(decide_now(primary_down()).what, verdict::no_target);
}

TEST_F(policy_test, the_concurrency_limit_names_what_is_in_progress_and_holds) {
  config::safety_settings limits;
  safety_view safety{&limits, {"db"}, 1, std::nullopt};
  auto d = decide(view, primary_down(), t0 + 120s, strategy, safety);
  EXPECT_EQ(d.what, verdict::blocked);
  EXPECT_EQ(d.held, hold::concurrency);
  EXPECT_EQ(d.reason, "max_concurrent_failovers is 1: 1 switchover in progress (db); decided "
                      "again when one ends");
  limits.max_concurrent_failovers = 2;
  EXPECT_EQ(decide(view, primary_down(), t0 + 120s, strategy, safety).what, verdict::fail_over);
}

TEST_F(policy_test, the_hourly_limit_counts_every_start_and_is_not_retried) {
  config::safety_settings limits;
  limits.max_failovers_per_hour = 3;
  limits.max_concurrent_failovers = 5;
  safety_view safety{&limits, {}, 3, std::nullopt};
  auto d = decide(view, primary_down(), t0 + 120s, strategy, safety);
  EXPECT_EQ(d.what, verdict::blocked);
  EXPECT_EQ(d.held, hold::none);
  EXPECT_EQ(d.reason, "max_failovers_per_hour is 3: 3 switchovers started in the last hour; "
                      "not retried: fail over by hand if it is needed");
  safety.started_last_hour = 2;
  EXPECT_EQ(decide(view, primary_down(), t0 + 120s, strategy, safety).what, verdict::fail_over);
}

TEST_F(policy_test, hourly_starts_forget_what_is_an_hour_old) {
  hourly_starts starts;
  starts.record(t0 + 10min);
  starts.record(t0); // recorded late (seeded from the database): kept in order
  starts.record(t0 + 30min);
  EXPECT_EQ(starts.count(t0 + 59min), 3u);
  EXPECT_EQ(starts.count(t0 + 60min), 2u) << "exactly an hour old: forgotten";
  EXPECT_EQ(starts.count(t0 + 90min), 0u);
}

TEST_F(policy_test, operator_requests_are_not_held_by_the_global_rules) {
  // check_switchover does not look at limits, TILT or min_healthy_standbys.
  svc.min_healthy_standbys = 2;
  EXPECT_EQ(check_switchover(view, "", false, t0 + 120s, strategy).what, verdict::fail_over);
}

TEST(tilt_test, a_late_timer_enters_tilt_which_ends_after_its_duration_with_timely_ones) {
  config::tilt_settings s; // 2 s lag, 30 s
  tilt_state tilt;
  coord_clock::time_point t{};
  EXPECT_EQ(tilt.on_timer(t, t + 2s, s), tilt_state::change::none) << "2 s late is not over 2 s";
  EXPECT_FALSE(tilt.why(t + 2s));
  EXPECT_EQ(tilt.on_timer(t + 2s, t + 5200ms, s), tilt_state::change::entered);
  ASSERT_TRUE(tilt.why(t + 5200ms));
  EXPECT_EQ(*tilt.why(t + 5200ms), "timers were 3.2 s late; evidence may be stale (automatic "
                                   "failovers resume in 30000 ms without another late timer)");
  EXPECT_EQ(tilt.on_timer(t + 20s, t + 20100ms, s), tilt_state::change::none) << "still in TILT";
  EXPECT_TRUE(tilt.why(t + 35s));
  // Another late timer starts the duration again.
  EXPECT_EQ(tilt.on_timer(t + 30s, t + 32500ms, s), tilt_state::change::extended);
  EXPECT_EQ(tilt.on_timer(t + 62s, t + 62400ms, s), tilt_state::change::none);
  EXPECT_EQ(tilt.on_timer(t + 62500ms, t + 62500ms, s), tilt_state::change::ended);
  EXPECT_FALSE(tilt.why(t + 62500ms));
  EXPECT_TRUE(tilt_state::overdue(t, t + 2001ms, s));
  EXPECT_FALSE(tilt_state::overdue(t, t + 2s, s));
}

TEST_F(policy_test, tilt_holds_an_automatic_failover_back) {
  safety_view safety;
  safety.tilt = "timers were 3.2 s late; evidence may be stale";
  auto d = decide(view, primary_down(), t0 + 120s, strategy, safety);
  EXPECT_EQ(d.what, verdict::blocked);
  EXPECT_EQ(d.held, hold::tilt) << "decided again when TILT ends";
  EXPECT_EQ(d.reason, "TILT: timers were 3.2 s late; evidence may be stale");
}

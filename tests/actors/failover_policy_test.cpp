// The coordinator's safety rules as a pure function: which detections lead
// to a failover, and what holds one back.
#include <gtest/gtest.h>

#include "actors/failover_policy.hpp"
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

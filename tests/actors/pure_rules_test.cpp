// Unit tests of the actors' pure decision logic: rise/fall, classification,
// the supervisor's restart discipline.
#include <gtest/gtest.h>

#include "actors/failure_rules.hpp"
#include "actors/health_tracker.hpp"
#include "actors/restart_policy.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::actors;

TEST(health_tracker, needs_rise_successes_to_become_healthy) {
  health_tracker t{2, 3};
  EXPECT_EQ(t.observe(true), std::nullopt);
  EXPECT_EQ(t.status(), health_status::unknown);
  EXPECT_EQ(t.observe(true), health_status::healthy);
  EXPECT_EQ(t.observe(true), std::nullopt);
}

TEST(health_tracker, needs_fall_consecutive_failures_to_become_unhealthy) {
  health_tracker t{1, 3};
  ASSERT_EQ(t.observe(true), health_status::healthy);
  EXPECT_EQ(t.observe(false), std::nullopt);
  EXPECT_EQ(t.observe(false), std::nullopt);
  EXPECT_EQ(t.observe(true), std::nullopt); // a success resets the failure streak
  EXPECT_EQ(t.observe(false), std::nullopt);
  EXPECT_EQ(t.observe(false), std::nullopt);
  EXPECT_EQ(t.observe(false), health_status::unhealthy);
  EXPECT_EQ(t.streak(), 3u);
}

TEST(health_tracker, instance_down_from_start_becomes_unhealthy) {
  health_tracker t{2, 2};
  EXPECT_EQ(t.observe(false), std::nullopt);
  EXPECT_EQ(t.observe(false), health_status::unhealthy);
}

namespace {

health_transition transition(const std::string& inst, health_status from, health_status to) {
  return health_transition{
      service_id{"web"},    instance_id{inst}, from, to, "connection refused", 2,
      caf::make_timestamp()};
}

} // namespace

TEST(failure_rules, primary_down_is_critical_standby_down_is_warning) {
  failure_rules rules;
  rules.set_primary("web", "web-a");
  auto d = rules.classify(transition("web-a", health_status::healthy, health_status::unhealthy));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, failure_type::unreachable);
  EXPECT_EQ(d->level, severity::critical);
  EXPECT_TRUE(d->affects_primary);
  EXPECT_EQ(d->evidence, "primary web-a of web failed 2 consecutive probes (was healthy); last: "
                         "connection refused");
  auto s = rules.classify(transition("web-b", health_status::healthy, health_status::unhealthy));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->level, severity::warning);
  EXPECT_FALSE(s->affects_primary);
}

TEST(failure_rules, deduplicates_until_recovered) {
  failure_rules rules;
  rules.set_primary("web", "web-a");
  ASSERT_TRUE(
      rules.classify(transition("web-a", health_status::healthy, health_status::unhealthy)));
  EXPECT_FALSE(
      rules.classify(transition("web-a", health_status::unknown, health_status::unhealthy)));
  auto rec = rules.classify(transition("web-a", health_status::unhealthy, health_status::healthy));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->type, failure_type::recovered);
  EXPECT_EQ(rec->level, severity::info);
  EXPECT_TRUE(
      rules.classify(transition("web-a", health_status::healthy, health_status::unhealthy)));
}

TEST(failure_rules, coming_up_is_not_news) {
  failure_rules rules;
  EXPECT_FALSE(rules.classify(transition("web-a", health_status::unknown, health_status::healthy)));
}

TEST(restart_policy, backs_off_exponentially_then_escalates) {
  config::supervisor_settings s;
  s.max_restarts = 3;
  s.restart_window = 60s;
  s.initial_backoff = 100ms;
  s.max_backoff = 250ms;
  restart_policy p{s};
  caf::actor_clock::time_point t0{};
  auto v1 = p.on_crash(t0);
  EXPECT_FALSE(v1.escalate);
  EXPECT_EQ(v1.delay, caf::timespan{100ms});
  EXPECT_EQ(p.on_crash(t0 + 1s).delay, caf::timespan{200ms});
  EXPECT_EQ(p.on_crash(t0 + 2s).delay, caf::timespan{250ms}); // capped
  auto v4 = p.on_crash(t0 + 3s);
  EXPECT_TRUE(v4.escalate);
  EXPECT_EQ(v4.recent_crashes, 4u);
}

TEST(restart_policy, crashes_outside_the_window_are_forgotten) {
  config::supervisor_settings s;
  s.max_restarts = 1;
  s.restart_window = 10s;
  restart_policy p{s};
  caf::actor_clock::time_point t0{};
  EXPECT_FALSE(p.on_crash(t0).escalate);
  EXPECT_FALSE(p.on_crash(t0 + 11s).escalate);
  EXPECT_EQ(p.on_crash(t0 + 11s).recent_crashes, 2u);
}

// Unit tests of the actors' pure decision logic: rise/fall, classification
// (dependencies, flapping, site disasters), the supervisor's restart discipline.
#include <gtest/gtest.h>

#include "rules/dependency_tracker.hpp"
#include "rules/failure_rules.hpp"
#include "rules/health_tracker.hpp"
#include "rules/restart_policy.hpp"

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

TEST(health_tracker, force_down_skips_the_fall_count) {
  health_tracker t{2, 3};
  ASSERT_EQ(t.observe(true), std::nullopt);
  ASSERT_EQ(t.observe(true), health_status::healthy);
  EXPECT_EQ(t.force_down(), health_status::unhealthy);
  EXPECT_EQ(t.status(), health_status::unhealthy);
  EXPECT_EQ(t.streak(), 1u);               // one failed probe, not `fall`
  EXPECT_EQ(t.force_down(), std::nullopt); // already down: no second transition
  EXPECT_EQ(t.observe(false), std::nullopt);
  EXPECT_EQ(t.streak(), 3u);
}

TEST(health_tracker, recovery_after_force_down_still_needs_rise) {
  health_tracker t{2, 3};
  ASSERT_EQ(t.observe(true), std::nullopt);
  ASSERT_EQ(t.force_down(), health_status::unhealthy); // from unknown, too
  EXPECT_EQ(t.observe(true), std::nullopt);
  EXPECT_EQ(t.observe(true), health_status::healthy);
}

TEST(health_tracker, remembers_when_the_failing_streak_began) {
  // A manual clock: each probe's send time is given.
  auto at = [](std::int64_t ms) { return caf::timestamp{std::chrono::milliseconds{ms}}; };
  health_tracker t{1, 3};
  ASSERT_EQ(t.observe(true, at(0)), health_status::healthy);
  EXPECT_EQ(t.observe(false, at(500)), std::nullopt); // a blip
  EXPECT_EQ(t.observe(true, at(1'000)), std::nullopt);
  EXPECT_EQ(t.observe(false, at(1'500)), std::nullopt); // the outage's first failed probe
  EXPECT_EQ(t.observe(false, at(2'000)), std::nullopt);
  EXPECT_EQ(t.observe(false, at(2'500)), health_status::unhealthy);
  EXPECT_EQ(t.streak_since(), at(1'500)) << "the episode's first failed probe, not the blip's";
  EXPECT_EQ(t.observe(false, at(3'000)), std::nullopt);
  EXPECT_EQ(t.streak_since(), at(1'500)) << "the streak goes on";
  EXPECT_EQ(t.observe(true, at(3'500)), health_status::healthy);
  EXPECT_EQ(t.streak_since(), at(3'500));
}

TEST(health_tracker, a_forced_down_streak_begins_at_its_first_failed_probe) {
  auto at = [](std::int64_t ms) { return caf::timestamp{std::chrono::milliseconds{ms}}; };
  health_tracker t{1, 3};
  ASSERT_EQ(t.observe(true, at(0)), health_status::healthy);
  EXPECT_EQ(t.observe(false, at(400)), std::nullopt);
  // phi-accrual or a lost connection says down before `fall` failures.
  EXPECT_EQ(t.force_down(at(600)), health_status::unhealthy);
  EXPECT_EQ(t.streak_since(), at(400));
  health_tracker fresh{1, 3};
  ASSERT_EQ(fresh.observe(true, at(0)), health_status::healthy);
  EXPECT_EQ(fresh.force_down(at(700)), health_status::unhealthy);
  EXPECT_EQ(fresh.streak_since(), at(700));
}

namespace {

health_transition transition(const std::string& inst, health_status from, health_status to) {
  return health_transition{
      service_id{"web"},    instance_id{inst}, from, to, "connection refused", 2,
      caf::make_timestamp()};
}

const failure_rules::time_point t0{};

/// The one detection `c` holds, if it holds exactly one.
std::optional<failure_detection> only(const classification& c) {
  if (c.detections.size() != 1)
    return std::nullopt;
  return c.detections.front().detection;
}

} // namespace

TEST(failure_rules, primary_down_is_critical_standby_down_is_warning) {
  failure_rules rules;
  rules.set_primary("web", "web-a");
  auto d = only(
      rules.classify(transition("web-a", health_status::healthy, health_status::unhealthy), t0));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, failure_type::unreachable);
  EXPECT_EQ(d->level, severity::critical);
  EXPECT_TRUE(d->affects_primary);
  EXPECT_EQ(d->evidence, "primary web-a of web failed 2 consecutive probes (was healthy); last: "
                         "connection refused");
  auto s = only(
      rules.classify(transition("web-b", health_status::healthy, health_status::unhealthy), t0));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->level, severity::warning);
  EXPECT_FALSE(s->affects_primary);
}

TEST(failure_rules, deduplicates_until_recovered) {
  failure_rules rules;
  rules.set_primary("web", "web-a");
  ASSERT_TRUE(only(
      rules.classify(transition("web-a", health_status::healthy, health_status::unhealthy), t0)));
  EXPECT_FALSE(only(
      rules.classify(transition("web-a", health_status::unknown, health_status::unhealthy), t0)));
  auto rec = only(
      rules.classify(transition("web-a", health_status::unhealthy, health_status::healthy), t0));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->type, failure_type::recovered);
  EXPECT_EQ(rec->level, severity::info);
  EXPECT_TRUE(only(
      rules.classify(transition("web-a", health_status::healthy, health_status::unhealthy), t0)));
}

TEST(failure_rules, coming_up_is_not_news) {
  failure_rules rules;
  EXPECT_FALSE(only(
      rules.classify(transition("web-a", health_status::unknown, health_status::healthy), t0)));
}

namespace {

// A service with primary NAME-a in `primary_site` and standby NAME-b in dc2,
// probed every second.
config::service_settings service(const std::string& name, std::vector<std::string> depends_on = {},
                                 const std::string& primary_site = "dc1") {
  config::service_settings s;
  s.name = name;
  s.health_check.interval = 1s;
  s.depends_on = std::move(depends_on);
  s.instances.push_back(
      {name + "-a", "127.0.0.1", 1, primary_site, config::instance_role::primary, 100, {}});
  s.instances.push_back(
      {name + "-b", "127.0.0.1", 2, "dc2", config::instance_role::standby, 90, {}});
  return s;
}

health_transition down(const std::string& svc, const std::string& inst, std::uint32_t streak = 2) {
  return health_transition{service_id{svc},          instance_id{inst},    health_status::healthy,
                           health_status::unhealthy, "connection refused", streak,
                           caf::make_timestamp()};
}

health_transition up(const std::string& svc, const std::string& inst) {
  return health_transition{service_id{svc},        instance_id{inst}, health_status::unhealthy,
                           health_status::healthy, "HTTP 200",        1,
                           caf::make_timestamp()};
}

// Rules for `services`, each one's NAME-a its primary.
failure_rules rules_for(const std::vector<config::service_settings>& services,
                        config::detection_settings settings = {}) {
  failure_rules r{std::move(settings)};
  r.configure(services);
  for (const auto& s : services)
    r.set_primary(s.name, s.name + "-a", t0);
  return r;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

config::detection_settings with_site_disaster() {
  config::detection_settings s;
  s.site_disaster = config::site_disaster_settings{0.5, 10s, 2};
  return s;
}

} // namespace

TEST(dependency_tracker, the_deepest_failed_dependency_is_the_root_cause) {
  std::vector<config::service_settings> services{service("db"), service("cache", {"db"}),
                                                 service("app", {"cache"}), service("web")};
  dependency_tracker deps;
  deps.configure(services);
  for (const auto& s : services)
    deps.set_primary(s.name, s.name + "-a", t0);
  deps.observe(down("db", "db-a"), t0 + 1s);
  deps.observe(down("cache", "cache-a"), t0 + 2s);
  auto root = deps.root_cause_of("app", t0);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->service, "db");
  EXPECT_EQ(root->instance, "db-a");
  EXPECT_TRUE(root->still_down);
  EXPECT_EQ(deps.root_cause_of("cache", t0)->service, "db");
  EXPECT_FALSE(deps.root_cause_of("db", t0));
  EXPECT_FALSE(deps.root_cause_of("web", t0));
  EXPECT_EQ(deps.dependents_of("db"), (std::vector<std::string>{"cache", "app"}));

  // db is failed over at 5 s: its outage ended then.
  deps.set_primary("db", "db-b", t0 + 5s);
  EXPECT_FALSE(deps.primary_down("db"));
  root = deps.root_cause_of("app", t0 + 4s); // a failure that began during the outage
  ASSERT_TRUE(root);
  EXPECT_EQ(root->service, "db");
  EXPECT_FALSE(root->still_down);
  root = deps.root_cause_of("app", t0 + 6s); // one that began after it: only cache is down
  ASSERT_TRUE(root);
  EXPECT_EQ(root->service, "cache");
}

TEST(failure_rules, a_primary_failing_while_its_dependency_is_down_is_cascading) {
  auto rules = rules_for({service("db"), service("app", {"db"})});
  auto db = rules.classify(down("db", "db-a"), t0 + 1s);
  ASSERT_EQ(db.detections.size(), 1u);
  EXPECT_EQ(db.detections[0].detection.type, failure_type::unreachable);
  EXPECT_TRUE(db.detections[0].forward) << "the root is failed over normally";

  auto app = rules.classify(down("app", "app-a"), t0 + 2s);
  ASSERT_EQ(app.detections.size(), 1u);
  const auto& c = app.detections[0];
  EXPECT_EQ(c.detection.type, failure_type::cascading);
  EXPECT_EQ(c.detection.level, severity::critical);
  EXPECT_TRUE(c.detection.affects_primary);
  EXPECT_FALSE(c.forward) << "the coordinator must not fail app over for it";
  EXPECT_TRUE(has(c.detection.evidence,
                  "cascading: its dependency db is down (root cause: primary db-a of db): app is "
                  "not failed over for it, db is the service to fail over"))
      << c.detection.evidence;
  // A standby of a dependent failing meanwhile is an ordinary warning.
  auto standby = only(rules.classify(down("app", "app-b"), t0 + 3s));
  ASSERT_TRUE(standby);
  EXPECT_EQ(standby->type, failure_type::unreachable);
}

TEST(failure_rules, a_dependent_seen_after_its_dependency_was_failed_over_is_still_cascading) {
  auto rules = rules_for({service("db"), service("app", {"db"})});
  ASSERT_TRUE(only(rules.classify(down("db", "db-a"), t0 + 1s)));
  rules.set_primary("db", "db-b", t0 + 2s); // a fast failover completed
  // app-a's 2 failed probes (1 s apart) began while db-a was down.
  auto late = only(rules.classify(down("app", "app-a"), t0 + 3s));
  ASSERT_TRUE(late);
  EXPECT_EQ(late->type, failure_type::cascading);
  EXPECT_TRUE(has(late->evidence, "its dependency db was down when this began (root cause: "
                                  "primary db-a of db, since recovered or failed over)"))
      << late->evidence;
  // Long after db is back, app-a failing is app's own failure.
  ASSERT_TRUE(only(rules.classify(up("app", "app-a"), t0 + 30s)));
  auto own = only(rules.classify(down("app", "app-a"), t0 + 60s));
  ASSERT_TRUE(own);
  EXPECT_EQ(own->type, failure_type::unreachable);
}

TEST(failure_rules, a_dependent_that_failed_first_is_reclassified_when_its_dependency_fails) {
  auto rules = rules_for({service("db"), service("app", {"db"})}); // no cascade hold
  auto first = rules.classify(down("app", "app-a"), t0 + 1s);
  ASSERT_EQ(first.detections.size(), 1u);
  EXPECT_TRUE(first.detections[0].forward) << "without a hold, it is acted on at once";
  rules.persisted(first.detections[0].detection, detection_id{7});

  auto db = rules.classify(down("db", "db-a"), t0 + 3s);
  ASSERT_EQ(db.detections.size(), 2u);
  EXPECT_EQ(db.detections[0].detection.instance.value, "db-a");
  EXPECT_TRUE(db.detections[0].forward);
  const auto& again = db.detections[1];
  EXPECT_EQ(again.detection.type, failure_type::cascading);
  EXPECT_EQ(again.detection.instance.value, "app-a");
  EXPECT_FALSE(again.forward);
  EXPECT_TRUE(has(again.detection.evidence,
                  "root cause: primary db-a of db): app is not failed over for it, db is the "
                  "service to fail over; its unreachable detection #7 came first and was handed "
                  "to the coordinator: a failover of app may already have started"))
      << again.detection.evidence;
}

TEST(failure_rules, a_dependent_down_long_before_its_dependency_fails_is_not_reclassified) {
  auto rules = rules_for({service("db"), service("app", {"db"})});
  ASSERT_TRUE(only(rules.classify(down("app", "app-a"), t0)));
  auto db = rules.classify(down("db", "db-a"), t0 + 1h);
  ASSERT_EQ(db.detections.size(), 1u) << "app-a's hour-old failure was not caused by db";
  EXPECT_EQ(db.detections[0].detection.instance.value, "db-a");
}

TEST(failure_rules, a_cascade_hold_waits_for_the_dependency_then_hands_the_failure_on) {
  config::detection_settings settings;
  settings.cascade_hold = 5s;
  auto rules = rules_for({service("db"), service("app", {"db"})}, settings);
  auto held = rules.classify(down("app", "app-a"), t0);
  EXPECT_TRUE(held.detections.empty()) << "held: neither persisted nor acted on yet";
  ASSERT_TRUE(held.wake_after);
  EXPECT_EQ(*held.wake_after, caf::timespan{5s});
  EXPECT_EQ(rules.held(), 1u);

  auto db = rules.classify(down("db", "db-a"), t0 + 2s);
  ASSERT_EQ(db.detections.size(), 2u);
  EXPECT_FALSE(db.wake_after) << "db has no dependencies: not held";
  EXPECT_TRUE(db.detections[0].forward);
  EXPECT_EQ(db.detections[1].detection.type, failure_type::cascading);
  EXPECT_FALSE(db.detections[1].forward);
  EXPECT_TRUE(has(db.detections[1].detection.evidence, "it was held until db failed"));
  EXPECT_TRUE(rules.release_due(t0 + 5s).detections.empty());

  // No dependency fails within the hold: handed on when it ends.
  auto quiet = rules_for({service("db"), service("app", {"db"})}, settings);
  ASSERT_TRUE(quiet.classify(down("app", "app-a"), t0).detections.empty());
  EXPECT_TRUE(quiet.release_due(t0 + 4s).detections.empty());
  auto released = only(quiet.release_due(t0 + 5s));
  ASSERT_TRUE(released);
  EXPECT_EQ(released->type, failure_type::unreachable);
  EXPECT_TRUE(has(released->evidence,
                  "; held 5s for a failing dependency (db): none, handed to the coordinator"))
      << released->evidence;
}

TEST(failure_rules, flapping_is_reported_once_per_window) {
  auto rules = rules_for({service("web")}); // more than 6 transitions within 2m
  int flapping = 0;
  int forwarded_failures = 0;
  std::vector<int> flapping_at;
  // Down and up every 2 s for 10 minutes.
  for (int i = 0; i < 300; ++i) {
    auto now = t0 + std::chrono::seconds(2 * i);
    auto out = rules.classify(i % 2 == 0 ? down("web", "web-a") : up("web", "web-a"), now);
    for (const auto& c : out.detections) {
      if (c.detection.type == failure_type::flapping) {
        ++flapping;
        flapping_at.push_back(2 * i);
        EXPECT_EQ(c.detection.level, severity::warning);
        EXPECT_FALSE(c.forward);
      }
      if (c.detection.type == failure_type::unreachable) {
        forwarded_failures += c.forward ? 1 : 0;
        if (i > 6) {
          EXPECT_TRUE(has(c.detection.evidence, "; flapping: ")) << c.detection.evidence;
        }
      }
    }
  }
  EXPECT_EQ(flapping_at, (std::vector<int>{12, 132, 252, 372, 492}));
  EXPECT_EQ(flapping, 5);
  EXPECT_EQ(forwarded_failures, 150) << "still reported: the block period limits failovers";
}

TEST(failure_rules, transitions_seen_before_a_restart_count_towards_flapping) {
  auto flapping_after = [](int remembered) {
    auto rules = rules_for({service("web")}); // more than 6 transitions within 2m
    auto now = t0 + std::chrono::minutes(10);
    // Seen by an earlier switchyardd in the last minute (and one too old to count).
    rules.remember_transition("web", "web-a", now - std::chrono::minutes(5), now);
    for (int i = 0; i < remembered; ++i)
      rules.remember_transition("web", "web-a", now - std::chrono::seconds(60 - 2 * i), now);
    int flapping = 0;
    for (int i = 0; i < 2; ++i) // two more here: down, up
      for (const auto& c : rules
                               .classify(i % 2 == 0 ? down("web", "web-a") : up("web", "web-a"),
                                         now + std::chrono::seconds(2 * i))
                               .detections)
        flapping += c.detection.type == failure_type::flapping ? 1 : 0;
    return flapping;
  };
  EXPECT_EQ(flapping_after(5), 1) << "5 remembered + 2 seen: more than 6 within 2m";
  EXPECT_EQ(flapping_after(4), 0) << "4 + 2 is not more than 6 (the 5-minute-old one is outside)";
}

TEST(failure_rules, a_site_losing_most_instances_is_one_site_wide_detection_and_no_failovers) {
  // dc1 holds a-a, b-a and c-a (the primaries): 2 of 3 within 10 s is a disaster.
  auto rules = rules_for({service("a"), service("b"), service("c")}, with_site_disaster());
  std::vector<classified> all;
  auto keep = [&](classification c) {
    all.insert(all.end(), c.detections.begin(), c.detections.end());
    return c;
  };
  auto first = keep(rules.classify(down("a", "a-a"), t0));
  EXPECT_TRUE(first.detections.empty()) << "held for the site-disaster window";
  ASSERT_TRUE(first.wake_after);
  EXPECT_EQ(*first.wake_after, caf::timespan{10s});

  auto second = keep(rules.classify(down("b", "b-a"), t0 + 3s));
  ASSERT_EQ(second.detections.size(), 3u);
  const auto& site = second.detections[0].detection;
  EXPECT_EQ(site.type, failure_type::site_wide);
  EXPECT_EQ(site.level, severity::critical);
  EXPECT_TRUE(has(site.evidence, "site dc1 is down: 2 of its 3 instances turned unhealthy within "
                                 "10s (threshold 2: share 0.5, at least 2): a-a (primary of a), "
                                 "b-a (primary of b)"))
      << site.evidence;
  EXPECT_TRUE(has(site.evidence, "recommend a site switchover"));
  EXPECT_TRUE(rules.site_down("dc1"));
  for (int i : {1, 2}) {
    const auto& held = second.detections[static_cast<std::size_t>(i)];
    EXPECT_EQ(held.detection.type, failure_type::unreachable) << "persisted as what it is";
    EXPECT_TRUE(has(held.detection.evidence, "not acted on, site dc1 is down"))
        << held.detection.evidence;
  }
  // A primary failing in the site afterwards is recorded, not acted on.
  auto third = keep(rules.classify(down("c", "c-a"), t0 + 20s));
  ASSERT_EQ(third.detections.size(), 1u);
  EXPECT_TRUE(has(third.detections[0].detection.evidence, "not acted on: site dc1 is down"));
  keep(rules.release_due(t0 + 30s));

  int site_wide = 0;
  for (const auto& c : all) {
    site_wide += c.detection.type == failure_type::site_wide ? 1 : 0;
    EXPECT_FALSE(c.forward) << c.detection.evidence;
  }
  EXPECT_EQ(site_wide, 1);

  // Back below the threshold: recorded, and failures there are acted on again.
  EXPECT_EQ(rules.classify(up("a", "a-a"), t0 + 60s).detections.size(), 1u);
  auto back = rules.classify(up("b", "b-a"), t0 + 61s);
  ASSERT_EQ(back.detections.size(), 2u);
  EXPECT_EQ(back.detections[1].detection.type, failure_type::recovered);
  EXPECT_TRUE(has(back.detections[1].detection.evidence,
                  "site dc1 recovered: 1 of its 3 instances unhealthy, below the site-disaster "
                  "threshold 2"))
      << back.detections[1].detection.evidence;
  EXPECT_FALSE(rules.site_down("dc1"));
  EXPECT_TRUE(rules.classify(down("a", "a-a"), t0 + 100s).detections.empty());
  auto released = rules.release_due(t0 + 110s);
  ASSERT_EQ(released.detections.size(), 1u);
  EXPECT_TRUE(released.detections[0].forward);
}

TEST(failure_rules, with_site_disaster_a_single_primary_failure_is_handed_on_after_the_window) {
  auto rules = rules_for({service("a"), service("b"), service("c")}, with_site_disaster());
  ASSERT_TRUE(rules.classify(down("a", "a-a"), t0).detections.empty());
  EXPECT_TRUE(rules.release_due(t0 + 9s).detections.empty());
  auto released = rules.release_due(t0 + 10s);
  ASSERT_EQ(released.detections.size(), 1u);
  EXPECT_TRUE(released.detections[0].forward);
  EXPECT_TRUE(has(released.detections[0].detection.evidence,
                  "; held 10s for the site-disaster check of site dc1 (1 of its instances failed "
                  "within 10s, threshold 2): none, handed to the coordinator"))
      << released.detections[0].detection.evidence;
  // A standby is never held: its failure is no failover anyway.
  auto standby = rules.classify(down("b", "b-b"), t0 + 11s);
  ASSERT_EQ(standby.detections.size(), 1u);
  EXPECT_FALSE(standby.wake_after);
}

TEST(failure_rules, a_primary_back_before_its_hold_ends_is_recorded_not_acted_on) {
  auto rules = rules_for({service("a"), service("b")}, with_site_disaster());
  ASSERT_TRUE(rules.classify(down("a", "a-a"), t0).detections.empty());
  auto back = rules.classify(up("a", "a-a"), t0 + 4s);
  ASSERT_EQ(back.detections.size(), 2u);
  EXPECT_EQ(back.detections[0].detection.type, failure_type::unreachable);
  EXPECT_FALSE(back.detections[0].forward);
  EXPECT_TRUE(
      has(back.detections[0].detection.evidence, "recovered during its 10s hold: not acted on"));
  EXPECT_EQ(back.detections[1].detection.type, failure_type::recovered);
  EXPECT_TRUE(rules.release_due(t0 + 10s).detections.empty());
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

// What the failover coordinator decides from its own state without messaging
// (actors/coordinator_rules), on a manual clock.
#include <gtest/gtest.h>

#include "rules/coordinator_rules.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::actors;

namespace {

constexpr std::int64_t wall = 1'800'000'000'000; // the wall clock "now", unix epoch ms

switchover_record started_ago(std::chrono::milliseconds ago) {
  switchover_record row;
  row.started_at_ms = wall - ago.count();
  return row;
}

failure_detection detection_of(const std::string& service) {
  failure_detection d;
  d.service = service_id{service};
  d.instance = instance_id{service + "-a"};
  return d;
}

class coordinator_rules_test : public ::testing::Test {
protected:
  coordinator_rules_test() {
    svc.name = "web";
    svc.instances.push_back({"web-a", "h", 1, "dc1", config::instance_role::primary, 100, {}});
    svc.instances.push_back({"web-b", "h", 2, "dc1", config::instance_role::standby, 90, {}});
    view.settings = &svc;
    view.primary = "web-a";
    view.epoch = 4;
    view.health = {{"web-a", health_status::healthy}, {"web-b", health_status::healthy}};
  }

  failover_result succeeded() {
    failover_result r;
    r.service = service_id{"web"};
    r.switchover = switchover_id{7};
    r.success = true;
    r.new_primary = instance_id{"web-b"};
    r.new_epoch = epoch{5};
    return r;
  }

  config::service_settings svc;
  service_view view;
  coord_clock::time_point t0 = coord_clock::time_point{} + 5h; ///< this clock, manual
};

} // namespace

TEST_F(coordinator_rules_test, recent_starts_keeps_the_last_hour_across_a_restart) {
  // 10 and 59 minutes ago count; 61 minutes ago does not; a start ahead of the
  // wall clock (another host's clock) counts as now, not later.
  switchover_record_list rows{started_ago(10min), started_ago(59min), started_ago(61min),
                              started_ago(-10min)};
  auto starts = recent_starts(rows, t0, wall);
  EXPECT_EQ(starts.count(t0), 3u);
  EXPECT_EQ(starts.count(t0 + 2min), 2u); // the 59-minute-old one is gone
  EXPECT_EQ(starts.count(t0 + 51min), 1u);
  EXPECT_EQ(starts.count(t0 + 61min), 0u); // the one ahead, placed at t0, too
  EXPECT_EQ(recent_starts({}, t0, wall).count(t0), 0u);
}

TEST_F(coordinator_rules_test, held_back_selects_by_what_holds_them_but_the_excepted_service) {
  std::map<std::string, failure_detection> pending{{"a", detection_of("a")},
                                                   {"b", detection_of("b")},
                                                   {"c", detection_of("c")},
                                                   {"d", detection_of("d")}};
  std::map<std::string, hold> held_by{
      {"a", hold::concurrency}, {"b", hold::tilt}, {"c", hold::concurrency}};
  auto names = [](const std::vector<failure_detection>& ds) {
    std::vector<std::string> out;
    for (const auto& d : ds)
      out.push_back(d.service.value);
    return out;
  };
  EXPECT_EQ(names(held_back(pending, held_by, hold::concurrency, "c")),
            std::vector<std::string>{"a"});
  EXPECT_EQ(names(held_back(pending, held_by, hold::concurrency, {})),
            (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(names(held_back(pending, held_by, hold::tilt, {})), std::vector<std::string>{"b"});
  // Kept without a hold (no target yet): only a standby turning healthy retries it.
  EXPECT_EQ(names(held_back(pending, held_by, hold::none, {})), std::vector<std::string>{"d"});
  EXPECT_TRUE(held_back(pending, held_by, hold::reserved, {}).empty());
}

TEST_F(coordinator_rules_test, an_expiry_ends_only_the_window_it_was_armed_for) {
  maintenance_expiry service_wide{service_id{"web"}, instance_id{}, wall + 5'000};
  EXPECT_FALSE(expiry_ends_window(view, service_wide)); // no window (ended meanwhile)
  view.maintenance =
      maintenance_record{service_id{"web"}, instance_id{}, "upgrade", "ops", wall, wall + 5'000};
  EXPECT_TRUE(expiry_ends_window(view, service_wide));
  view.maintenance->until_ms = wall + 9'000; // replaced by a longer one
  EXPECT_FALSE(expiry_ends_window(view, service_wide));

  maintenance_expiry of_b{service_id{"web"}, instance_id{"web-b"}, wall + 7'000};
  EXPECT_FALSE(expiry_ends_window(view, of_b));
  view.instance_maintenance["web-b"] = maintenance_record{
      service_id{"web"}, instance_id{"web-b"}, "disk", "ops", wall, wall + 7'000};
  EXPECT_TRUE(expiry_ends_window(view, of_b));
  of_b.instance = instance_id{"web-a"};
  EXPECT_FALSE(expiry_ends_window(view, of_b));
}

TEST_F(coordinator_rules_test, no_candidate_is_looked_at_again_after_a_fall_at_least_2s) {
  config::health_check_settings check;
  check.interval = 1s;
  check.fall = 3;
  EXPECT_EQ(no_candidate_retry(check), caf::timespan{3s});
  check.interval = 200ms;
  check.fall = 2;
  EXPECT_EQ(no_candidate_retry(check), caf::timespan{2s});
}

TEST_F(coordinator_rules_test, a_successful_failover_moves_the_primary_and_rejoins_the_old_one) {
  view.in_flight = true;
  auto end = apply_switchover_end(view, succeeded(), "failover");
  EXPECT_FALSE(view.in_flight);
  EXPECT_EQ(view.primary, "web-b");
  EXPECT_EQ(view.epoch, 5u);
  EXPECT_EQ(end.decision, "failover completed: web-b is primary (epoch 5)");
  ASSERT_TRUE(end.rejoin); // web-a came back while it ran
  EXPECT_EQ(*end.rejoin, "web-a");
}

TEST_F(coordinator_rules_test, no_rejoin_after_a_planned_switchover_or_while_the_old_is_down) {
  view.in_flight = true;
  auto planned = apply_switchover_end(view, succeeded(), "switchover");
  EXPECT_EQ(view.primary, "web-b");
  EXPECT_EQ(planned.decision, "switchover completed: web-b is primary (epoch 5)");
  EXPECT_FALSE(planned.rejoin);

  view.primary = "web-a";
  view.epoch = 4;
  view.health["web-a"] = health_status::unhealthy;
  EXPECT_FALSE(apply_switchover_end(view, succeeded(), "failover").rejoin);
}

TEST_F(coordinator_rules_test, a_failed_switchover_keeps_the_primary_and_says_why) {
  view.in_flight = true;
  failover_result r;
  r.detail = "step promote failed";
  auto end = apply_switchover_end(view, r, "failover");
  EXPECT_FALSE(view.in_flight);
  EXPECT_EQ(view.primary, "web-a");
  EXPECT_EQ(view.epoch, 4u);
  EXPECT_EQ(end.decision, "failover failed: step promote failed");
  EXPECT_FALSE(end.rejoin);
  r.alert = "fencing failed: two primaries possible";
  EXPECT_EQ(apply_switchover_end(view, r, "switchover").decision,
            "switchover failed: ALERT: fencing failed: two primaries possible");
}

TEST_F(coordinator_rules_test, readiness_is_reported_when_it_changes_not_on_every_check) {
  std::optional<std::string> reported;
  EXPECT_EQ(readiness_change(reported, ""), readiness_news::none); // ready at first: quiet
  EXPECT_EQ(reported, std::string{});
  EXPECT_EQ(readiness_change(reported, ""), readiness_news::none);
  EXPECT_EQ(readiness_change(reported, "no healthy standby to promote"), readiness_news::not_ready);
  EXPECT_EQ(readiness_change(reported, "no healthy standby to promote"), readiness_news::none);
  EXPECT_EQ(readiness_change(reported, "maintenance"), readiness_news::not_ready);
  EXPECT_EQ(readiness_change(reported, ""), readiness_news::ready_again);
  EXPECT_EQ(reported, std::string{});

  std::optional<std::string> first;
  EXPECT_EQ(readiness_change(first, "no healthy standby to promote"), readiness_news::not_ready);
}

namespace {

maintenance_record window(const std::string& service, const std::string& instance,
                          std::int64_t since_ms, std::int64_t until_ms = 0) {
  return {service_id{service}, instance_id{instance}, "patching", "ops", since_ms, until_ms};
}

} // namespace

TEST(sync_windows, the_clusters_windows_are_taken_and_the_ones_it_ended_end) {
  std::map<window_key, maintenance_record> here{{{"web", ""}, window("web", "", 1)},
                                                {{"db", "db-b"}, window("db", "db-b", 2)}};
  // The cluster still has web's (unchanged), no longer db-b's, and a new one of cache.
  maintenance_list cluster{window("web", "", 1), window("cache", "", 3)};
  auto sync = sync_windows(here, cluster, {}, wall);
  EXPECT_EQ(sync.end, (std::vector<window_key>{{"db", "db-b"}}));
  ASSERT_EQ(sync.take.size(), 1u) << "web's is in force already, the same";
  EXPECT_EQ(sync.take[0].service.value, "cache");
  EXPECT_TRUE(sync.confirmed.empty());
}

TEST(sync_windows, a_changed_window_is_taken_again_and_an_expired_one_ignored) {
  std::map<window_key, maintenance_record> here{{{"web", ""}, window("web", "", 1, wall + 60'000)}};
  // Extended by the leader: taken again. db's ran out already: not taken.
  maintenance_list cluster{window("web", "", 1, wall + 120'000), window("db", "", 5, wall - 1)};
  auto sync = sync_windows(here, cluster, {}, wall);
  EXPECT_TRUE(sync.end.empty());
  ASSERT_EQ(sync.take.size(), 1u);
  EXPECT_EQ(sync.take[0].until_ms, wall + 120'000);
  // Expired here too: a window the cluster only has expired is ended.
  auto later = sync_windows(here, {window("web", "", 1, wall + 60'000)}, {}, wall + 60'000);
  EXPECT_EQ(later.end, (std::vector<window_key>{{"web", ""}}));
}

TEST(sync_windows, a_window_just_recorded_here_is_not_ended_by_an_older_list) {
  std::map<window_key, maintenance_record> here{{{"web", ""}, window("web", "", 7)}};
  std::set<window_key> unconfirmed{{"web", ""}};
  // A list read before the window was written: it lacks it. Not ended, not confirmed.
  auto older = sync_windows(here, {}, unconfirmed, wall);
  EXPECT_TRUE(older.end.empty()) << "an older list would release a held failover";
  EXPECT_TRUE(older.confirmed.empty());
  // The list that has it confirms it; after that, its absence ends it.
  auto newer = sync_windows(here, {window("web", "", 7)}, unconfirmed, wall);
  EXPECT_EQ(newer.confirmed, (std::vector<window_key>{{"web", ""}}));
  EXPECT_TRUE(newer.take.empty());
  auto ended = sync_windows(here, {}, {}, wall);
  EXPECT_EQ(ended.end, (std::vector<window_key>{{"web", ""}}));
}

TEST(coordinator_rules, a_returning_instance_or_a_second_writer_found_at_start_is_rejoined) {
  using hs = health_status;
  EXPECT_TRUE(
      wants_rejoin(hs::unhealthy, hs::healthy, "PONG, replica of 10.0.0.1:6379 (connected)"))
      << "back from a failure: whatever it says";
  EXPECT_TRUE(wants_rejoin(hs::unknown, hs::healthy, "PONG, master"))
      << "first seen as a redis master: a second writer left from before the start";
  EXPECT_TRUE(wants_rejoin(hs::unknown, hs::healthy, "primary, lsn 0/3000060, 0 standbys"));
  EXPECT_FALSE(wants_rejoin(hs::unknown, hs::healthy, "PONG, replica of 10.0.0.1:6379 (connected)"))
      << "a replica at start is left alone";
  EXPECT_FALSE(wants_rejoin(hs::unknown, hs::healthy, "standby, receive 0/3000060"));
  EXPECT_FALSE(wants_rejoin(hs::unknown, hs::healthy, "connected"));
  EXPECT_FALSE(wants_rejoin(hs::healthy, hs::unhealthy, "PONG, master"));
  EXPECT_FALSE(wants_rejoin(hs::unhealthy, hs::unhealthy, ""));
}

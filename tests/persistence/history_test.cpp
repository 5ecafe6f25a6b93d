// What the stored history says about outcomes: an outage's downtime starts at
// the episode's first failed probe (availability), and a failed DR drill is
// no pass for any of its services (LAST DRILL). Real SQLite files.
#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "persistence/availability.hpp"
#include "persistence/sqlite_store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace switchyard;
using namespace switchyard::persistence;

namespace {

caf::timestamp at(std::int64_t ms) {
  return caf::timestamp{std::chrono::milliseconds{ms}};
}

health_transition transition(const char* inst, health_status from, health_status to,
                             std::int64_t at_ms, std::int64_t since_ms = 0) {
  health_transition t{service_id{"web"}, instance_id{inst}, from, to, "", 2, at(at_ms)};
  t.since = at(since_ms);
  return t;
}

class history_test : public ::testing::Test {
protected:
  std::unique_ptr<sqlite_store> open() {
    auto db = sqlite_store::open((dir.path() / "switchyard.db").string());
    EXPECT_TRUE(db) << (db ? "" : describe(db.error()));
    if (!db)
      return nullptr;
    config::switchyard_config c;
    config::service_settings s;
    s.name = "web";
    s.instances.push_back(
        {"web-a", "127.0.0.1", 8081, "dc1", config::instance_role::primary, 100, {}});
    s.instances.push_back(
        {"web-b", "127.0.0.1", 8082, "dc2", config::instance_role::standby, 90, {}});
    c.services.push_back(s);
    EXPECT_TRUE((*db)->sync_config(c));
    return std::move(*db);
  }

  switchyard::testing::temp_dir dir;
};

} // namespace

TEST(entered_at, an_outage_starts_at_its_first_failed_probe) {
  // Probes 500 ms apart, fall 2: the first failed at 10,000, unhealthy at 10,500.
  EXPECT_EQ(entered_at_ms(transition("web-a", health_status::healthy, health_status::unhealthy,
                                     10'500, 10'000)),
            10'000);
  // Not known (a transition from an older switchyardd): the transition itself.
  EXPECT_EQ(
      entered_at_ms(transition("web-a", health_status::healthy, health_status::unhealthy, 10'500)),
      10'500);
  // A recovery counts from the transition (the outage is not shortened).
  EXPECT_EQ(entered_at_ms(transition("web-a", health_status::unhealthy, health_status::healthy,
                                     20'500, 20'000)),
            20'500);
  // A `since` after the transition makes no sense: ignored.
  EXPECT_EQ(entered_at_ms(transition("web-a", health_status::healthy, health_status::unhealthy,
                                     10'500, 11'000)),
            10'500);
}

TEST_F(history_test, the_downtime_of_an_outage_includes_the_time_to_detect_it) {
  auto db = open();
  ASSERT_TRUE(db);
  const std::int64_t now = 100 * 3'600'000LL;
  ASSERT_TRUE(db->record_health(
      transition("web-a", health_status::unknown, health_status::healthy, now - 7'200'000)));
  // First failed probe 60 s ago, unhealthy after the second, 500 ms later;
  // healthy again 30 s after the first failed probe.
  ASSERT_TRUE(db->record_health(transition("web-a", health_status::healthy,
                                           health_status::unhealthy, now - 59'500, now - 60'000)));
  ASSERT_TRUE(db->record_health(
      transition("web-a", health_status::unhealthy, health_status::healthy, now - 30'000)));
  auto rows = db->availability("web", now);
  ASSERT_TRUE(rows) << describe(rows.error());
  std::int64_t service_down = -1;
  std::int64_t instance_down = -1;
  for (const auto& r : *rows)
    if (r.window == "1h" && r.instance.value.empty())
      service_down = r.down_ms;
    else if (r.window == "1h" && r.instance.value == "web-a")
      instance_down = r.down_ms;
  EXPECT_EQ(service_down, 30'000) << "from the first failed probe, not from the transition";
  EXPECT_EQ(instance_down, 30'000);
}

TEST_F(history_test, a_failed_drill_is_no_pass_for_any_of_its_services) {
  auto db = open();
  ASSERT_TRUE(db);
  drill_report r;
  r.from_site = "dc1";
  r.to_site = "dc2";
  r.started_ms = 1'000;
  auto id = db->save_drill(r);
  ASSERT_TRUE(id) << describe(id.error());
  r.id = *id;
  r.finished_ms = 2'000;
  r.passed = false; // its failback failed
  drill_service_result s;
  s.service = service_id{"web"};
  s.passed = true; // its own switchover did
  r.services.push_back(s);
  ASSERT_TRUE(db->save_drill(r));
  auto last = db->last_drills();
  ASSERT_TRUE(last);
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ(last->front().drill, *id);
  EXPECT_FALSE(last->front().passed);
}

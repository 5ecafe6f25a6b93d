// The coordinator's decisions in the store (schema v5 `decisions`): written
// as given, read back newest first per service, shadow ones marked.
#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "persistence/sqlite_store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace switchyard;
using namespace switchyard::persistence;

namespace {

class decisions_test : public ::testing::Test {
protected:
  std::unique_ptr<sqlite_store> open() {
    auto db = sqlite_store::open((dir.path() / "sy.db").string());
    EXPECT_TRUE(db) << (db ? "" : describe(db.error()));
    return db ? std::move(*db) : nullptr;
  }

  switchyard::testing::temp_dir dir;
};

} // namespace

TEST_F(decisions_test, are_read_back_newest_first_per_service_with_their_shadow_mark) {
  auto db = open();
  ASSERT_TRUE(db);
  auto first = db->record_decision(
      {0, service_id{"web"}, detection_id{3}, "blocked", false, "TILT: timers were 3.2 s late", 0});
  ASSERT_TRUE(first) << describe(first.error());
  ASSERT_TRUE(db->record_decision(
      {0, service_id{"db"}, detection_id{4}, "ignore", false, "db-b is a standby", 1234}));
  ASSERT_TRUE(db->record_decision({0, service_id{"web"}, detection_id{5}, "would fail over", true,
                                   "primary web-a unreachable: promote web-b (2 steps)", 0}));

  auto web = db->list_decisions("web", 10);
  ASSERT_TRUE(web) << describe(web.error());
  ASSERT_EQ(web->size(), 2u);
  EXPECT_EQ((*web)[0].verdict, "would fail over");
  EXPECT_TRUE((*web)[0].shadow);
  EXPECT_EQ((*web)[0].detection.value, 5);
  EXPECT_EQ((*web)[0].reason, "primary web-a unreachable: promote web-b (2 steps)");
  EXPECT_GT((*web)[0].at_ms, 1234) << "0 is written as now";
  EXPECT_EQ((*web)[1].id, *first);
  EXPECT_FALSE((*web)[1].shadow);

  auto all = db->list_decisions("", 10);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[1].service.value, "db");
  EXPECT_EQ((*all)[1].at_ms, 1234);
  auto newest = db->list_decisions("", 1);
  ASSERT_TRUE(newest);
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ(newest->front().detection.value, 5);
}

TEST_F(decisions_test, a_decision_without_a_verdict_is_refused_by_the_schema) {
  auto db = open();
  ASSERT_TRUE(db);
  EXPECT_FALSE(db->record_decision({0, service_id{"web"}, detection_id{1}, "", false, "x", 0}));
  EXPECT_TRUE(db->list_decisions("web", 10)->empty());
}

// Schema v7: cluster mode journals the fencing epoch of the leader that ran
// each switchover and each step; a step run again by a successor (taken over)
// carries the successor's.
TEST_F(decisions_test, switchovers_and_steps_keep_the_leader_epoch_they_ran_under) {
  auto db = open();
  ASSERT_TRUE(db);
  switchover_start start{service_id{"web"},
                         switchover_kind::automatic_failover,
                         instance_id{"web-a"},
                         instance_id{"web-b"},
                         detection_id{0},
                         0,
                         epoch{2},
                         "test"};
  start.leader_epoch = 17;
  auto id = db->begin_switchover(start);
  ASSERT_TRUE(id) << describe(id.error());
  plan_step step;
  step.sequence = 1;
  step.name = "fence-a";
  ASSERT_TRUE(db->begin_step(step_start{*id, step, epoch{2}, 17}));
  // Run again (a restart while it ran) under a later leader's epoch.
  ASSERT_TRUE(db->begin_step(step_start{*id, step, epoch{2}, 23}));
  auto detail = db->get_switchover(*id);
  ASSERT_TRUE(detail) << describe(detail.error());
  EXPECT_EQ(detail->switchover.leader_epoch, 17);
  ASSERT_EQ(detail->steps.size(), 1u);
  EXPECT_EQ(detail->steps[0].leader_epoch, 23);
  auto plain = db->begin_switchover(
      switchover_start{service_id{"db"}, switchover_kind::automatic_failover, instance_id{"db-a"},
                       instance_id{"db-b"}, detection_id{0}, 0, epoch{2}, "single switchyardd"});
  ASSERT_TRUE(plain);
  EXPECT_EQ(db->get_switchover(*plain)->switchover.leader_epoch, 0);
}

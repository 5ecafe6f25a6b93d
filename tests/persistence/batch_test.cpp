// Group commits in the SQLite store on a real file: a batch is one
// transaction (invisible to other connections until it commits, then all of
// it, in order), a write that fails on its own leaves the rest of the batch
// alone, and a failed COMMIT writes nothing of the batch. Switchover ids
// reserved ahead, and a switchover opened with its first step.
#include <filesystem>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "messages/error.hpp"
#include "persistence/sqlite_store.hpp"
#include "persistence/switchover_ids.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::persistence;

namespace {

config::switchyard_config web_config() {
  config::switchyard_config c;
  config::service_settings s;
  s.name = "web";
  s.instances.push_back(
      {"web-a", "127.0.0.1", 8081, "dc1", config::instance_role::primary, 100, {}});
  s.instances.push_back(
      {"web-b", "127.0.0.1", 8082, "dc1", config::instance_role::standby, 90, {}});
  c.services.push_back(s);
  return c;
}

std::int64_t count(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::int64_t v = -1;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return v;
}

failure_detection detection(const std::string& evidence) {
  failure_detection d;
  d.service = service_id{"web"};
  d.instance = instance_id{"web-a"};
  d.type = failure_type::unreachable;
  d.level = severity::critical;
  d.affects_primary = true;
  d.evidence = evidence;
  return d;
}

plan_step fence_step(std::uint32_t seq) {
  return plan_step{seq, step_phase::fence, "fence", "exec", "true", instance_id{"web-a"}, 5s};
}

class batch_test : public ::testing::Test {
protected:
  void SetUp() override {
    auto opened = sqlite_store::open(path(), counter);
    ASSERT_TRUE(opened) << describe(opened.error());
    db = std::move(*opened);
    ASSERT_TRUE(db->sync_config(web_config()));
  }
  std::string path() const { return (dir.path() / "switchyard.db").string(); }

  switchyard::testing::temp_dir dir;
  /// switchyardd's counter: the runner reserves from it, every store opens with it.
  std::shared_ptr<switchover_ids> counter = std::make_shared<switchover_ids>();
  std::unique_ptr<sqlite_store> db;
};

} // namespace

TEST_F(batch_test, a_batch_is_one_transaction_in_order) {
  ASSERT_TRUE(db->begin_batch());
  EXPECT_TRUE(db->in_batch());
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto id = db->record_detection(detection("d" + std::to_string(i)));
    ASSERT_TRUE(id);
    ids.push_back(id->value);
  }
  auto so = db->begin_switchover(
      switchover_start{service_id{"web"}, switchover_kind::forced_failover, instance_id{"web-a"},
                       instance_id{"web-b"}, detection_id{ids.back()}, 1, epoch{2}, "test"});
  ASSERT_TRUE(so);
  auto step = db->begin_step(step_start{*so, fence_step(1), epoch{2}});
  ASSERT_TRUE(step);
  ASSERT_TRUE(db->finish_step(step_finish{*step, true, "ok"}));
  ASSERT_TRUE(
      db->finish_switchover(switchover_finish{*so, service_id{"web"}, switchover_status::completed,
                                              instance_id{"web-b"}, epoch{2}, "done"}));
  // Another connection sees nothing before the commit.
  EXPECT_EQ(count(path(), "SELECT count(*) FROM detections"), 0);
  EXPECT_EQ(count(path(), "SELECT count(*) FROM switchovers"), 0);
  ASSERT_TRUE(db->commit_batch());
  EXPECT_FALSE(db->in_batch());
  EXPECT_EQ(count(path(), "SELECT count(*) FROM detections"), 5);
  EXPECT_EQ(count(path(), "SELECT count(*) FROM switchover_steps WHERE status = 'done'"), 1);
  EXPECT_EQ(count(path(), "SELECT count(*) FROM services WHERE current_primary = 'web-b'"), 1);
  // In the order written.
  for (std::size_t i = 1; i < ids.size(); ++i)
    EXPECT_LT(ids[i - 1], ids[i]);
  auto rows = db->list_detections("web");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 5u);
  EXPECT_EQ(db->switchover_kind_of(*so), switchover_kind::forced_failover);
}

TEST_F(batch_test, a_write_failing_on_its_own_leaves_the_rest_of_the_batch) {
  ASSERT_TRUE(db->begin_batch());
  ASSERT_TRUE(db->record_detection(detection("kept")));
  // A step end of a step that does not exist, a switchover close of none:
  // both fail, write nothing, and the batch goes on.
  EXPECT_FALSE(db->finish_step(step_finish{step_id{999}, true, "x"}));
  EXPECT_FALSE(db->finish_switchover(switchover_finish{switchover_id{999}, service_id{"web"},
                                                       switchover_status::completed,
                                                       instance_id{"web-b"}, epoch{2}, "x"}));
  ASSERT_TRUE(db->record_detection(detection("kept too")));
  ASSERT_TRUE(db->commit_batch());
  EXPECT_EQ(count(path(), "SELECT count(*) FROM detections"), 2);
  EXPECT_EQ(count(path(), "SELECT count(*) FROM services WHERE current_primary = 'web-a'"), 1);
}

TEST_F(batch_test, a_failed_commit_writes_nothing_of_the_batch) {
  ASSERT_TRUE(db->record_detection(detection("before")));
  ASSERT_TRUE(db->begin_batch());
  // Deferred foreign keys are checked at COMMIT: a step of a switchover that
  // does not exist makes the commit itself fail.
  ASSERT_TRUE(db->exec_for_testing("PRAGMA defer_foreign_keys = ON"));
  ASSERT_TRUE(db->record_detection(detection("in the failed batch")));
  ASSERT_TRUE(db->begin_step(step_start{switchover_id{4242}, fence_step(1), epoch{2}}));
  auto committed = db->commit_batch();
  ASSERT_FALSE(committed);
  EXPECT_FALSE(db->in_batch());
  EXPECT_EQ(count(path(), "SELECT count(*) FROM detections"), 1);
  EXPECT_EQ(count(path(), "SELECT count(*) FROM switchover_steps"), 0);
  // The connection is usable again, with or without a batch.
  ASSERT_TRUE(db->record_detection(detection("after")));
  ASSERT_TRUE(db->begin_batch());
  ASSERT_TRUE(db->record_detection(detection("after, batched")));
  ASSERT_TRUE(db->commit_batch());
  EXPECT_EQ(count(path(), "SELECT count(*) FROM detections"), 3);
}

TEST_F(batch_test, rollback_and_misuse) {
  EXPECT_FALSE(db->commit_batch()) << "no batch open";
  ASSERT_TRUE(db->begin_batch());
  EXPECT_FALSE(db->begin_batch()) << "one batch at a time";
  EXPECT_TRUE(db->batch_intact());
  ASSERT_TRUE(db->record_detection(detection("rolled back")));
  db->rollback_batch();
  EXPECT_FALSE(db->in_batch());
  EXPECT_FALSE(db->batch_intact());
  EXPECT_EQ(count(path(), "SELECT count(*) FROM detections"), 0);
  db->rollback_batch(); // no-op
}

// -- switchover ids reserved ahead, a switchover opened with its first step ------

namespace {

switchover_start reserved_start(std::int64_t id) {
  switchover_start s{service_id{"web"},
                     switchover_kind::automatic_failover,
                     instance_id{"web-a"},
                     instance_id{"web-b"},
                     detection_id{0},
                     0,
                     epoch{2},
                     "test"};
  s.id = switchover_id{id};
  s.persist_plan = true;
  s.plan.service = service_id{"web"};
  s.plan.strategy = "active_passive";
  s.plan.secondary_targets = {instance_id{"web-b"}};
  s.plan.steps = {fence_step(1)};
  return s;
}

} // namespace

TEST_F(batch_test, a_reserved_switchover_opens_with_its_first_step_all_or_nothing) {
  auto id = counter->reserve();
  ASSERT_GT(id, 0) << "a store opened the file with this counter";
  auto opening = reserved_start(id);
  opening.decision = decision_record{0,
                                     service_id{"web"},
                                     detection_id{7},
                                     "fail over",
                                     false,
                                     "primary web-a unreachable: promote web-b",
                                     0};
  auto step =
      db->open_switchover_with_step(opening, step_start{switchover_id{0}, fence_step(1), epoch{2}});
  ASSERT_TRUE(step) << describe(step.error());
  EXPECT_EQ(count(path(), "SELECT max(id) FROM switchovers"), id);
  EXPECT_EQ(count(path(), "SELECT switchover_id FROM switchover_steps WHERE id = " +
                              std::to_string(step->value)),
            id);
  EXPECT_EQ(count(path(), "SELECT plan_version FROM switchovers"), 1) << "with its plan";
  auto decisions = db->list_decisions("web", 10);
  ASSERT_TRUE(decisions);
  ASSERT_EQ(decisions->size(), 1u) << "and the decision that started it";
  EXPECT_EQ(decisions->front().verdict, "fail over");
  EXPECT_EQ(decisions->front().detection.value, 7);
  EXPECT_GT(decisions->front().at_ms, 0) << "stamped when written";

  // The step cannot be written: neither is the switchover, nor its plan, and
  // the writes around it in the same group commit are kept.
  ASSERT_TRUE(db->exec_for_testing("CREATE TRIGGER no_steps BEFORE INSERT ON switchover_steps "
                                   "BEGIN SELECT RAISE(ABORT, 'injected'); END"));
  auto second = counter->reserve();
  EXPECT_GT(second, id);
  auto changed = reserved_start(second);
  changed.plan.steps.push_back(fence_step(2)); // a new plan version, were it saved
  changed.decision = opening.decision;         // a second decision row, were it written
  ASSERT_TRUE(db->begin_batch());
  ASSERT_TRUE(db->record_detection(detection("before")));
  EXPECT_FALSE(db->open_switchover_with_step(
      changed, step_start{switchover_id{0}, fence_step(1), epoch{2}}));
  EXPECT_TRUE(db->batch_intact());
  ASSERT_TRUE(db->record_detection(detection("after")));
  ASSERT_TRUE(db->commit_batch());
  EXPECT_EQ(count(path(), "SELECT count(*) FROM switchovers"), 1);
  EXPECT_EQ(count(path(), "SELECT count(*) FROM failover_plans"), 1);
  EXPECT_EQ(count(path(), "SELECT count(*) FROM decisions"), 1);
  EXPECT_EQ(count(path(), "SELECT count(*) FROM detections"), 2);
}

TEST_F(batch_test, switchover_ids_are_never_handed_out_twice) {
  auto first = db->begin_switchover(reserved_start(0));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->value, 1) << "a new database starts at 1";
  auto held = counter->reserve(); // reserved, not written yet
  EXPECT_EQ(held, 2);
  // The store is restarted meanwhile (same file): the held id stays taken.
  db.reset();
  auto reopened = sqlite_store::open(path(), counter);
  ASSERT_TRUE(reopened);
  db = std::move(*reopened);
  auto next = db->begin_switchover(reserved_start(0));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->value, 3);
  auto late = db->begin_switchover(reserved_start(held));
  ASSERT_TRUE(late) << "the held id is still free";
  EXPECT_EQ(late->value, held);
  EXPECT_EQ(count(path(), "SELECT count(DISTINCT id) FROM switchovers"), 3);

  // A file created anew under the same name starts again at 1.
  db.reset();
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(path() + suffix);
  auto fresh = sqlite_store::open(path(), counter);
  ASSERT_TRUE(fresh);
  db = std::move(*fresh);
  ASSERT_TRUE(db->sync_config(web_config()));
  auto again = db->begin_switchover(reserved_start(0));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->value, 1);
  // A counter no store has opened a database with reserves nothing yet.
  EXPECT_EQ(switchover_ids{}.reserve(), 0);
}

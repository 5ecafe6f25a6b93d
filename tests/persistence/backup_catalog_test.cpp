// The backup catalog: rows in, outcomes, verification, interrupted backups,
// and the merge of other replicas' replicated backups (ids mapped, parents too).
#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "persistence/sqlite_store.hpp"

using namespace switchyard;
using namespace switchyard::persistence;

namespace {

backup_record row(std::int64_t id, std::int64_t parent, backup_status status) {
  backup_record b;
  b.id = id;
  b.service = "cache";
  b.policy = "standard";
  b.tier = "cloud";
  b.destination = "exec";
  b.kind = parent == 0 ? backup_kind::full : backup_kind::incremental;
  b.parent = parent;
  b.status = status;
  b.artifact = "cache/cloud/sy-a-" + std::to_string(id) + ".zst";
  b.sha256 = "ab";
  b.started_ms = 100 * id;
  b.point_ms = 100 * id;
  return b;
}

std::unique_ptr<sqlite_store> open_memory() {
  auto db = sqlite_store::open(":memory:");
  EXPECT_TRUE(db) << describe(db.error());
  return std::move(*db);
}

} // namespace

TEST(backup_catalog, a_backup_is_running_until_its_outcome_and_a_stop_fails_it) {
  auto db = open_memory();
  auto id = db->begin_backup(row(0, 0, backup_status::running));
  ASSERT_TRUE(id);
  auto b = row(*id, 0, backup_status::complete);
  b.raw_bytes = 10;
  ASSERT_TRUE(db->finish_backup(b));
  ASSERT_TRUE(db->record_verification(*id, true, 777, ""));
  auto second = db->begin_backup(row(0, *id, backup_status::running));
  ASSERT_TRUE(second);
  auto n = db->fail_interrupted_backups("interrupted: stopped");
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1);
  auto all = db->list_backups("cache");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].status, backup_status::complete);
  EXPECT_EQ((*all)[0].verified_ms, 777);
  EXPECT_EQ((*all)[0].raw_bytes, 10u);
  EXPECT_EQ((*all)[1].status, backup_status::failed);
  EXPECT_EQ((*all)[1].error, "interrupted: stopped");
  EXPECT_FALSE(db->record_verification(99, false, 1, "x")) << "no backup #99";
}

TEST(backup_catalog, other_replicas_backups_are_merged_with_their_chains) {
  auto db = open_memory();
  // This replica's own backup first: its id 1 must not be confused with sy-a's 1.
  auto own = db->begin_backup(row(0, 0, backup_status::running));
  ASSERT_TRUE(own);
  ASSERT_TRUE(db->finish_backup(row(*own, 0, backup_status::complete)));
  replicated_backup_list from_a{{"sy-a", row(2, 1, backup_status::complete)},
                                {"sy-a", row(1, 0, backup_status::complete)},
                                {"sy-b", row(1, 0, backup_status::complete)}};
  ASSERT_TRUE(db->import_backups("sy-b", from_a)) << "sy-b's own entries are skipped";
  auto all = db->list_backups("cache");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  const auto base = (*all)[1];
  const auto inc = (*all)[2];
  EXPECT_EQ(base.origin, "sy-a");
  EXPECT_EQ(inc.origin, "sy-a");
  EXPECT_EQ(inc.parent, base.id) << "sy-a's parent #1 is this catalog's #" << base.id;
  EXPECT_EQ(base.status, backup_status::complete);
  EXPECT_TRUE((*all)[0].origin.empty());

  // Merged again with a verification and without the incremental (retention):
  // updated in place, the forgotten one deleted, the own one untouched.
  auto verified = row(1, 0, backup_status::complete);
  verified.verified_ms = 4'242;
  ASSERT_TRUE(db->import_backups("sy-b", {{"sy-a", verified}}));
  all = db->list_backups("cache");
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].id, base.id);
  EXPECT_EQ((*all)[1].verified_ms, 4'242);

  // Damage this replica found is not undone by the origin's view, and its
  // own later verification is kept.
  ASSERT_TRUE(db->record_verification(base.id, false, 5'000, "sha256 mismatch"));
  ASSERT_TRUE(db->import_backups("sy-b", {{"sy-a", verified}}));
  all = db->list_backups("cache");
  EXPECT_EQ((*all)[1].status, backup_status::corrupt);
  EXPECT_EQ((*all)[1].origin_id, 1);

  // An incremental whose parent was never replicated has a broken chain.
  ASSERT_TRUE(db->import_backups(
      "sy-b", {{"sy-a", verified}, {"sy-a", row(9, 8, backup_status::complete)}}));
  all = db->list_backups("cache");
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[2].parent, -1);
}

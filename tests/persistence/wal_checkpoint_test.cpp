// The WAL of the store's file is checkpointed by a thread of its own, not by
// the commit that crosses the threshold: the log stays short although the
// writing connection never checkpoints, and checkpoints are counted there.
#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "messages/error.hpp"
#include "persistence/sqlite_store.hpp"
#include "persistence/wal_checkpointer.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::persistence;

namespace {

config::switchyard_config one_service() {
  config::switchyard_config c;
  config::service_settings s;
  s.name = "web";
  s.instances.push_back(
      {"web-a", "127.0.0.1", 8081, "dc1", config::instance_role::primary, 100, {}});
  c.services.push_back(s);
  return c;
}

// Polls `done` until it holds or 10 s have passed.
template <class F> bool eventually(F done) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

} // namespace

TEST(wal_checkpoint, the_log_is_checkpointed_in_the_background_and_stays_short) {
  switchyard::testing::temp_dir dir;
  auto path = (dir.path() / "switchyard.db").string();
  constexpr int threshold = 16; // pages
  auto db = sqlite_store::open(path, nullptr, threshold);
  ASSERT_TRUE(db) << describe(db.error());
  ASSERT_TRUE((*db)->sync_config(one_service()));
  auto at = [](int i) { return caf::timestamp{std::chrono::milliseconds{1'000'000 + i}}; };
  // One commit each, as the store actor's writes are when nothing else waits.
  // Without any checkpoint the log would hold every one of them (over a page each).
  constexpr int commits = 1500;
  for (int i = 0; i < commits; ++i) {
    auto from = i % 2 == 0 ? health_status::healthy : health_status::unhealthy;
    auto to = i % 2 == 0 ? health_status::unhealthy : health_status::healthy;
    ASSERT_TRUE((*db)->record_health(
        health_transition{service_id{"web"}, instance_id{"web-a"}, from, to, "refused", 3, at(i)}));
  }
  EXPECT_TRUE(eventually([&] { return (*db)->background_checkpoints() > 0; }));
  auto wal = std::filesystem::path(path + "-wal");
  ASSERT_TRUE(std::filesystem::exists(wal));
  // The log is reused from its start once checkpointed: its file stays near
  // the threshold however many commits there were.
  EXPECT_LT(std::filesystem::file_size(wal), 256u * 4096u)
      << "the log grew with every commit: nothing checkpointed it";

  // The writing connection does not checkpoint (its hook is the
  // checkpointer's), so a second connection sees its own setting, not ours;
  // and every row is there for another reader.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT count(*) FROM health_events", -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), commits);
  sqlite3_finalize(st);
  sqlite3_close(raw);
}

TEST(wal_checkpoint, an_in_memory_database_has_no_checkpointer) {
  auto db = sqlite_store::open(":memory:");
  ASSERT_TRUE(db) << describe(db.error());
  ASSERT_TRUE((*db)->sync_config(one_service()));
  EXPECT_EQ((*db)->background_checkpoints(), 0u);
}

TEST(wal_checkpoint, a_checkpointer_of_a_missing_file_is_an_error_naming_it) {
  switchyard::testing::temp_dir dir;
  auto path = (dir.path() / "absent" / "switchyard.db").string();
  auto c = wal_checkpointer::start(path);
  ASSERT_FALSE(c);
  EXPECT_NE(describe(c.error()).find(path), std::string::npos) << describe(c.error());
}

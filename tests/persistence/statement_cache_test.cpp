// The statement cache of one connection: each SQL text prepared once, a reused
// statement starts fresh (reset, bindings cleared), and every statement is
// finalized before the connection closes. A real SQLite file.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include "messages/error.hpp"
#include "persistence/statement_cache.hpp"
#include "tests/support/temp_dir.hpp"

using namespace switchyard;
using namespace switchyard::persistence;

namespace {

// How many statements the connection has prepared and not finalized.
int live_statements(sqlite3* db) {
  int n = 0;
  for (sqlite3_stmt* s = sqlite3_next_stmt(db, nullptr); s != nullptr; s = sqlite3_next_stmt(db, s))
    ++n;
  return n;
}

class statement_cache_test : public ::testing::Test {
protected:
  void SetUp() override {
    auto path = (dir.path() / "cache.db").string();
    ASSERT_EQ(
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
        SQLITE_OK);
    ASSERT_TRUE(exec_sql(db, "CREATE TABLE t (value INTEGER); "
                             "INSERT INTO t VALUES (1), (2), (3)"));
  }
  void TearDown() override {
    if (db != nullptr) {
      EXPECT_EQ(sqlite3_close(db), SQLITE_OK) << "a statement was left unfinalized";
    }
  }

  switchyard::testing::temp_dir dir;
  sqlite3* db = nullptr;
};

} // namespace

TEST_F(statement_cache_test, prepares_each_text_once) {
  statement_cache cache{db};
  auto a = cache.get("SELECT value FROM t WHERE value = ?1");
  ASSERT_TRUE(a) << describe(a.error());
  // The key is copied: a lookup through a temporary's text finds it too.
  auto b = cache.get(std::string("SELECT value FROM t WHERE value = ?1"));
  ASSERT_TRUE(b);
  EXPECT_EQ(*a, *b);
  auto c = cache.get("SELECT count(*) FROM t");
  ASSERT_TRUE(c);
  EXPECT_NE(*a, *c);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(live_statements(db), 2);
}

TEST_F(statement_cache_test, a_reused_statement_has_no_bindings_left) {
  statement_cache cache{db};
  auto st = cache.get("SELECT ?1 IS NULL");
  ASSERT_TRUE(st);
  (*st)->bind(1, std::int64_t{42}); // bound, never run
  auto again = cache.get("SELECT ?1 IS NULL");
  ASSERT_TRUE(again);
  auto row = (*again)->step();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((*again)->column_int(0), 1);
  (*again)->reset();
}

TEST_F(statement_cache_test, a_reused_statement_starts_from_the_first_row) {
  statement_cache cache{db};
  auto st = cache.get("SELECT value FROM t ORDER BY value");
  ASSERT_TRUE(st);
  auto first = (*st)->step(); // its user stops after one row
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*st)->column_int(0), 1);
  auto again = cache.get("SELECT value FROM t ORDER BY value");
  ASSERT_TRUE(again);
  std::vector<std::int64_t> values;
  ASSERT_TRUE((*again)->each_row([&](const statement& s) { values.push_back(s.column_int(0)); }));
  EXPECT_EQ(values, (std::vector<std::int64_t>{1, 2, 3}));
}

TEST_F(statement_cache_test, a_text_that_does_not_prepare_is_an_error_and_not_cached) {
  statement_cache cache{db};
  auto st = cache.get("SELEKT 1");
  ASSERT_FALSE(st);
  EXPECT_NE(describe(st.error()).find("preparing 'SELEKT 1'"), std::string::npos)
      << describe(st.error());
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(live_statements(db), 0);
}

TEST_F(statement_cache_test, clear_and_destruction_finalize_every_statement) {
  {
    statement_cache cache{db};
    ASSERT_TRUE(cache.get("SELECT 1"));
    ASSERT_TRUE(cache.get("SELECT 2"));
    EXPECT_EQ(live_statements(db), 2);
    cache.clear();
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_EQ(live_statements(db), 0);
    // Usable again after clear(): prepared anew.
    ASSERT_TRUE(cache.get("SELECT 1"));
    EXPECT_EQ(live_statements(db), 1);
  }
  EXPECT_EQ(live_statements(db), 0); // and TearDown's sqlite3_close succeeds
}

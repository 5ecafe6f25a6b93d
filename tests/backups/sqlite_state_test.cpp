// switchyardd's own state on real files: a full copy from a read snapshot
// while writes go on, a chain of changesets, and the offline rebuild (which
// refuses chains that do not belong to their base, damaged bases and
// existing targets).
#include "backups/sqlite_state.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "messages/error.hpp"
#include "persistence/sqlite_store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace switchyard;
using namespace switchyard::backups;
namespace fs = std::filesystem;

namespace {

// A connection of the test's own (a second writer on the store's file, like
// the store's, with foreign keys on so ON DELETE CASCADE happens).
class raw_db {
public:
  explicit raw_db(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK)
      ADD_FAILURE() << "cannot open " << path;
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA foreign_keys=ON");
  }
  ~raw_db() { sqlite3_close(db_); }
  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;

  sqlite3* get() const { return db_; }
  void exec(const std::string& sql) {
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sql << ": " << sqlite3_errmsg(db_);
  }
  /// Every row of `sql`, its columns joined ("|", NULL as "<null>").
  std::vector<std::string> rows(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK)
        << sql << ": " << sqlite3_errmsg(db_);
    while (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
      std::string row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const auto* text = sqlite3_column_text(st, c);
        row += (c > 0 ? "|" : "") +
               (text != nullptr ? std::string(reinterpret_cast<const char*>(text)) : "<null>");
      }
      out.push_back(row);
    }
    sqlite3_finalize(st);
    return out;
  }
  std::string text(const std::string& sql) {
    auto r = rows(sql);
    return r.empty() ? "<none>" : r.front();
  }
  /// Every table's rows, by table name.
  std::map<std::string, std::vector<std::string>> dump() {
    std::map<std::string, std::vector<std::string>> all;
    for (const auto& t : rows("SELECT name FROM sqlite_master WHERE type = 'table'"))
      all[t] = rows("SELECT * FROM \"" + t + "\" ORDER BY 1");
    return all;
  }

private:
  sqlite3* db_ = nullptr;
};

config::switchyard_config two_instance_config() {
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

audit_record audit(const std::string& who, std::int64_t at) {
  return audit_record{0, who, "admin", "Switchover", std::string(300, 'x'), "ok", at};
}

std::string audit_sql(int id, const std::string& who) {
  return "INSERT INTO audit (id, principal, role, call, arguments, result, at_ms) VALUES (" +
         std::to_string(id) + ", '" + who + "', 'admin', 'Drain', '{}', 'ok', " +
         std::to_string(1000 + id) + ")";
}

/// The error's sy_errc name ("corrupt"), for comparisons.
std::string code(const caf::error& e) {
  return e.category() == caf::atom("switchyard") ? to_string(static_cast<sy_errc>(e.code()))
                                                 : caf::to_string(e);
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

class sqlite_state_test : public ::testing::Test {
protected:
  std::string at(const std::string& name) const { return (dir.path() / name).string(); }

  std::unique_ptr<persistence::sqlite_store> open_store(const std::string& path, int pages = 1000) {
    auto s = persistence::sqlite_store::open(path, nullptr, pages);
    EXPECT_TRUE(s) << (s ? "" : describe(s.error()));
    return s ? std::move(*s) : nullptr;
  }

  /// A store with services, instances, three audit records and a maintenance
  /// window; `who` names the audit records' principal.
  void make_state(const std::string& path, const std::string& who) {
    auto store = open_store(path);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->sync_config(two_instance_config()));
    for (std::int64_t i = 1; i <= 3; ++i)
      ASSERT_TRUE(store->record_audit(audit(who, i)));
    ASSERT_TRUE(store->set_maintenance(
        maintenance_record{service_id{"web"}, instance_id{"web-a"}, "patching", who, 5, 0}));
  }

  std::string full_copy(const std::string& db, const std::string& target) {
    auto snap = state_snapshot::open(db);
    EXPECT_TRUE(snap) << (snap ? "" : describe(snap.error()));
    if (!snap)
      return "";
    auto size = (*snap)->copy_to(target);
    EXPECT_TRUE(size) << (size ? "" : describe(size.error()));
    return target;
  }

  /// base at T0 (recorder started at T0), cs1 and cs2 taken after writes
  /// through `live`, the connection recorded.
  void make_chain() {
    make_state(live_path, "alice");
    live = std::make_unique<raw_db>(live_path);
    auto rec = change_recorder::start(live->get());
    ASSERT_TRUE(rec) << describe(rec.error());
    base = full_copy(live_path, at("base.db"));
    for (int id = 4; id <= 6; ++id)
      live->exec(audit_sql(id, "bob"));
    live->exec("UPDATE maintenance SET reason = 'kernel' WHERE instance = 'web-a'");
    auto c1 = (*rec)->take();
    ASSERT_TRUE(c1) << describe(c1.error());
    EXPECT_FALSE(c1->empty());
    write_bytes(cs1 = at("cs1"), *c1);
    live->exec("UPDATE audit SET result = 'denied' WHERE id = 4"); // a row of cs1
    live->exec("DELETE FROM audit WHERE id IN (1, 5)");            // one of base, one of cs1
    live->exec(audit_sql(7, "carol"));
    live->exec("DELETE FROM maintenance");
    live->exec("DELETE FROM services WHERE name = 'web'"); // cascades to both instances
    auto c2 = (*rec)->take();
    ASSERT_TRUE(c2) << describe(c2.error());
    write_bytes(cs2 = at("cs2"), *c2);
  }

  void expect_nothing_at(const std::string& target) {
    EXPECT_FALSE(fs::exists(target));
    EXPECT_FALSE(fs::exists(target + ".partial"));
    EXPECT_FALSE(fs::exists(target + ".partial-journal"));
  }

  switchyard::testing::temp_dir dir;
  std::string live_path = at("switchyard.db");
  std::unique_ptr<raw_db> live;
  std::string base, cs1, cs2;
};

} // namespace

TEST_F(sqlite_state_test, the_copy_holds_the_database_as_of_open_not_later_writes) {
  // Small checkpoint threshold: the store's checkpointer runs while the
  // snapshot holds its read transaction.
  auto store = open_store(live_path, 4);
  ASSERT_TRUE(store);
  for (std::int64_t i = 0; i < 40; ++i)
    ASSERT_TRUE(store->record_audit(audit("before", i)));
  auto snap = state_snapshot::open(live_path);
  ASSERT_TRUE(snap) << describe(snap.error());
  for (std::int64_t i = 0; i < 40; ++i)
    ASSERT_TRUE(store->record_audit(audit("after", i)));
  caf::expected<std::uint64_t> size{0};
  std::thread copier([&] { size = (*snap)->copy_to(at("full.db")); });
  for (std::int64_t i = 0; i < 40; ++i) // while the copy runs
    ASSERT_TRUE(store->record_audit(audit("during", i)));
  copier.join();
  ASSERT_TRUE(size) << describe(size.error());
  EXPECT_EQ(*size, fs::file_size(at("full.db")));
  EXPECT_FALSE(fs::exists(at("full.db.partial")));
  EXPECT_FALSE(fs::exists(at("full.db-wal")));
  EXPECT_FALSE(fs::exists(at("full.db-journal")));
  EXPECT_EQ(raw_db(live_path).text("SELECT count(*) FROM audit"), "120");

  // Only the main file, somewhere else: it must be complete on its own.
  fs::create_directories(dir.path() / "elsewhere");
  fs::copy_file(at("full.db"), at("elsewhere/only.db"));
  std::ifstream header(at("elsewhere/only.db"), std::ios::binary);
  std::string bytes(20, '\0');
  header.read(bytes.data(), 20);
  EXPECT_EQ(bytes.substr(0, 15), "SQLite format 3");
  EXPECT_EQ(bytes[18], 1) << "file format says WAL: a -wal file would be part of the copy";
  EXPECT_EQ(bytes[19], 1);
  raw_db copy(at("elsewhere/only.db"));
  EXPECT_EQ(copy.text("SELECT count(*) FROM audit"), "40");
  EXPECT_EQ(copy.text("SELECT count(*) FROM audit WHERE principal <> 'before'"), "0");
  EXPECT_EQ(copy.text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(copy.text("PRAGMA journal_mode"), "delete");
}

TEST_F(sqlite_state_test, a_snapshot_of_a_missing_file_fails_naming_it) {
  auto snap = state_snapshot::open(at("nowhere.db"));
  ASSERT_FALSE(snap);
  EXPECT_EQ(code(snap.error()), "backup_failed");
  EXPECT_NE(describe(snap.error()).find(at("nowhere.db")), std::string::npos)
      << describe(snap.error());
  EXPECT_FALSE(fs::exists(at("nowhere.db")));
}

TEST_F(sqlite_state_test, a_base_and_its_changesets_rebuild_the_live_database) {
  ASSERT_NO_FATAL_FAILURE(make_chain());
  auto report = rebuild_database(base, {cs1, cs2}, at("rebuilt.db"));
  ASSERT_TRUE(report) << describe(report.error());
  EXPECT_EQ(report->changesets, 2u);
  // cs1: 3 inserts + 1 update; cs2: update, 2 deletes, insert, delete of the
  // window, of the service and (cascaded) of its 2 instances.
  EXPECT_EQ(report->changes, 12u);
  EXPECT_EQ(report->integrity, "ok");
  EXPECT_FALSE(fs::exists(at("rebuilt.db.partial")));
  raw_db rebuilt(at("rebuilt.db"));
  auto expected = live->dump();
  EXPECT_EQ(rebuilt.dump(), expected);
  EXPECT_GE(expected.size(), 14u); // every table of the schema was compared
  EXPECT_EQ(rebuilt.text("SELECT group_concat(id) FROM audit"), "2,3,4,6,7");
  EXPECT_EQ(rebuilt.text("SELECT result FROM audit WHERE id = 4"), "denied");
  EXPECT_EQ(rebuilt.text("SELECT count(*) FROM instances"), "0");
  EXPECT_EQ(rebuilt.text("PRAGMA journal_mode"), "delete");
  // The base stayed as it was.
  EXPECT_EQ(raw_db(base).text("SELECT count(*) FROM audit"), "3");
}

TEST_F(sqlite_state_test, a_chain_out_of_order_or_incomplete_is_refused_naming_the_changeset) {
  ASSERT_NO_FATAL_FAILURE(make_chain());
  for (const auto& chain : {std::vector<std::string>{cs2, cs1}, std::vector<std::string>{cs2}}) {
    auto report = rebuild_database(base, chain, at("rebuilt.db"));
    ASSERT_FALSE(report);
    EXPECT_EQ(code(report.error()), "corrupt");
    auto text = describe(report.error());
    EXPECT_NE(text.find("changeset " + cs2 + " (1 of"), std::string::npos) << text;
    EXPECT_NE(text.find("does not apply"), std::string::npos) << text;
    expect_nothing_at(at("rebuilt.db"));
  }
}

TEST_F(sqlite_state_test, a_chain_from_another_base_is_refused) {
  ASSERT_NO_FATAL_FAILURE(make_chain());
  fs::create_directories(dir.path() / "other");
  auto other_db = at("other/switchyard.db");
  make_state(other_db, "mallory");
  { // ids 4..6 are taken in that database
    raw_db other(other_db);
    for (int id = 4; id <= 6; ++id)
      other.exec(audit_sql(id, "mallory"));
  }
  auto other_base = full_copy(other_db, at("other-base.db"));
  auto report = rebuild_database(other_base, {cs1, cs2}, at("rebuilt.db"));
  ASSERT_FALSE(report);
  EXPECT_EQ(code(report.error()), "corrupt");
  auto text = describe(report.error());
  EXPECT_NE(text.find("changeset " + cs1 + " (1 of 2)"), std::string::npos) << text;
  EXPECT_NE(text.find("in audit"), std::string::npos) << text;
  expect_nothing_at(at("rebuilt.db"));
}

TEST_F(sqlite_state_test, a_damaged_base_is_refused_as_corrupt) {
  ASSERT_NO_FATAL_FAILURE(make_chain());
  auto damaged = at("damaged.db");
  fs::copy_file(base, damaged);
  std::int64_t root = 0;
  std::int64_t page = 0;
  {
    raw_db b(base);
    root = std::stoll(b.text("SELECT rootpage FROM sqlite_master WHERE name = 'audit'"));
    page = std::stoll(b.text("PRAGMA page_size"));
  }
  ASSERT_GT(root, 1); // a page in the middle, not the header
  {
    std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp((root - 1) * page);
    std::string junk(static_cast<std::size_t>(page), '\xA5');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    ASSERT_TRUE(f.good());
  }
  EXPECT_EQ(fs::file_size(damaged), fs::file_size(base));
  auto report = rebuild_database(damaged, {cs1, cs2}, at("rebuilt.db"));
  ASSERT_FALSE(report);
  EXPECT_EQ(code(report.error()), "corrupt") << describe(report.error());
  EXPECT_NE(describe(report.error()).find(damaged), std::string::npos) << describe(report.error());
  expect_nothing_at(at("rebuilt.db"));
}

TEST_F(sqlite_state_test, an_existing_target_is_not_overwritten) {
  ASSERT_NO_FATAL_FAILURE(make_chain());
  auto target = dir.write("rebuilt.db", "keep me");
  auto report = rebuild_database(base, {cs1, cs2}, target);
  ASSERT_FALSE(report);
  EXPECT_EQ(code(report.error()), "backup_failed");
  EXPECT_NE(describe(report.error()).find("exists"), std::string::npos) << describe(report.error());
  std::ifstream in(target);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "keep me");
  EXPECT_FALSE(fs::exists(target + ".partial"));
}

TEST_F(sqlite_state_test, nothing_recorded_is_an_empty_changeset_that_rebuild_accepts) {
  make_state(live_path, "alice");
  raw_db mine(live_path);
  auto rec = change_recorder::start(mine.get());
  ASSERT_TRUE(rec) << describe(rec.error());
  auto none = (*rec)->take();
  ASSERT_TRUE(none) << describe(none.error());
  EXPECT_TRUE(none->empty());
  // Only writes through the recorded connection are seen.
  {
    auto store = open_store(live_path);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->record_audit(audit("elsewhere", 9)));
  }
  auto still = (*rec)->take();
  ASSERT_TRUE(still);
  EXPECT_TRUE(still->empty());
  // Not inside a transaction: those writes might still be rolled back.
  mine.exec("BEGIN");
  mine.exec(audit_sql(50, "bob"));
  auto open_txn = (*rec)->take();
  ASSERT_FALSE(open_txn);
  EXPECT_EQ(code(open_txn.error()), "backup_failed");
  mine.exec("COMMIT");
  auto some = (*rec)->take();
  ASSERT_TRUE(some) << describe(some.error());
  EXPECT_FALSE(some->empty());

  auto copy = full_copy(live_path, at("base.db"));
  write_bytes(at("empty.cs"), *none);
  auto report = rebuild_database(copy, {at("empty.cs")}, at("rebuilt.db"));
  ASSERT_TRUE(report) << describe(report.error());
  EXPECT_EQ(report->changesets, 1u);
  EXPECT_EQ(report->changes, 0u);
  EXPECT_EQ(raw_db(at("rebuilt.db")).dump(), mine.dump());
}

// The session extension records only tables with a PRIMARY KEY: every table
// of switchyardd's schema must have one, or its rows would be missing from
// every rebuilt database.
TEST_F(sqlite_state_test, every_table_of_the_schema_has_a_primary_key) {
  make_state(live_path, "alice");
  raw_db db(live_path);
  auto tables = db.rows("SELECT name FROM sqlite_master WHERE type = 'table'");
  EXPECT_GE(tables.size(), 14u);
  for (const auto& t : tables)
    EXPECT_NE(db.text("SELECT count(*) FROM pragma_table_info('" + t + "') WHERE pk > 0"), "0")
        << "table " << t << " has no PRIMARY KEY: its changes are not recorded";
}

TEST_F(sqlite_state_test, a_table_without_a_primary_key_is_missing_from_a_rebuild) {
  raw_db db(live_path);
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("CREATE TABLE keyed (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE unkeyed (v TEXT)");
  auto copy = full_copy(live_path, at("base.db"));
  auto rec = change_recorder::start(db.get());
  ASSERT_TRUE(rec);
  db.exec("INSERT INTO keyed (v) VALUES ('a'); INSERT INTO unkeyed (v) VALUES ('a')");
  auto cs = (*rec)->take();
  ASSERT_TRUE(cs);
  write_bytes(at("cs"), *cs);
  auto report = rebuild_database(copy, {at("cs")}, at("rebuilt.db"));
  ASSERT_TRUE(report) << describe(report.error());
  EXPECT_EQ(report->changes, 1u);
  raw_db rebuilt(at("rebuilt.db"));
  EXPECT_EQ(rebuilt.text("SELECT count(*) FROM keyed"), "1");
  EXPECT_EQ(rebuilt.text("SELECT count(*) FROM unkeyed"), "0"); // lost: no key, not recorded
}

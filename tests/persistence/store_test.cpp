// The SQLite store on real files: migrations, topology, the switchover
// journal, detections, plan versions, and failures that must surface.
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "messages/error.hpp"
#include "persistence/availability.hpp"
#include "persistence/migrations.hpp"
#include "persistence/sqlite_store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::persistence;

namespace {

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

failover_plan sample_plan() {
  failover_plan p;
  p.service = service_id{"web"};
  p.strategy = "active_passive";
  p.primary_targets = {instance_id{"web-a"}};
  p.secondary_targets = {instance_id{"web-b"}};
  p.triggers = {"primary web-a unreachable"};
  p.rollback_criteria = {"a fence step fails"};
  p.steps.push_back(
      plan_step{1, step_phase::fence, "fence-a", "exec", "true", instance_id{"web-a"}, 5s});
  p.steps.push_back(
      plan_step{2, step_phase::promote, "promote-b", "exec", "true", instance_id{"web-b"}, 5s});
  p.estimated_failover_time = 13s;
  p.rto = 30s;
  return p;
}

// A second, raw connection to the same file: to look at or tamper with what
// the store wrote, the way another process would.
class raw_db {
public:
  explicit raw_db(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK)
      ADD_FAILURE() << "cannot open " << path;
  }
  ~raw_db() { sqlite3_close(db_); }
  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;

  /// Runs SQL; returns "" on success, else SQLite's message.
  std::string exec(const std::string& sql) {
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK)
      return "";
    return sqlite3_errmsg(db_);
  }
  /// The first column of the first row as an integer (-1 if there is none).
  std::int64_t integer(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    std::int64_t v = -1;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
  }
  bool has_table(const std::string& name) {
    return integer("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '" + name +
                   "'") == 1;
  }

private:
  sqlite3* db_ = nullptr;
};

// Brings a fresh file to schema version `v` the way an older switchyardd did.
void migrate_to(raw_db& raw, std::size_t v) {
  for (std::size_t i = 0; i < v; ++i)
    ASSERT_EQ(raw.exec(migrations()[i]), "") << "migration " << i + 1;
  ASSERT_EQ(raw.exec("PRAGMA user_version = " + std::to_string(v)), "");
}

class store_test : public ::testing::Test {
protected:
  std::string path() const { return (dir.path() / "switchyard.db").string(); }

  std::unique_ptr<sqlite_store> open() {
    auto db = sqlite_store::open(path());
    EXPECT_TRUE(db) << (db ? "" : describe(db.error()));
    return db ? std::move(*db) : nullptr;
  }

  // Runs a failover journal for web from `from` to `to` and returns its id.
  switchover_id journal(sqlite_store& db, const std::string& from, const std::string& to,
                        std::uint64_t e, bool succeed) {
    auto id = db.begin_switchover(
        switchover_start{service_id{"web"}, switchover_kind::automatic_failover, instance_id{from},
                         instance_id{to}, detection_id{0}, 1, epoch{e}, "test"});
    EXPECT_TRUE(id);
    auto plan = sample_plan();
    for (const auto& st : plan.steps) {
      auto sid = db.begin_step(step_start{*id, st, epoch{e}});
      EXPECT_TRUE(sid);
      bool ok = succeed || st.sequence == 1;
      EXPECT_TRUE(db.finish_step(step_finish{*sid, ok, ok ? "exit 0 in 1 ms" : "exit 1 in 1 ms"}));
      if (!ok)
        break;
    }
    EXPECT_TRUE(db.finish_switchover(switchover_finish{
        *id, service_id{"web"}, succeed ? switchover_status::completed : switchover_status::failed,
        instance_id{succeed ? to : from}, epoch{e}, succeed ? "done" : "step 2 failed"}));
    return *id;
  }

  switchyard::testing::temp_dir dir;
};

} // namespace

TEST_F(store_test, migrates_an_empty_file_to_the_current_schema_in_wal_mode) {
  auto db = open();
  ASSERT_TRUE(db);
  EXPECT_EQ(db->schema_version(), static_cast<int>(migrations().size()));
  EXPECT_EQ(db->journal_mode(), "wal");
  db.reset();
  auto again = open(); // idempotent
  ASSERT_TRUE(again);
  EXPECT_EQ(again->schema_version(), static_cast<int>(migrations().size()));
  raw_db raw{path()};
  for (const char* table : {"services", "instances", "failover_plans", "switchovers",
                            "switchover_steps", "detections", "health_events", "audit"})
    EXPECT_TRUE(raw.has_table(table)) << table;
}

TEST_F(store_test, refuses_a_database_from_a_newer_switchyardd) {
  {
    raw_db raw{path()};
    ASSERT_EQ(raw.exec("PRAGMA user_version = 99"), "");
  }
  auto db = sqlite_store::open(path());
  ASSERT_FALSE(db);
  EXPECT_EQ(
      describe(db.error()),
      "storage_failure: database schema version 99 is newer than this switchyardd supports (" +
          std::to_string(migrations().size()) + "); use a newer switchyardd or another data_dir (" +
          path() + ")");
  raw_db raw{path()};
  EXPECT_EQ(raw.integer("PRAGMA user_version"), 99);
  EXPECT_FALSE(raw.has_table("services")) << "nothing may be written to a newer database";
}

TEST_F(store_test, open_failure_names_the_path) {
  auto bad = (dir.path() / "missing" / "x.db").string();
  auto db = sqlite_store::open(bad);
  ASSERT_FALSE(db);
  auto text = describe(db.error());
  EXPECT_EQ(text,
            "storage_failure: opening the database: unable to open database file (" + bad + ")");
}

TEST_F(store_test, a_file_that_is_not_a_database_is_refused_by_name) {
  std::ofstream(path()) << std::string(4096, 'x');
  auto db = sqlite_store::open(path());
  ASSERT_FALSE(db);
  auto text = describe(db.error());
  EXPECT_EQ(text.rfind("storage_failure: ", 0), 0u) << text;
  EXPECT_NE(text.find("file is not a database"), std::string::npos) << text;
  EXPECT_NE(text.find("(" + path() + ")"), std::string::npos) << text;
}

TEST_F(store_test, concurrent_opens_of_a_fresh_file_all_succeed) {
  // Each opener re-reads the schema version under the write lock, so none of
  // them applies a migration another one has just applied.
  for (int round = 0; round < 5; ++round) {
    auto file = (dir.path() / ("race-" + std::to_string(round) + ".db")).string();
    std::vector<std::string> errors(4);
    std::vector<std::thread> openers;
    for (std::size_t i = 0; i < errors.size(); ++i)
      openers.emplace_back([&, i] {
        auto db = sqlite_store::open(file);
        if (!db)
          errors[i] = describe(db.error());
        else if ((*db)->schema_version() != static_cast<int>(migrations().size()))
          errors[i] = "schema version " + std::to_string((*db)->schema_version());
      });
    for (auto& t : openers)
      t.join();
    for (const auto& e : errors)
      EXPECT_EQ(e, "") << "round " << round;
  }
}

TEST_F(store_test, a_failed_migration_is_rolled_back_entirely) {
  {
    raw_db raw{path()};
    migrate_to(raw, 2);
    // Valid before v3 added the CHECK: v3's copy of the rows must fail on it.
    ASSERT_EQ(raw.exec("INSERT INTO health_events (service, instance, from_status, to_status, "
                       "reason, at_ms) VALUES ('web', 'web-a', 'bogus', 'healthy', '', 1)"),
              "");
  }
  auto db = sqlite_store::open(path());
  ASSERT_FALSE(db);
  auto text = describe(db.error());
  EXPECT_EQ(text.rfind("storage_failure: migrating the schema to version 3: CHECK constraint "
                       "failed",
                       0),
            0u)
      << text;
  EXPECT_NE(text.find("(" + path() + ")"), std::string::npos) << text;
  raw_db raw{path()};
  EXPECT_EQ(raw.integer("PRAGMA user_version"), 2);
  EXPECT_FALSE(raw.has_table("health_events_v3")) << "the table v3 created before failing";
  EXPECT_EQ(raw.integer("SELECT count(*) FROM health_events"), 1);
}

TEST_F(store_test, upgrading_from_v2_keeps_health_history_and_adds_its_checks) {
  {
    raw_db raw{path()};
    migrate_to(raw, 2);
    ASSERT_EQ(raw.exec("INSERT INTO health_events (service, instance, from_status, to_status, "
                       "reason, at_ms) VALUES ('web', 'web-a', 'unknown', 'healthy', 'HTTP 200', "
                       "1), ('web', 'web-a', 'healthy', 'unhealthy', 'refused', 2)"),
              "");
  }
  auto db = open();
  ASSERT_TRUE(db);
  EXPECT_EQ(db->schema_version(), static_cast<int>(migrations().size()));
  EXPECT_EQ(*db->count_health_events("web-a"), 2);
  raw_db raw{path()};
  EXPECT_EQ(raw.integer("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = "
                        "'health_events_by_instance'"),
            1);
  EXPECT_NE(raw.exec("INSERT INTO health_events (service, instance, from_status, to_status, "
                     "reason, at_ms) VALUES ('web', 'web-a', 'up', 'down', '', 3)"),
            "");
}

TEST_F(store_test, enum_columns_reject_names_the_code_does_not_know) {
  auto db = open();
  raw_db raw{path()};
  EXPECT_EQ(raw.exec("INSERT INTO switchovers (service, kind, status, from_instance, to_instance, "
                     "epoch, started_at_ms) VALUES ('web', 'sideways', 'running', 'a', 'b', 2, 1)"),
            "CHECK constraint failed: kind IN ('automatic_failover', 'planned_switchover', "
            "'forced_failover')");
  EXPECT_NE(raw.exec("INSERT INTO detections (service, instance, type, severity, "
                     "affects_primary, evidence, at_ms) VALUES ('web', 'a', 'unreachable', "
                     "'catastrophic', 1, '', 1)"),
            "");
}

TEST_F(store_test, a_step_of_an_unknown_switchover_is_refused) {
  auto db = open(); // foreign_keys=ON is per connection: this proves the store sets it
  auto sid = db->begin_step(step_start{switchover_id{999}, sample_plan().steps[0], epoch{2}});
  ASSERT_FALSE(sid);
  EXPECT_NE(describe(sid.error()).find("FOREIGN KEY constraint failed"), std::string::npos)
      << describe(sid.error());
}

TEST_F(store_test, new_service_gets_the_configured_primary_and_epoch_1) {
  auto db = open();
  ASSERT_TRUE(db->sync_config(two_instance_config()));
  auto topo = db->load_topology();
  ASSERT_TRUE(topo);
  ASSERT_EQ(topo->size(), 1u);
  EXPECT_EQ(topo->front().service.value, "web");
  EXPECT_EQ(topo->front().primary.value, "web-a");
  EXPECT_EQ(topo->front().current_epoch.value, 1u);
}

TEST_F(store_test, journal_round_trip_updates_topology_and_survives_reopen) {
  auto db = open();
  ASSERT_TRUE(db->sync_config(two_instance_config()));
  auto id = journal(*db, "web-a", "web-b", 2, true);
  db.reset();

  auto again = open();
  ASSERT_TRUE(again->sync_config(two_instance_config())) << "a known service keeps its primary";
  auto topo = again->load_topology();
  ASSERT_TRUE(topo);
  EXPECT_EQ(topo->front().primary.value, "web-b");
  EXPECT_EQ(topo->front().current_epoch.value, 2u);
  EXPECT_GT(topo->front().last_failover.time_since_epoch().count(), 0);

  auto list = again->list_switchovers("web");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().id, id);
  EXPECT_EQ(list->front().status, switchover_status::completed);
  EXPECT_EQ(list->front().from.value, "web-a");
  EXPECT_EQ(list->front().to.value, "web-b");
  EXPECT_EQ(list->front().detail, "done");
  EXPECT_GT(list->front().finished_at_ms, 0);

  auto steps = again->list_steps(id);
  ASSERT_TRUE(steps);
  ASSERT_EQ(steps->size(), 2u);
  EXPECT_EQ((*steps)[0].name, "fence-a");
  EXPECT_EQ((*steps)[0].phase, step_phase::fence);
  EXPECT_EQ((*steps)[1].name, "promote-b");
  EXPECT_EQ((*steps)[1].target.value, "web-b");
  for (const auto& st : *steps) {
    EXPECT_EQ(st.status, step_status::done);
    EXPECT_EQ(st.detail, "exit 0 in 1 ms");
    EXPECT_EQ(st.run_epoch.value, 2u);
  }
}

TEST_F(store_test, a_step_is_started_before_it_is_finished) {
  auto db = open();
  ASSERT_TRUE(db->sync_config(two_instance_config()));
  auto id = db->begin_switchover(
      switchover_start{service_id{"web"}, switchover_kind::automatic_failover, instance_id{"web-a"},
                       instance_id{"web-b"}, detection_id{0}, 1, epoch{2}, ""});
  ASSERT_TRUE(id);
  auto sid = db->begin_step(step_start{*id, sample_plan().steps[0], epoch{2}});
  ASSERT_TRUE(sid);
  auto steps = db->list_steps(*id);
  ASSERT_TRUE(steps);
  ASSERT_EQ(steps->size(), 1u);
  EXPECT_EQ(steps->front().status, step_status::started) << "the row exists before the action runs";
  EXPECT_EQ(steps->front().finished_at_ms, 0);
  EXPECT_EQ(db->list_switchovers()->front().status, switchover_status::running);
  ASSERT_TRUE(db->finish_step(step_finish{*sid, true, "ok"}));
  EXPECT_FALSE(db->finish_step(step_finish{*sid, true, "twice"})) << "a step finishes once";
}

TEST_F(store_test, failed_switchover_leaves_topology_unchanged) {
  auto db = open();
  ASSERT_TRUE(db->sync_config(two_instance_config()));
  auto id = journal(*db, "web-a", "web-b", 2, false);
  auto topo = db->load_topology();
  EXPECT_EQ(topo->front().primary.value, "web-a");
  EXPECT_EQ(topo->front().current_epoch.value, 1u);
  auto steps = db->list_steps(id);
  ASSERT_EQ(steps->size(), 2u);
  EXPECT_EQ((*steps)[1].status, step_status::failed);
  EXPECT_EQ(db->list_switchovers()->front().status, switchover_status::failed);
}

TEST_F(store_test, unknown_ids_are_errors) {
  auto db = open();
  auto step = db->finish_step(step_finish{step_id{42}, true, ""});
  ASSERT_FALSE(step);
  EXPECT_EQ(describe(step.error()),
            "storage_failure: step #42 is not a started step of any switchover");
  auto sw = db->finish_switchover(switchover_finish{switchover_id{7}, service_id{"web"},
                                                    switchover_status::completed,
                                                    instance_id{"web-b"}, epoch{2}, ""});
  ASSERT_FALSE(sw);
  EXPECT_EQ(describe(sw.error()), "storage_failure: switchover #7 is not a running switchover");
}

TEST_F(store_test, removed_primary_falls_back_to_the_configured_one_under_a_new_epoch) {
  auto db = open();
  ASSERT_TRUE(db->sync_config(two_instance_config()));
  journal(*db, "web-a", "web-b", 2, true);
  auto cfg = two_instance_config();
  cfg.services[0].instances[1].name = "web-c"; // web-b is gone from the file
  ASSERT_TRUE(db->sync_config(cfg));
  auto topo = db->load_topology();
  EXPECT_EQ(topo->front().primary.value, "web-a");
  EXPECT_EQ(topo->front().current_epoch.value, 3u);
}

TEST_F(store_test, removed_services_are_not_loaded_but_keep_their_history) {
  auto db = open();
  ASSERT_TRUE(db->sync_config(two_instance_config()));
  journal(*db, "web-a", "web-b", 2, true);
  config::switchyard_config empty;
  ASSERT_TRUE(db->sync_config(empty));
  EXPECT_TRUE(db->load_topology()->empty());
  EXPECT_EQ(db->list_switchovers("web")->size(), 1u);
}

TEST_F(store_test, detections_round_trip_newest_first) {
  auto db = open();
  failure_detection d;
  d.service = service_id{"web"};
  d.instance = instance_id{"web-a"};
  d.type = failure_type::unreachable;
  d.level = severity::critical;
  d.affects_primary = true;
  d.evidence = "primary web-a failed 2 probes";
  d.at = caf::timestamp{std::chrono::milliseconds{1'700'000'000'000}};
  auto first = db->record_detection(d);
  ASSERT_TRUE(first);
  d.type = failure_type::recovered;
  d.level = severity::info;
  auto second = db->record_detection(d);
  ASSERT_TRUE(second);
  EXPECT_GT(second->value, first->value);
  auto rows = db->list_detections("web");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(rows->front().id, *second);
  EXPECT_EQ(rows->back().type, failure_type::unreachable);
  EXPECT_EQ(rows->back().level, severity::critical);
  EXPECT_TRUE(rows->back().affects_primary);
  EXPECT_EQ(rows->back().evidence, "primary web-a failed 2 probes");
  EXPECT_EQ(rows->back().at_ms, 1'700'000'000'000);
  EXPECT_TRUE(db->list_detections("other")->empty());
}

TEST_F(store_test, plans_are_versioned_only_when_they_change) {
  auto db = open();
  auto plan = sample_plan();
  EXPECT_EQ(*db->save_plan(plan), 1);
  EXPECT_EQ(*db->save_plan(plan), 1);
  plan.steps[1].timeout = 7s;
  EXPECT_EQ(*db->save_plan(plan), 2);
  auto latest = db->latest_plan("web");
  ASSERT_TRUE(latest && *latest);
  EXPECT_EQ((*latest)->version, 2);
  EXPECT_NE((*latest)->json.find("\"timeout_ms\": 7000"), std::string::npos) << (*latest)->json;
  EXPECT_NE((*latest)->json.find("\"secondary_targets\": [\n    \"web-b\"\n  ]"),
            std::string::npos);
  EXPECT_FALSE(*db->latest_plan("none"));
}

TEST_F(store_test, health_events_are_recorded) {
  auto db = open();
  health_transition t{service_id{"web"},      instance_id{"web-a"}, health_status::unknown,
                      health_status::healthy, "HTTP 200",           2,
                      caf::make_timestamp()};
  ASSERT_TRUE(db->record_health(t));
  ASSERT_TRUE(db->record_health(t));
  EXPECT_EQ(*db->count_health_events("web-a"), 2);
  EXPECT_EQ(*db->count_health_events("web-b"), 0);
}

TEST_F(store_test, a_failed_write_is_an_error_naming_the_database) {
  auto db = open();
  ASSERT_TRUE(db->sync_config(two_instance_config()));
  db.reset();
  // Another connection holds the write lock: our write must fail, not pretend.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto again = open();
  ASSERT_TRUE(again);
  sqlite3_exec(other, "PRAGMA busy_timeout=0", nullptr, nullptr, nullptr);
  auto start = std::chrono::steady_clock::now();
  auto id = again->begin_switchover(
      switchover_start{service_id{"web"}, switchover_kind::automatic_failover, instance_id{"web-a"},
                       instance_id{"web-b"}, detection_id{0}, 1, epoch{2}, ""});
  auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(id) << "a write under someone else's lock must fail after busy_timeout";
  EXPECT_GE(waited, 4s) << "busy_timeout=5000: the store waits for the lock before giving up";
  EXPECT_LT(waited, 10s);
  auto text = describe(id.error());
  EXPECT_NE(text.find("storage_failure: executing 'INSERT INTO switchovers"), std::string::npos)
      << text;
  EXPECT_NE(text.find("database is locked"), std::string::npos) << text;
  EXPECT_NE(text.find(path()), std::string::npos) << text;
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
}

TEST_F(store_test, interrupted_switchovers_come_back_with_their_steps_and_plan) {
  auto db = open();
  ASSERT_TRUE(db->sync_config(two_instance_config()));
  auto done = journal(*db, "web-a", "web-b", 2, true);
  auto plan = sample_plan();
  auto version = db->save_plan(plan);
  ASSERT_TRUE(version);
  auto id = db->begin_switchover(
      switchover_start{service_id{"web"}, switchover_kind::automatic_failover, instance_id{"web-b"},
                       instance_id{"web-a"}, detection_id{0}, *version, epoch{3}, ""});
  ASSERT_TRUE(id);
  auto first = db->begin_step(step_start{*id, plan.steps[0], epoch{3}});
  ASSERT_TRUE(first);
  db.reset(); // switchyardd "crashes" here, step 1 started but not done

  auto again = open();
  auto list = again->interrupted_switchovers();
  ASSERT_TRUE(list) << describe(list.error());
  ASSERT_EQ(list->size(), 1u) << "finished switchovers are not listed";
  const auto& i = list->front();
  EXPECT_EQ(i.switchover.id, *id);
  ASSERT_TRUE(i.has_plan) << i.problem;
  EXPECT_EQ(plan_to_json(i.plan), plan_to_json(plan)) << "the plan reads back exactly";
  ASSERT_EQ(i.steps.size(), 1u);
  EXPECT_EQ(i.steps[0].status, step_status::started);

  // The started step is re-run under the same row; a finished one cannot be.
  auto rerun = again->begin_step(step_start{*id, plan.steps[0], epoch{3}});
  ASSERT_TRUE(rerun) << describe(rerun.error());
  EXPECT_EQ(*rerun, *first);
  ASSERT_TRUE(again->finish_step(step_finish{*rerun, true, "exit 0"}));
  auto twice = again->begin_step(step_start{*id, plan.steps[0], epoch{3}});
  ASSERT_FALSE(twice);
  EXPECT_NE(describe(twice.error()).find("is already journaled as finished"), std::string::npos)
      << describe(twice.error());
  auto steps = again->list_steps(*id);
  ASSERT_EQ(steps->size(), 1u);
  EXPECT_EQ(steps->front().detail, "exit 0");
  EXPECT_NE(done, *id);
}

TEST_F(store_test, an_interrupted_switchover_without_its_plan_says_so) {
  auto db = open();
  auto id = db->begin_switchover(
      switchover_start{service_id{"web"}, switchover_kind::automatic_failover, instance_id{"web-a"},
                       instance_id{"web-b"}, detection_id{0}, 42, epoch{2}, ""});
  ASSERT_TRUE(id);
  auto list = db->interrupted_switchovers();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_FALSE(list->front().has_plan);
  EXPECT_EQ(list->front().problem, "its plan (version 42) is not in the database");
}

TEST_F(store_test, audit_trail_round_trip_newest_first) {
  auto db = open();
  ASSERT_TRUE(db->record_audit(
      audit_record{0, "ops-alice", "operator", "Switchover", "{\"service\":\"web\"}", "ok", 1000}));
  auto second = db->record_audit(
      audit_record{0, "(anonymous)", "", "Switchover", "{}", "UNAUTHENTICATED: missing token", 0});
  ASSERT_TRUE(second);
  auto rows = db->list_audit(10);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(rows->front().id, *second);
  EXPECT_EQ(rows->front().result, "UNAUTHENTICATED: missing token");
  EXPECT_GT(rows->front().at_ms, 1000) << "0 means now";
  EXPECT_EQ(rows->back().principal, "ops-alice");
  EXPECT_EQ(rows->back().arguments, "{\"service\":\"web\"}");
  EXPECT_EQ(db->list_audit(1)->size(), 1u);
}

TEST_F(store_test, get_switchover_returns_its_steps_or_a_clear_error) {
  auto db = open();
  ASSERT_TRUE(db->sync_config(two_instance_config()));
  auto id = journal(*db, "web-a", "web-b", 2, true);
  auto d = db->get_switchover(id);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->switchover.id, id);
  EXPECT_EQ(d->steps.size(), 2u);
  auto missing = db->get_switchover(switchover_id{99});
  ASSERT_FALSE(missing);
  EXPECT_EQ(describe(missing.error()), "unknown_switchover: no switchover #99");
}

TEST_F(store_test, sync_config_replaces_the_instances_of_a_service) {
  auto db = open();
  ASSERT_TRUE(db->sync_config(two_instance_config()));
  auto cfg = two_instance_config();
  cfg.services[0].instances[1] = {"web-c", "10.0.0.3", 9090, "dc2", config::instance_role::standby,
                                  50,      {}};
  cfg.services[0].instances[0].port = 8181;
  ASSERT_TRUE(db->sync_config(cfg));
  raw_db raw{path()};
  EXPECT_EQ(raw.integer("SELECT count(*) FROM instances WHERE name = 'web-b'"), 0)
      << "an instance removed from the file is deleted";
  EXPECT_EQ(raw.integer("SELECT port FROM instances WHERE name = 'web-a'"), 8181);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM instances WHERE name = 'web-c' AND service = 'web' "
                        "AND host = '10.0.0.3' AND site = 'dc2' AND role = 'standby' AND "
                        "priority = 50"),
            1);
  auto topo = db->load_topology();
  ASSERT_TRUE(topo);
  EXPECT_EQ(topo->front().primary.value, "web-a");
  EXPECT_EQ(topo->front().current_epoch.value, 1u) << "the primary is still configured";
}

TEST_F(store_test, switchovers_are_listed_newest_first_and_filtered_by_service) {
  auto db = open();
  auto start = [&](const std::string& service) {
    auto id = db->begin_switchover(switchover_start{
        service_id{service}, switchover_kind::planned_switchover, instance_id{service + "-a"},
        instance_id{service + "-b"}, detection_id{0}, 1, epoch{2}, "drill"});
    EXPECT_TRUE(id);
    return *id;
  };
  auto web1 = start("web");
  auto db1 = start("db");
  auto web2 = start("web");
  auto all = db->list_switchovers();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, web2);
  EXPECT_EQ((*all)[1].id, db1);
  EXPECT_EQ((*all)[2].id, web1);
  EXPECT_EQ((*all)[0].kind, switchover_kind::planned_switchover);
  EXPECT_EQ((*all)[0].reason, "drill");
  EXPECT_GT((*all)[0].started_at_ms, 0);
  auto web = db->list_switchovers("web");
  ASSERT_TRUE(web);
  ASSERT_EQ(web->size(), 2u);
  EXPECT_EQ(web->front().id, web2);
  EXPECT_EQ(web->back().id, web1);
}

TEST_F(store_test, plan_json_has_every_field_in_a_fixed_order) {
  auto plan = sample_plan();
  plan.rpo = 1500ms;
  EXPECT_EQ(plan_to_json(plan), R"({
  "service": "web",
  "strategy": "active_passive",
  "primary_targets": [
    "web-a"
  ],
  "secondary_targets": [
    "web-b"
  ],
  "triggers": [
    "primary web-a unreachable"
  ],
  "rollback_criteria": [
    "a fence step fails"
  ],
  "steps": [
    {
      "sequence": 1,
      "phase": "fence",
      "name": "fence-a",
      "action_kind": "exec",
      "description": "true",
      "target": "web-a",
      "timeout_ms": 5000
    },
    {
      "sequence": 2,
      "phase": "promote",
      "name": "promote-b",
      "action_kind": "exec",
      "description": "true",
      "target": "web-b",
      "timeout_ms": 5000
    }
  ],
  "estimated_failover_time_ms": 13000,
  "rto_ms": 30000,
  "rpo_ms": 1500
})");
}

TEST_F(store_test, plan_json_survives_invalid_utf8_in_a_command) {
  auto plan = sample_plan();
  plan.steps[0].description = "echo \xff\xfe";
  auto db = open();
  auto version = db->save_plan(plan); // nlohmann would throw on this without a handler
  ASSERT_TRUE(version) << describe(version.error());
  auto latest = db->latest_plan("web");
  ASSERT_TRUE(latest && *latest);
  EXPECT_NE((*latest)->json.find("\"description\": \"echo \xEF\xBF\xBD\xEF\xBF\xBD\""),
            std::string::npos)
      << (*latest)->json;
}

TEST_F(store_test, maintenance_windows_are_set_replaced_listed_and_cleared) {
  auto db = open();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->set_maintenance(
      {service_id{"web"}, instance_id{}, "storage upgrade", "alice", 1'000, 0}));
  ASSERT_TRUE(db->set_maintenance(
      {service_id{"web"}, instance_id{"web-b"}, "patching", "bob", 1'000, 5'000}));
  // Replacing a window keeps one row per (service, instance).
  ASSERT_TRUE(db->set_maintenance(
      {service_id{"web"}, instance_id{"web-b"}, "patching again", "bob", 2'000, 9'000}));
  auto rows = db->list_maintenance(3'000);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].instance.value, "");
  EXPECT_EQ((*rows)[0].reason, "storage upgrade");
  EXPECT_EQ((*rows)[1].reason, "patching again");
  EXPECT_EQ((*rows)[1].until_ms, 9'000);
  // Expired windows are gone when listed after their end.
  rows = db->list_maintenance(9'000);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].principal, "alice");
  ASSERT_TRUE(db->clear_maintenance({service_id{"web"}, instance_id{}}));
  ASSERT_TRUE(db->clear_maintenance({service_id{"web"}, instance_id{"nope"}})) << "idempotent";
  EXPECT_TRUE(db->list_maintenance(0)->empty());
  // An empty reason is refused by the schema, not stored.
  EXPECT_FALSE(db->set_maintenance({service_id{"web"}, instance_id{}, "", "alice", 1, 0}));
}

TEST_F(store_test, v4_keeps_the_step_journal_of_a_v3_database_and_accepts_demote_steps) {
  {
    raw_db raw{path()};
    for (int v = 0; v < 3; ++v)
      ASSERT_EQ(raw.exec(migrations()[static_cast<std::size_t>(v)]), "");
    ASSERT_EQ(raw.exec("PRAGMA user_version = 3"), "");
    ASSERT_EQ(raw.exec("INSERT INTO switchovers (id, service, kind, status, from_instance, "
                       "to_instance, epoch, started_at_ms) VALUES (7, 'web', "
                       "'automatic_failover', 'completed', 'web-a', 'web-b', 2, 1)"),
              "");
    ASSERT_EQ(raw.exec("INSERT INTO switchover_steps (switchover_id, sequence, phase, name, "
                       "action_kind, target, epoch, status, started_at_ms) VALUES (7, 1, "
                       "'fence', 'fence-old', 'exec', 'web-a', 2, 'done', 1)"),
              "");
  }
  auto db = open();
  ASSERT_TRUE(db);
  EXPECT_EQ(db->schema_version(), static_cast<int>(migrations().size()));
  auto steps = db->list_steps(switchover_id{7});
  ASSERT_TRUE(steps);
  ASSERT_EQ(steps->size(), 1u);
  EXPECT_EQ((*steps)[0].name, "fence-old");
  EXPECT_EQ((*steps)[0].phase, step_phase::fence);

  auto id = db->begin_switchover(
      switchover_start{service_id{"web"}, switchover_kind::planned_switchover, instance_id{"web-b"},
                       instance_id{"web-a"}, detection_id{0}, 1, epoch{3}, "test"});
  ASSERT_TRUE(id);
  plan_step demote;
  demote.sequence = 1;
  demote.phase = step_phase::demote;
  demote.name = "drain";
  demote.action_kind = "exec";
  demote.target = instance_id{"web-b"};
  auto sid = db->begin_step(step_start{*id, demote, epoch{3}});
  ASSERT_TRUE(sid) << describe(sid.error());
  auto read = db->list_steps(*id);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->front().phase, step_phase::demote);
}

TEST_F(store_test, v5_keeps_the_detections_of_a_v4_database_and_accepts_the_new_types) {
  {
    raw_db raw{path()};
    for (int v = 0; v < 4; ++v)
      ASSERT_EQ(raw.exec(migrations()[static_cast<std::size_t>(v)]), "");
    ASSERT_EQ(raw.exec("PRAGMA user_version = 4"), "");
    ASSERT_EQ(raw.exec("INSERT INTO detections (id, service, instance, type, severity, "
                       "affects_primary, evidence, at_ms) VALUES (3, 'web', 'web-a', "
                       "'unreachable', 'critical', 1, 'refused', 1)"),
              "");
  }
  auto db = open();
  ASSERT_TRUE(db);
  auto before = db->list_detections("web");
  ASSERT_TRUE(before);
  ASSERT_EQ(before->size(), 1u);
  EXPECT_EQ(before->front().id.value, 3);
  for (auto type :
       {failure_type::diverged, failure_type::fencing_failed, failure_type::site_wide}) {
    failure_detection d;
    d.service = service_id{"web"};
    d.instance = instance_id{"web-a"};
    d.type = type;
    d.evidence = "x";
    ASSERT_TRUE(db->record_detection(d)) << to_string(type);
  }
  auto after = db->list_detections("web");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->front().type, failure_type::site_wide) << "newest first, read back by name";
  raw_db raw{path()};
  EXPECT_TRUE(raw.has_table("decisions"));
}

// -- availability -------------------------------------------------------------

TEST(availability, an_instance_is_down_while_unhealthy_and_unobserved_while_unknown) {
  using persistence::health_point;
  std::vector<health_point> events{{1'000, health_status::healthy},
                                   {5'000, health_status::unhealthy},
                                   {6'000, health_status::healthy}};
  // [0, 1000) unknown, [1000, 5000) up, [5000, 6000) down, [6000, 10000) up
  auto u = persistence::instance_uptime(events, 0, 10'000);
  EXPECT_EQ(u.observed_ms, 9'000);
  EXPECT_EQ(u.down_ms, 1'000);
  // A window that starts inside the outage begins in the state of the last event before it.
  auto inside = persistence::instance_uptime(events, 5'500, 7'000);
  EXPECT_EQ(inside.observed_ms, 1'500);
  EXPECT_EQ(inside.down_ms, 500);
  EXPECT_EQ(persistence::instance_uptime({}, 0, 10'000).observed_ms, 0);
}

TEST(availability, a_service_is_up_while_its_primary_of_the_moment_is_healthy) {
  using persistence::health_point;
  std::map<std::string, std::vector<health_point>> health{
      {"a", {{0, health_status::healthy}, {4'000, health_status::unhealthy}}},
      {"b",
       {{0, health_status::healthy},
        {2'000, health_status::unhealthy},
        {3'000, health_status::healthy}}}};
  // a is primary until the failover completes at 4500, then b.
  std::vector<persistence::primary_change> primaries{{0, "a"}, {4'500, "b"}};
  auto u = persistence::service_uptime(health, primaries, 0, 10'000);
  EXPECT_EQ(u.observed_ms, 10'000);
  EXPECT_EQ(u.down_ms, 500) << "b's outage while a was primary does not count; a's 500 ms does";
}

TEST_F(store_test, availability_comes_from_the_persisted_health_history) {
  auto db = open();
  ASSERT_TRUE(db->sync_config(two_instance_config()));
  const std::int64_t now = 100 * 3'600'000LL;
  auto at = [](std::int64_t ms) { return caf::timestamp{std::chrono::milliseconds{ms}}; };
  auto record = [&](const char* inst, health_status from, health_status to, std::int64_t ms) {
    ASSERT_TRUE(db->record_health(
        health_transition{service_id{"web"}, instance_id{inst}, from, to, "", 1, at(ms)}));
  };
  // web-a (primary) healthy since two hours ago, down 36 s within the last hour.
  record("web-a", health_status::unknown, health_status::healthy, now - 2 * 3'600'000LL);
  record("web-a", health_status::healthy, health_status::unhealthy, now - 600'000);
  record("web-a", health_status::unhealthy, health_status::healthy, now - 564'000);
  auto rows = db->availability("web", now);
  ASSERT_TRUE(rows);
  auto find = [&](const std::string& inst, const std::string& window) {
    for (const auto& r : *rows)
      if (r.instance.value == inst && r.window == window)
        return r;
    ADD_FAILURE() << "no row " << inst << " " << window;
    return availability_record{};
  };
  auto hour = find("", "1h");
  EXPECT_EQ(hour.observed_ms, 3'600'000);
  EXPECT_EQ(hour.down_ms, 36'000);
  auto day = find("", "1d");
  EXPECT_EQ(day.observed_ms, 2 * 3'600'000) << "only the time switchyardd was watching counts";
  EXPECT_EQ(day.down_ms, 36'000);
  EXPECT_EQ(find("web-b", "1h").observed_ms, 0) << "no history: nothing observed";
  auto unknown = db->availability("nope", now);
  ASSERT_FALSE(unknown);
  EXPECT_NE(describe(unknown.error()).find("no service named 'nope'"), std::string::npos);
}

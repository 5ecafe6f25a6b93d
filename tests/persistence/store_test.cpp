// The SQLite store on real files: migrations, topology, the switchover
// journal, detections, plan versions, and failures that must surface.
#include <filesystem>
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "messages/error.hpp"
#include "persistence/migrations.hpp"
#include "persistence/sqlite_store.hpp"
#include "tests/actors/test_system.hpp"

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
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &raw), SQLITE_OK);
  for (const char* table : {"services", "instances", "failover_plans", "switchovers",
                            "switchover_steps", "detections", "health_events", "audit"}) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(raw, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?1", -1,
                       &st, nullptr);
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(st, 0), 1) << table;
    sqlite3_finalize(st);
  }
  sqlite3_close(raw);
}

TEST_F(store_test, refuses_a_database_from_a_newer_switchyardd) {
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path().c_str(), &raw), SQLITE_OK);
    sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
    sqlite3_close(raw);
  }
  auto db = sqlite_store::open(path());
  ASSERT_FALSE(db);
  EXPECT_NE(describe(db.error())
                .find("database schema version 99 is newer than this switchyardd "
                      "supports (2)"),
            std::string::npos)
      << describe(db.error());
}

TEST_F(store_test, open_failure_names_the_path) {
  auto bad = (dir.path() / "missing" / "x.db").string();
  auto db = sqlite_store::open(bad);
  ASSERT_FALSE(db);
  auto text = describe(db.error());
  EXPECT_EQ(text.rfind("storage_failure: cannot open database " + bad, 0), 0u) << text;
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
  ASSERT_FALSE(id) << "a write under someone else's lock must fail after busy_timeout";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  auto text = describe(id.error());
  EXPECT_NE(text.find("storage_failure: executing 'INSERT INTO switchovers"), std::string::npos)
      << text;
  EXPECT_NE(text.find("database is locked"), std::string::npos) << text;
  EXPECT_NE(text.find(path()), std::string::npos) << text;
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
}

TEST_F(store_test, interrupted_switchovers_are_closed_as_failed_on_start) {
  auto db = open();
  ASSERT_TRUE(db->sync_config(two_instance_config()));
  auto done = journal(*db, "web-a", "web-b", 2, true);
  auto id = db->begin_switchover(
      switchover_start{service_id{"web"}, switchover_kind::automatic_failover, instance_id{"web-b"},
                       instance_id{"web-a"}, detection_id{0}, 1, epoch{3}, ""});
  ASSERT_TRUE(id);
  ASSERT_TRUE(db->begin_step(step_start{*id, sample_plan().steps[0], epoch{3}}));
  db.reset(); // switchyardd "crashes" here

  auto again = open();
  auto closed = again->close_interrupted_switchovers();
  ASSERT_TRUE(closed);
  ASSERT_EQ(closed->size(), 1u);
  EXPECT_EQ(closed->front().id, *id);
  EXPECT_EQ(closed->front().detail,
            "interrupted: switchyardd stopped at step 1 (fence-a, started); not resumed, the "
            "service keeps its previous primary; check it by hand");
  auto list = again->list_switchovers("web");
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(list->front().status, switchover_status::failed);
  EXPECT_EQ(list->back().id, done);
  EXPECT_EQ(list->back().status, switchover_status::completed) << "finished ones are untouched";
  EXPECT_EQ(again->load_topology()->front().primary.value, "web-b");
  EXPECT_TRUE(again->close_interrupted_switchovers()->empty());
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

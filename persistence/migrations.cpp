#include "persistence/migrations.hpp"

#include <sqlite3.h>

#include "messages/error.hpp"
#include "persistence/statement.hpp"

namespace switchyard::persistence {

const std::vector<std::string>& migrations() {
  static const std::vector<std::string> all = {
      // v1: topology, plans, the switchover journal, detections, health history.
      R"sql(
CREATE TABLE services (
  name            TEXT PRIMARY KEY,
  current_primary TEXT NOT NULL,
  epoch           INTEGER NOT NULL CHECK (epoch >= 1),
  last_failover_ms INTEGER NOT NULL DEFAULT 0,
  configured      INTEGER NOT NULL DEFAULT 1,
  updated_at_ms   INTEGER NOT NULL
);
CREATE TABLE instances (
  name     TEXT PRIMARY KEY,
  service  TEXT NOT NULL REFERENCES services(name) ON DELETE CASCADE,
  host     TEXT NOT NULL,
  port     INTEGER NOT NULL,
  site     TEXT NOT NULL,
  role     TEXT NOT NULL CHECK (role IN ('primary', 'standby')),
  priority INTEGER NOT NULL
);
CREATE TABLE failover_plans (
  service       TEXT NOT NULL,
  version       INTEGER NOT NULL,
  plan_json     TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (service, version)
);
CREATE TABLE switchovers (
  id             INTEGER PRIMARY KEY,
  service        TEXT NOT NULL,
  kind           TEXT NOT NULL CHECK (kind IN ('automatic_failover', 'planned_switchover', 'forced_failover')),
  status         TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
  from_instance  TEXT NOT NULL,
  to_instance    TEXT NOT NULL,
  detection_id   INTEGER NOT NULL DEFAULT 0,
  plan_version   INTEGER NOT NULL DEFAULT 0,
  epoch          INTEGER NOT NULL,
  reason         TEXT NOT NULL DEFAULT '',
  detail         TEXT NOT NULL DEFAULT '',
  started_at_ms  INTEGER NOT NULL,
  finished_at_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX switchovers_by_service ON switchovers (service, id);
CREATE TABLE switchover_steps (
  id             INTEGER PRIMARY KEY,
  switchover_id  INTEGER NOT NULL REFERENCES switchovers(id),
  sequence       INTEGER NOT NULL,
  phase          TEXT NOT NULL CHECK (phase IN ('fence', 'promote', 'reroute', 'verify')),
  name           TEXT NOT NULL,
  action_kind    TEXT NOT NULL,
  target         TEXT NOT NULL,
  epoch          INTEGER NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('started', 'done', 'failed')),
  detail         TEXT NOT NULL DEFAULT '',
  started_at_ms  INTEGER NOT NULL,
  finished_at_ms INTEGER NOT NULL DEFAULT 0,
  UNIQUE (switchover_id, sequence)
);
CREATE TABLE detections (
  id              INTEGER PRIMARY KEY,
  service         TEXT NOT NULL,
  instance        TEXT NOT NULL,
  type            TEXT NOT NULL CHECK (type IN ('unreachable', 'recovered')),
  severity        TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  affects_primary INTEGER NOT NULL,
  evidence        TEXT NOT NULL,
  at_ms           INTEGER NOT NULL
);
CREATE INDEX detections_by_service ON detections (service, id);
CREATE TABLE health_events (
  id          INTEGER PRIMARY KEY,
  service     TEXT NOT NULL,
  instance    TEXT NOT NULL,
  from_status TEXT NOT NULL,
  to_status   TEXT NOT NULL,
  reason      TEXT NOT NULL,
  at_ms       INTEGER NOT NULL
);
CREATE INDEX health_events_by_instance ON health_events (instance, at_ms);
)sql",
      // v2: the audit trail of API calls (who, role, call, arguments, result).
      R"sql(
CREATE TABLE audit (
  id        INTEGER PRIMARY KEY,
  principal TEXT NOT NULL,
  role      TEXT NOT NULL,
  call      TEXT NOT NULL,
  arguments TEXT NOT NULL,
  result    TEXT NOT NULL,
  at_ms     INTEGER NOT NULL
);
)sql",
  };
  return all;
}

namespace {

caf::expected<int> user_version(sqlite3* db) {
  auto st = statement::prepare(db, "PRAGMA user_version");
  if (!st)
    return st.error();
  auto row = st->step();
  if (!row)
    return row.error();
  return static_cast<int>(st->column_int(0));
}

} // namespace

caf::expected<int> migrate(sqlite3* db) {
  auto current = user_version(db);
  if (!current)
    return current.error();
  const auto& all = migrations();
  auto known = static_cast<int>(all.size());
  if (*current > known)
    return make_sy_error(sy_errc::storage_failure,
                         "database schema version " + std::to_string(*current) +
                             " is newer than this switchyardd supports (" + std::to_string(known) +
                             "); use a newer switchyardd or another data_dir");
  for (int v = *current; v < known; ++v) {
    auto step = exec_sql(db, "BEGIN IMMEDIATE;\n" + all[static_cast<std::size_t>(v)] +
                                 "\nPRAGMA user_version = " + std::to_string(v + 1) + ";\nCOMMIT;");
    if (!step) {
      (void)exec_sql(db, "ROLLBACK");
      return make_sy_error(sy_errc::storage_failure, "migration to schema version " +
                                                         std::to_string(v + 1) +
                                                         " failed: " + describe(step.error()));
    }
  }
  return known;
}

} // namespace switchyard::persistence

// The schema, as an append-only list of migrations, and the code applying them.
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
      // v3: health_events stores health_status names; v1 forgot their CHECK.
      // SQLite cannot add a constraint in place, so the table is rebuilt.
      R"sql(
CREATE TABLE health_events_v3 (
  id          INTEGER PRIMARY KEY,
  service     TEXT NOT NULL,
  instance    TEXT NOT NULL,
  from_status TEXT NOT NULL CHECK (from_status IN ('unknown', 'healthy', 'unhealthy')),
  to_status   TEXT NOT NULL CHECK (to_status IN ('unknown', 'healthy', 'unhealthy')),
  reason      TEXT NOT NULL,
  at_ms       INTEGER NOT NULL
);
INSERT INTO health_events_v3 (id, service, instance, from_status, to_status, reason, at_ms)
  SELECT id, service, instance, from_status, to_status, reason, at_ms FROM health_events;
DROP TABLE health_events;
ALTER TABLE health_events_v3 RENAME TO health_events;
CREATE INDEX health_events_by_instance ON health_events (instance, at_ms);
)sql",
      // v4: the demote phase (steps that need the old primary's help), and
      // maintenance windows that survive a restart of switchyardd.
      R"sql(
CREATE TABLE switchover_steps_v4 (
  id             INTEGER PRIMARY KEY,
  switchover_id  INTEGER NOT NULL REFERENCES switchovers(id),
  sequence       INTEGER NOT NULL,
  phase          TEXT NOT NULL CHECK (phase IN ('demote', 'fence', 'promote', 'reroute', 'verify')),
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
INSERT INTO switchover_steps_v4 (id, switchover_id, sequence, phase, name, action_kind, target,
                                 epoch, status, detail, started_at_ms, finished_at_ms)
  SELECT id, switchover_id, sequence, phase, name, action_kind, target, epoch, status, detail,
         started_at_ms, finished_at_ms FROM switchover_steps;
DROP TABLE switchover_steps;
ALTER TABLE switchover_steps_v4 RENAME TO switchover_steps;
CREATE TABLE maintenance (
  service   TEXT NOT NULL,
  instance  TEXT NOT NULL DEFAULT '',
  reason    TEXT NOT NULL CHECK (reason <> ''),
  principal TEXT NOT NULL,
  since_ms  INTEGER NOT NULL,
  until_ms  INTEGER NOT NULL DEFAULT 0 CHECK (until_ms >= 0),
  PRIMARY KEY (service, instance)
);
)sql",
      // v5: detections of what happens around fencing and returning instances
      // (returned, diverged, rejoin_failed, fencing_failed) and the
      // classifier's classes (degraded, cascading from a dependency, flapping,
      // site-wide disaster); the coordinator's decisions (also those made in
      // shadow mode, which only record what would have happened).
      R"sql(
CREATE TABLE detections_v5 (
  id              INTEGER PRIMARY KEY,
  service         TEXT NOT NULL,
  instance        TEXT NOT NULL,
  type            TEXT NOT NULL CHECK (type IN ('unreachable', 'recovered', 'returned', 'diverged',
                                                'rejoin_failed', 'fencing_failed', 'degraded',
                                                'cascading', 'flapping', 'site_wide')),
  severity        TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  affects_primary INTEGER NOT NULL,
  evidence        TEXT NOT NULL,
  at_ms           INTEGER NOT NULL
);
INSERT INTO detections_v5 (id, service, instance, type, severity, affects_primary, evidence, at_ms)
  SELECT id, service, instance, type, severity, affects_primary, evidence, at_ms FROM detections;
DROP TABLE detections;
ALTER TABLE detections_v5 RENAME TO detections;
CREATE INDEX detections_by_service ON detections (service, id);
CREATE TABLE decisions (
  id           INTEGER PRIMARY KEY,
  service      TEXT NOT NULL,
  detection_id INTEGER NOT NULL DEFAULT 0,
  verdict      TEXT NOT NULL CHECK (verdict <> ''),
  shadow       INTEGER NOT NULL DEFAULT 0 CHECK (shadow IN (0, 1)),
  reason       TEXT NOT NULL,
  at_ms        INTEGER NOT NULL
);
CREATE INDEX decisions_by_service ON decisions (service, id);
)sql",
      // v6: whole-site switchovers (the coordinator log of their two-phase
      // commit: `preparing` is undecided, `committed` is the durable decision),
      // their participants, and DR drills with per-service results.
      R"sql(
CREATE TABLE site_switchovers (
  id           INTEGER PRIMARY KEY,
  operation    TEXT NOT NULL CHECK (operation IN ('switchover', 'failback', 'drill',
                                                  'drill_failback')),
  from_site    TEXT NOT NULL,
  to_site      TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('preparing', 'committed', 'completed', 'failed',
                                              'aborted')),
  principal    TEXT NOT NULL,
  reason       TEXT NOT NULL,
  drill        INTEGER NOT NULL DEFAULT 0,
  parallelism  INTEGER NOT NULL,
  estimated_rto_ms INTEGER NOT NULL,
  started_ms   INTEGER NOT NULL,
  decided_ms   INTEGER NOT NULL DEFAULT 0,
  finished_ms  INTEGER NOT NULL DEFAULT 0,
  detail       TEXT NOT NULL DEFAULT ''
);
CREATE TABLE site_participants (
  site_switchover INTEGER NOT NULL REFERENCES site_switchovers (id),
  position        INTEGER NOT NULL,
  service         TEXT NOT NULL,
  from_instance   TEXT NOT NULL,
  to_instance     TEXT NOT NULL,
  level           INTEGER NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('pending', 'prepared', 'prepare_failed',
                                                 'aborted', 'committing', 'committed', 'failed')),
  switchover_id   INTEGER NOT NULL DEFAULT 0,
  estimated_ms    INTEGER NOT NULL,
  rto_ms          INTEGER NOT NULL,
  rpo_ms          INTEGER NOT NULL,
  gap             INTEGER NOT NULL DEFAULT -1,
  detail          TEXT NOT NULL DEFAULT '',
  prepared_ms     INTEGER NOT NULL DEFAULT 0,
  commit_started_ms  INTEGER NOT NULL DEFAULT 0,
  commit_finished_ms INTEGER NOT NULL DEFAULT 0,
  verified_ms     INTEGER NOT NULL DEFAULT 0,
  verified        INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
  checks          TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY (site_switchover, service)
);
CREATE TABLE drills (
  id          INTEGER PRIMARY KEY,
  from_site   TEXT NOT NULL,
  to_site     TEXT NOT NULL,
  principal   TEXT NOT NULL,
  passed      INTEGER NOT NULL CHECK (passed IN (0, 1)),
  started_ms  INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL DEFAULT 0,
  report      TEXT NOT NULL
);
CREATE TABLE drill_services (
  drill       INTEGER NOT NULL REFERENCES drills (id),
  service     TEXT NOT NULL,
  passed      INTEGER NOT NULL CHECK (passed IN (0, 1)),
  rto_ms      INTEGER NOT NULL,
  rpo         INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL,
  PRIMARY KEY (drill, service)
);
CREATE INDEX drill_services_by_service ON drill_services (service, finished_ms);
)sql",
      // v7: cluster mode: the fencing epoch of the leader that ran each
      // switchover and each step (0: a single switchyardd).
      R"sql(
ALTER TABLE switchovers ADD COLUMN leader_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE switchover_steps ADD COLUMN leader_epoch INTEGER NOT NULL DEFAULT 0;
)sql",
      // v8: the backup catalog: one row per backup of one tier; incrementals
      // name their parent (no foreign key: retention forgets whole chains,
      // and a row naming a forgotten parent is what a broken chain looks like).
      R"sql(
CREATE TABLE backups (
  id           INTEGER PRIMARY KEY,
  service      TEXT NOT NULL,
  policy       TEXT NOT NULL,
  tier         TEXT NOT NULL,
  destination  TEXT NOT NULL,
  site         TEXT NOT NULL DEFAULT '',
  medium       TEXT NOT NULL DEFAULT '',
  kind         TEXT NOT NULL CHECK (kind IN ('full', 'incremental')),
  parent       INTEGER NOT NULL DEFAULT 0,
  artifact     TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed', 'corrupt')),
  error        TEXT NOT NULL DEFAULT '',
  source       TEXT NOT NULL DEFAULT '',
  trigger      TEXT NOT NULL DEFAULT '',
  raw_bytes    INTEGER NOT NULL DEFAULT 0,
  stored_bytes INTEGER NOT NULL DEFAULT 0,
  sha256       TEXT NOT NULL DEFAULT '',
  started_ms   INTEGER NOT NULL,
  finished_ms  INTEGER NOT NULL DEFAULT 0,
  point_ms     INTEGER NOT NULL DEFAULT 0,
  verified_ms  INTEGER NOT NULL DEFAULT 0,
  leader_epoch INTEGER NOT NULL DEFAULT 0,
  facts        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX backups_by_service ON backups (service, tier, id);
)sql",
      // v9: cluster mode: service backups other replicas took, merged from
      // etcd: the replica (origin) and its id for them; '' and 0 for this
      // replica's own.
      R"sql(
ALTER TABLE backups ADD COLUMN origin TEXT NOT NULL DEFAULT '';
ALTER TABLE backups ADD COLUMN origin_id INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX backups_by_origin ON backups (origin, origin_id) WHERE origin != '';
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

// The schema version, refusing a database written by a newer switchyardd.
caf::expected<int> checked_version(sqlite3* db, int known) {
  auto current = user_version(db);
  if (!current)
    return current.error();
  if (*current > known)
    return storage_error_at(db, "database schema version " + std::to_string(*current) +
                                    " is newer than this switchyardd supports (" +
                                    std::to_string(known) +
                                    "); use a newer switchyardd or another data_dir");
  return current;
}

enum class outcome { applied, up_to_date };

// Runs inside the migration's write transaction. The version is read again
// here, so two processes opening a fresh file at once cannot both apply the
// same migration: the second waits for the lock, then sees the first's work.
caf::expected<outcome> apply_next(sqlite3* db, int known) {
  auto current = checked_version(db, known);
  if (!current)
    return current.error();
  if (*current == known)
    return outcome::up_to_date;
  auto next = *current + 1;
  const auto& script = migrations()[static_cast<std::size_t>(*current)];
  if (auto r = exec_sql(db, script + "\nPRAGMA user_version = " + std::to_string(next) + ";",
                        "migrating the schema to version " + std::to_string(next));
      !r)
    return r.error();
  return outcome::applied;
}

} // namespace

caf::expected<int> migrate(sqlite3* db) {
  auto known = static_cast<int>(migrations().size());
  // An up-to-date database is opened without taking the write lock.
  auto current = checked_version(db, known);
  if (!current)
    return current.error();
  if (*current == known)
    return known;
  while (true) {
    if (auto b = exec_sql(db, "BEGIN IMMEDIATE", "locking the database to migrate its schema"); !b)
      return b.error();
    auto step = apply_next(db, known);
    if (!step || *step == outcome::up_to_date) {
      // Nothing was written on these paths; ROLLBACK only releases the lock.
      (void)exec_sql(db, "ROLLBACK");
      if (!step)
        return step.error();
      return known;
    }
    if (auto c = exec_sql(db, "COMMIT", "committing a schema migration"); !c) {
      (void)exec_sql(db, "ROLLBACK");
      return c.error();
    }
  }
}

} // namespace switchyard::persistence

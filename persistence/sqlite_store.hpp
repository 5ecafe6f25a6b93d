// The durable state of switchyardd in one SQLite file (WAL mode): services and
// instances, versioned failover plans, switchovers with their step journal,
// failure detections, the coordinator's decisions and health history. Plain synchronous C++; the
// store actor (actors/store.hpp) is its only user in the daemon.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "config/model.hpp"
#include "messages/availability.hpp"
#include "messages/backup.hpp"
#include "messages/detection.hpp"
#include "messages/health.hpp"
#include "messages/plan.hpp"
#include "messages/records.hpp"
#include "messages/site.hpp"
#include "messages/switchover.hpp"
#include "messages/topology.hpp"

struct sqlite3;

namespace switchyard::persistence {

// Rows as read back; the types live in messages/records.hpp so the store
// actor can send them.
using switchover_row = switchover_record;
using step_row = step_record;
using detection_row = detection_record;
using plan_row = plan_record;
using switchyard::step_status;

class switchover_ids;

class sqlite_store {
public:
  /// Opens (creating if needed) the database at `path`, switches it to WAL and
  /// applies any pending migrations. The folder must exist. Switchover ids
  /// come from `ids` (switchyardd's counter, shared with the runner that
  /// reserves them; see switchover_ids.hpp), or from a counter of its own.
  /// A file database is checkpointed by a thread of its own once its log
  /// reaches `checkpoint_pages` (see wal_checkpointer.hpp), not by the commit
  /// that crosses it.
  [[nodiscard]] static caf::expected<std::unique_ptr<sqlite_store>>
  open(const std::string& path, std::shared_ptr<switchover_ids> ids = nullptr,
       int checkpoint_pages = 1000);

  ~sqlite_store();
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  /// The schema version after migrations (user_version).
  [[nodiscard]] int schema_version() const;
  /// The journal mode SQLite reports ("wal" for a file database).
  [[nodiscard]] std::string journal_mode() const;
  /// Checkpoints the background checkpointer ran (0 for ":memory:").
  [[nodiscard]] std::uint64_t background_checkpoints() const;

  /// Records configured services and instances. A service seen for the first
  /// time gets the configured primary and epoch 1; a known service keeps its
  /// persisted primary (the database wins over the file) unless that instance
  /// is no longer configured.
  [[nodiscard]] caf::expected<void> sync_config(const config::switchyard_config& cfg);

  /// The last known primary and epoch of every service.
  [[nodiscard]] caf::expected<topology_list> load_topology();

  [[nodiscard]] caf::expected<void> record_health(const health_transition& t);
  [[nodiscard]] caf::expected<detection_id> record_detection(const failure_detection& d);

  /// Stores the plan as a new version if it differs from the latest stored
  /// one; returns the version that matches `plan`.
  [[nodiscard]] caf::expected<std::int64_t> save_plan(const failover_plan& plan);

  /// Inserts the switchover row (its plan must be saved already).
  [[nodiscard]] caf::expected<switchover_id> begin_switchover(const switchover_start& s);
  /// Journals `s.decision` first when it has a verdict, saves the plan when
  /// `s.persist_plan` (its version goes into the row), then begin_switchover();
  /// all or nothing.
  [[nodiscard]] caf::expected<switchover_id> open_switchover(switchover_start s);
  /// open_switchover(), then `first` journaled as a step of it; all or nothing.
  [[nodiscard]] caf::expected<step_id> open_switchover_with_step(switchover_start s,
                                                                 step_start first);
  [[nodiscard]] caf::expected<step_id> begin_step(const step_start& s);
  [[nodiscard]] caf::expected<void> finish_step(const step_finish& s);
  /// Closes the switchover; when completed, updates the service's primary and
  /// epoch in the same transaction.
  [[nodiscard]] caf::expected<void> finish_switchover(const switchover_finish& s);

  /// The kind of a journaled switchover.
  [[nodiscard]] caf::expected<switchover_kind> switchover_kind_of(switchover_id id);

  // -- group commits ----------------------------------------------------------
  //
  // begin_batch() opens one transaction (BEGIN IMMEDIATE); the writes above
  // then run inside it (a write that is itself a transaction becomes a
  // savepoint) and nothing is durable until commit_batch() returns. A failed
  // commit rolls the whole batch back. Without a batch every write commits
  // on its own, as before.
  [[nodiscard]] caf::expected<void> begin_batch();
  [[nodiscard]] caf::expected<void> commit_batch();
  void rollback_batch();
  [[nodiscard]] bool in_batch() const;
  /// False when SQLite rolled the batch's transaction back by itself (some
  /// errors, e.g. a full disk, do that): what follows would commit on its own.
  [[nodiscard]] bool batch_intact() const;
  /// Runs raw SQL on this connection (tests: e.g. PRAGMA defer_foreign_keys).
  [[nodiscard]] caf::expected<void> exec_for_testing(const std::string& sql);

  /// Switchovers still `running` (left by a switchyardd that stopped), oldest
  /// first, each with its steps and the plan it ran (when it can be read).
  [[nodiscard]] caf::expected<interrupted_list> interrupted_switchovers();

  // -- queries (for the API, tests and start-up) ------------------------------

  [[nodiscard]] caf::expected<std::vector<switchover_row>>
  list_switchovers(const std::string& service = {});
  [[nodiscard]] caf::expected<std::vector<step_row>> list_steps(switchover_id id);
  /// One switchover with its steps; an unknown_switchover error if there is none.
  [[nodiscard]] caf::expected<switchover_detail> get_switchover(switchover_id id);
  [[nodiscard]] caf::expected<std::vector<detection_row>>
  list_detections(const std::string& service = {});
  [[nodiscard]] caf::expected<std::optional<plan_row>> latest_plan(const std::string& service);

  // -- decisions ----------------------------------------------------------------

  /// Journals one decision of the coordinator on a detection; returns its id.
  [[nodiscard]] caf::expected<std::int64_t> record_decision(const decision_record& d);
  /// The newest `limit` decisions of `service` (empty: every service), newest first.
  [[nodiscard]] caf::expected<decision_record_list> list_decisions(const std::string& service,
                                                                   std::uint32_t limit);
  [[nodiscard]] caf::expected<std::int64_t> count_health_events(const std::string& instance);
  /// Health transitions recorded at or after `since_ms`, oldest first.
  [[nodiscard]] caf::expected<health_event_list> health_since(std::int64_t since_ms);
  /// Availability of `service` (all if empty) and its instances over the
  /// last hour, day and 30 days before `now_ms`, from health_events and the
  /// completed switchovers (who was primary when).
  [[nodiscard]] caf::expected<availability_list> availability(const std::string& service,
                                                              std::int64_t now_ms);

  // -- audit ------------------------------------------------------------------

  /// Appends one audited API call; returns its id.
  [[nodiscard]] caf::expected<std::int64_t> record_audit(const audit_record& a);
  /// The newest `limit` audit records, newest first.
  [[nodiscard]] caf::expected<audit_record_list> list_audit(std::uint32_t limit);

  /// Starts (or replaces) a maintenance window.
  [[nodiscard]] caf::expected<void> set_maintenance(const maintenance_record& m);
  /// Ends one; ending a window that does not exist is not an error.
  [[nodiscard]] caf::expected<void> clear_maintenance(const maintenance_clear& m);
  /// The windows still open at `now_ms` (wall clock); expired rows are deleted.
  [[nodiscard]] caf::expected<maintenance_list> list_maintenance(std::int64_t now_ms);

  // -- site switchovers and drills (persistence/site_journal.cpp) --------------

  /// Inserts (id 0) or replaces a site switchover with all its participants,
  /// in one transaction; returns its id.
  [[nodiscard]] caf::expected<std::int64_t> save_site(const site_record& r);
  /// One site switchover (q.id), the unfinished ones (q.unfinished: still
  /// preparing or committed, oldest first), or the newest q.limit.
  [[nodiscard]] caf::expected<site_record_list> list_sites(const site_query& q);
  /// Inserts (id 0) or replaces a drill report and its per-service results.
  [[nodiscard]] caf::expected<std::int64_t> save_drill(const drill_report& r);
  /// One drill report (q.id; unknown: not_found error) or the newest q.limit.
  [[nodiscard]] caf::expected<drill_report_list> list_drills(const drill_query& q);
  /// The last drill of every configured service that has one.
  [[nodiscard]] caf::expected<service_drill_list> last_drills();

  // -- the backup catalog (persistence/backup_catalog.cpp) ----------------------

  /// Inserts a backup as `running` (before anything is written anywhere);
  /// returns its id. started_ms 0: now.
  [[nodiscard]] caf::expected<std::int64_t> begin_backup(const backup_record& b);
  /// Records its outcome: status, error, sizes, sum, point and finish time
  /// (finished_ms 0: now). The artifact's name too (known once the id is).
  [[nodiscard]] caf::expected<void> finish_backup(const backup_record& b);
  /// A verification's outcome: passed sets verified_ms; failed marks the
  /// backup corrupt with `error` (an unknown id: not_found).
  [[nodiscard]] caf::expected<void>
  record_verification(std::int64_t id, bool passed, std::int64_t at_ms, const std::string& error);
  /// Backups still `running` (left by a switchyardd that stopped mid-way)
  /// become failed with `reason`; returns how many. Their artifacts never
  /// reached a final name, so nothing restorable is lost.
  [[nodiscard]] caf::expected<std::int64_t> fail_interrupted_backups(const std::string& reason);
  /// Every backup of `service` (empty: all), oldest first; `id` > 0: that one only.
  [[nodiscard]] caf::expected<backup_list> list_backups(const std::string& service,
                                                        std::int64_t id = 0);
  /// Deletes the rows (retention, after their artifacts were removed).
  [[nodiscard]] caf::expected<void> forget_backups(const std::vector<std::int64_t>& ids);

  /// Cluster mode: merges other replicas' replicated service backups (ids
  /// mapped to this catalog's, parents too; `self`'s own are skipped) and
  /// deletes the merged ones no longer in `backups`. All or nothing.
  [[nodiscard]] caf::expected<void> import_backups(const std::string& self,
                                                   const replicated_backup_list& backups);

  /// The connection itself, for what must see every write made through it
  /// (the change recorder of state backups, backups/sqlite_state.hpp). Only
  /// on the store's own thread.
  sqlite3* connection();

private:
  explicit sqlite_store(sqlite3* db);
  caf::expected<std::string> journal_mode_set_wal();
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The plan as JSON (stable key order), as stored and exported.
std::string plan_to_json(const failover_plan& plan);
/// The plan back from plan_to_json's text (to resume a switchover after a restart).
caf::expected<failover_plan> plan_from_json(const std::string& text);

/// A drill report as JSON (stable key order): stored in drills.report and
/// exported by `switchyard drill report ID --format json`.
std::string drill_report_to_json(const drill_report& report);
caf::expected<drill_report> drill_report_from_json(const std::string& text);
/// Verification checks as JSON (site_participants.checks).
std::string checks_to_json(const std::vector<verification_check>& checks);
caf::expected<std::vector<verification_check>> checks_from_json(const std::string& text);

} // namespace switchyard::persistence

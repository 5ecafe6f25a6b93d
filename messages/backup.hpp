// Backups as the catalog records them: one row per backup taken for one tier
// of a service's policy (or of switchyardd's own state). A tier's rows form
// chains: a full backup, then incrementals that each name their parent.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

namespace switchyard {

enum class backup_kind : std::uint8_t { full, incremental };

/// running: being taken (a row still running at start was interrupted: the
/// daemon marks it failed); complete: stored at its destination, checksum
/// recorded; failed: nothing restorable (error says why); corrupt: stored,
/// but a verification found it damaged or missing.
enum class backup_status : std::uint8_t { running, complete, failed, corrupt };

const char* to_string(backup_kind k);
const char* to_string(backup_status s);
bool from_string(const std::string& text, backup_kind& out);
bool from_string(const std::string& text, backup_status& out);

/// The name switchyardd's own state goes by in the catalog (not a service name:
/// service names cannot start with '@').
inline constexpr const char* state_backup_service = "@switchyard";

struct backup_record {
  std::int64_t id = 0;
  std::string service; ///< a service, or state_backup_service
  std::string policy;
  std::string tier;
  std::string destination; ///< how the destination describes itself ("dir /srv/b", "exec")
  std::string site;        ///< the destination's site
  std::string medium;      ///< the destination's medium
  backup_kind kind = backup_kind::full;
  std::int64_t parent = 0; ///< incremental: the backup it applies on top of
  std::string artifact;    ///< its name at the destination
  backup_status status = backup_status::running;
  std::string error;   ///< failed/corrupt: why
  std::string source;  ///< what it was taken from ("redis-b 127.0.0.1:7001", "exec", "state")
  std::string trigger; ///< "schedule", or the operator who asked
  std::uint64_t raw_bytes = 0;    ///< before compression
  std::uint64_t stored_bytes = 0; ///< the artifact's size
  std::string sha256;             ///< of the artifact (the stored bytes)
  std::int64_t started_ms = 0;    ///< wall clock
  std::int64_t finished_ms = 0;   ///< wall clock; 0 while running
  /// The point in time it restores to (wall clock): when the data was read.
  std::int64_t point_ms = 0;
  std::int64_t verified_ms = 0;  ///< the last verification that passed (0: never)
  std::int64_t leader_epoch = 0; ///< the leader epoch it was taken under (0: single node)
  /// What the data held when it was taken, as JSON, for verification to
  /// compare a test restore with (Redis: {"keys": N, "sample": {key: value}};
  /// a directory: {"files": N}; own state: {"rows": {table: N}}).
  std::string facts = "{}";
  /// The replica that took it when it came from another one (cluster mode:
  /// the replicated catalog); empty: this replica took it.
  std::string origin;
  std::int64_t origin_id = 0; ///< its id in `origin`'s catalog (and in etcd's key)

  bool restorable() const { return status == backup_status::complete; }
  double ratio() const {
    return stored_bytes == 0 ? 0.0
                             : static_cast<double>(raw_bytes) / static_cast<double>(stored_bytes);
  }
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, backup_record& x) {
  return f(caf::meta::type_name("backup_record"), x.id, x.service, x.policy, x.tier, x.destination,
           x.site, x.medium, x.kind, x.parent, x.artifact, x.status, x.error, x.source, x.trigger,
           x.raw_bytes, x.stored_bytes, x.sha256, x.started_ms, x.finished_ms, x.point_ms,
           x.verified_ms, x.leader_epoch, x.facts, x.origin, x.origin_id);
}

using backup_list = std::vector<backup_record>;

// -- the catalog (store actor) -------------------------------------------------

/// Inserts a backup as running; the store replies with its id.
struct backup_begin {
  backup_record record;
};

/// Records a backup's outcome (status, sizes, sum, artifact, point, facts).
struct backup_finish {
  backup_record record;
};

/// A verification's outcome: passed sets verified_ms; failed marks it corrupt.
struct backup_verification {
  std::int64_t id = 0;
  bool passed = false;
  std::int64_t at_ms = 0;
  std::string error;
};

/// Every backup of `service` (empty: all), oldest first; `id` > 0: that one.
struct backups_query {
  std::string service;
  std::int64_t id = 0;
};

/// Deletes catalog rows (retention, after the artifacts were removed).
struct backup_forget {
  std::vector<std::int64_t> ids;
};

/// The backup id from which the store records changes of its own state for
/// `tier` (0: not recording; the next state backup of that tier is full).
struct state_recorder_query {
  std::string tier;
};

/// Asks the store for a point of switchyardd's own state for backup
/// `backup_id` of `tier`: full: a snapshot to copy from (and recording for
/// the tier restarts here); incremental: the changes recorded since
/// `parent` (refused if the tier's recording did not start at `parent`).
struct state_capture_request {
  std::string tier;
  std::int64_t backup_id = 0;
  std::int64_t parent = 0;
  bool full = true;
};

/// The store's answer: a snapshot holding a read transaction (full; local
/// only, hence an unsafe message type) or a changeset (incremental).
struct state_capture {
  std::shared_ptr<void> snapshot; ///< a backups::state_snapshot
  std::string changeset;
};

// -- operations (API -> backup manager) ---------------------------------------

/// Takes a backup of `service` (or of switchyardd's state: state_backup_service)
/// now: one per tier, or only `tier`.
struct backup_create_request {
  std::string service;
  std::string tier; ///< empty: every tier of the policy
  bool full = false;
  std::string principal;
};

/// Verifies backup `id`, or the newest restorable point of each tier of
/// `service`: every artifact of the chain fetched and checksummed, then a
/// test restore into scratch compared with what the catalog recorded.
struct backup_verify_request {
  std::string service;
  std::int64_t id = 0;
  std::string principal;
};

/// Restores `service` into `target` from the newest restorable point at or
/// before `at_ms` (0: newest), tiers tried in `prefer` order (empty: the
/// policy's), or from backup `id`.
struct backup_restore_request {
  std::string service;
  std::int64_t at_ms = 0;
  std::vector<std::string> prefer;
  std::string target;
  bool force = false; ///< restoring over an existing target
  std::int64_t id = 0;
  std::string principal;
};

/// What a verification or a restore did: the backups it used (base first),
/// the tier, and a line for each thing worth telling (what was skipped and
/// why, what was checked).
struct backup_outcome {
  bool ok = false;
  std::string detail;
  std::string tier;
  backup_list used;
  std::vector<std::string> lines;
};

/// 3-2-1 and RPO of one service, from the catalog.
struct backup_compliance_row {
  std::string service;
  std::string policy;
  int copies = 0;
  int media = 0;
  int offsite = 0;
  bool meets_3_2_1 = false;
  std::int64_t newest_verified_ms = 0;
  std::int64_t age_ms = -1;
  std::int64_t rpo_ms = 0;
  bool rpo_met = false;
  std::vector<std::string> gaps;
};

using backup_compliance_list = std::vector<backup_compliance_row>;

/// Asks the backup manager for compliance (empty service: every one with a policy).
struct backup_compliance_query {
  std::string service;
};

/// Cluster mode: a service backup as the leader that took it replicated it
/// (<prefix>/state/backups/<service>/<node>/<id>): `record.id` and
/// `record.parent` are ids of `node`'s catalog.
struct replicated_backup {
  std::string node;
  backup_record record;
};

using replicated_backup_list = std::vector<replicated_backup>;

/// The store merges the replicated backups of other replicas into its
/// catalog (ids mapped to its own) and forgets those no longer replicated.
struct backup_import {
  std::string self; ///< this replica: its own replicated backups are skipped
  replicated_backup_list backups;
};

/// A backup job's result, sent by the job to the manager.
struct backup_job_done {
  std::int64_t job = 0;
  backup_outcome outcome;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, backup_begin& x) {
  return f(caf::meta::type_name("backup_begin"), x.record);
}
template <class Inspector> typename Inspector::result_type inspect(Inspector& f, backup_finish& x) {
  return f(caf::meta::type_name("backup_finish"), x.record);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backup_verification& x) {
  return f(caf::meta::type_name("backup_verification"), x.id, x.passed, x.at_ms, x.error);
}
template <class Inspector> typename Inspector::result_type inspect(Inspector& f, backups_query& x) {
  return f(caf::meta::type_name("backups_query"), x.service, x.id);
}
template <class Inspector> typename Inspector::result_type inspect(Inspector& f, backup_forget& x) {
  return f(caf::meta::type_name("backup_forget"), x.ids);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, state_recorder_query& x) {
  return f(caf::meta::type_name("state_recorder_query"), x.tier);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, state_capture_request& x) {
  return f(caf::meta::type_name("state_capture_request"), x.tier, x.backup_id, x.parent, x.full);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backup_create_request& x) {
  return f(caf::meta::type_name("backup_create_request"), x.service, x.tier, x.full, x.principal);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backup_verify_request& x) {
  return f(caf::meta::type_name("backup_verify_request"), x.service, x.id, x.principal);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backup_restore_request& x) {
  return f(caf::meta::type_name("backup_restore_request"), x.service, x.at_ms, x.prefer, x.target,
           x.force, x.id, x.principal);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backup_outcome& x) {
  return f(caf::meta::type_name("backup_outcome"), x.ok, x.detail, x.tier, x.used, x.lines);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backup_compliance_row& x) {
  return f(caf::meta::type_name("backup_compliance_row"), x.service, x.policy, x.copies, x.media,
           x.offsite, x.meets_3_2_1, x.newest_verified_ms, x.age_ms, x.rpo_ms, x.rpo_met, x.gaps);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backup_compliance_query& x) {
  return f(caf::meta::type_name("backup_compliance_query"), x.service);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replicated_backup& x) {
  return f(caf::meta::type_name("replicated_backup"), x.node, x.record);
}
template <class Inspector> typename Inspector::result_type inspect(Inspector& f, backup_import& x) {
  return f(caf::meta::type_name("backup_import"), x.self, x.backups);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backup_job_done& x) {
  return f(caf::meta::type_name("backup_job_done"), x.job, x.outcome);
}

} // namespace switchyard

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchyard::state_capture)

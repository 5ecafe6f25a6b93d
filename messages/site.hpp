// Whole-site work: the impact assessment of moving every service's primary
// from one site to another, the site switchover itself (two-phase commit
// over the services, journaled), and DR drills that measure it.
// See docs/disaster-recovery.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/ids.hpp"

namespace switchyard {

/// What a site switchover is for. A drill's two legs are journaled as
/// drill and drill_failback.
enum class site_operation : std::uint8_t { switchover, failback, drill, drill_failback };

/// A site switchover as the coordinator log has it. `preparing`: undecided
/// (a crash aborts it); `committed`: the decision is durable (a crash
/// carries it through); then `completed`, `failed` or `aborted`.
enum class site_state : std::uint8_t { preparing, committed, completed, failed, aborted };

/// One service's part in a site switchover.
enum class participant_state : std::uint8_t {
  pending,        ///< not prepared yet
  prepared,       ///< pre-checks passed, reserved, prepare actions done
  prepare_failed, ///< its prepare failed or timed out: the switchover aborts
  aborted,        ///< prepared, then released (its prepare actions rolled back)
  committing,     ///< its switchover runs
  committed,      ///< its primary is on the new site
  failed          ///< its switchover failed after the decision
};

const char* to_string(site_operation x);
const char* to_string(site_state x);
const char* to_string(participant_state x);

/// One check of the verification at the end of a site switchover.
struct verification_check {
  std::string name; ///< "available", "integrity:<action>", "performance"
  bool ok = false;
  std::string detail; ///< with numbers: how long it took, what the check printed
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, verification_check& x) {
  return f(caf::meta::type_name("verification_check"), x.name, x.ok, x.detail);
}

struct site_participant {
  service_id service;
  instance_id from;        ///< its primary, on the site being left
  instance_id to;          ///< the instance on the new site that becomes primary
  std::uint32_t level = 0; ///< dependency level: 0 first; one level runs in parallel
  participant_state state = participant_state::pending;
  switchover_id switchover{0};   ///< the service's own switchover (journal) once committing
  std::int64_t estimated_ms = 0; ///< the plan's estimated failover time
  std::int64_t rto_ms = 0;       ///< the service's objectives
  std::int64_t rpo_ms = 0;
  /// Replication position gap (old primary ahead of the target, in the
  /// position action's unit, e.g. bytes); -1: unknown (no position action).
  std::int64_t gap = -1;
  std::string blocker;          ///< assessment: why it cannot take part now (empty: it can)
  std::string detail;           ///< prepare / commit outcome
  std::int64_t prepared_ms = 0; ///< unix epoch ms; 0: not yet
  std::int64_t commit_started_ms = 0;
  std::int64_t commit_finished_ms = 0;
  std::int64_t verified_ms = 0; ///< when verification ended for it
  bool verified = false;
  std::vector<verification_check> checks;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, site_participant& x) {
  return f(caf::meta::type_name("site_participant"), x.service, x.from, x.to, x.level, x.state,
           x.switchover, x.estimated_ms, x.rto_ms, x.rpo_ms, x.gap, x.blocker, x.detail,
           x.prepared_ms, x.commit_started_ms, x.commit_finished_ms, x.verified_ms, x.verified,
           x.checks);
}

/// A site switchover: the assessment (id 0) or the journaled operation.
struct site_record {
  std::int64_t id = 0;
  site_operation operation = site_operation::switchover;
  std::string from_site;
  std::string to_site;
  site_state state = site_state::preparing;
  std::string principal;
  std::string reason;
  std::int64_t drill = 0; ///< the drill this is a leg of; 0: none
  std::int64_t started_ms = 0;
  std::int64_t decided_ms = 0; ///< when the commit decision was journaled; 0: undecided
  std::int64_t finished_ms = 0;
  std::uint32_t parallelism = 1;
  /// Estimated RTO: per dependency level, the parallel batches' longest
  /// estimated failover time, summed.
  std::int64_t estimated_rto_ms = 0;
  std::vector<std::string> blockers;  ///< why it cannot run now; empty: it can
  std::vector<std::string> untouched; ///< services with no primary on `from_site`
  std::string detail;
  std::vector<site_participant> participants; ///< in order of work
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, site_record& x) {
  return f(caf::meta::type_name("site_record"), x.id, x.operation, x.from_site, x.to_site, x.state,
           x.principal, x.reason, x.drill, x.started_ms, x.decided_ms, x.finished_ms, x.parallelism,
           x.estimated_rto_ms, x.blockers, x.untouched, x.detail, x.participants);
}

using site_record_list = std::vector<site_record>;

/// Cluster mode: the site switchover etcd holds as in flight (its leader may
/// be gone), handed to the site coordinator after every read of the
/// replicated state. `leader_id` empty: none is in flight.
struct site_takeover {
  site_record record; ///< as its leader last journaled it; record.id is that leader's id
  std::string leader_id;
  std::int64_t leader_epoch = 0; ///< the term that wrote it last
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, site_takeover& x) {
  return f(caf::meta::type_name("site_takeover"), x.record, x.leader_id, x.leader_epoch);
}

/// An operator's site switchover (or failback), its assessment (dry run).
struct site_request {
  std::string from_site;
  std::string to_site;
  std::string principal;
  std::string reason;
  bool dry_run = false; ///< assess only
  site_operation operation = site_operation::switchover;
  /// A failback: the operator has resolved the data that diverged on the
  /// site being returned to (otherwise such data blocks the failback).
  bool accept_divergence = false;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, site_request& x) {
  return f(caf::meta::type_name("site_request"), x.from_site, x.to_site, x.principal, x.reason,
           x.dry_run, x.operation, x.accept_divergence);
}

/// A DR drill: a site switchover to `site`, then (by default) back.
struct drill_request {
  std::string site;
  bool failback = true;
  std::string principal;
  std::string reason;
  /// Also test-restore each moved service's newest backups (a verification:
  /// fetched, checksummed, restored in scratch) and report it.
  bool restore_backups = false;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, drill_request& x) {
  return f(caf::meta::type_name("drill_request"), x.site, x.failback, x.principal, x.reason,
           x.restore_backups);
}

/// One step of a service's switchover in a drill, as the journal timed it.
struct drill_step {
  std::string name;
  std::string phase;
  bool ok = false;
  std::int64_t duration_ms = 0;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, drill_step& x) {
  return f(caf::meta::type_name("drill_step"), x.name, x.phase, x.ok, x.duration_ms);
}

/// What a drill measured for one service (the switchover leg).
struct drill_service_result {
  service_id service;
  bool passed = false;
  std::int64_t rto_ms = -1; ///< achieved: drill start to verified; -1: never verified
  std::int64_t rto_objective_ms = 0;
  /// Achieved data loss: the position gap when its switchover began; -1: unknown.
  std::int64_t rpo = -1;
  std::int64_t rpo_objective_ms = 0;
  std::string detail; ///< why it failed, or a summary
  std::vector<drill_step> steps;
  std::vector<verification_check> checks;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drill_service_result& x) {
  return f(caf::meta::type_name("drill_service_result"), x.service, x.passed, x.rto_ms,
           x.rto_objective_ms, x.rpo, x.rpo_objective_ms, x.detail, x.steps, x.checks);
}

struct drill_report {
  std::int64_t id = 0;
  std::string from_site;
  std::string to_site;
  std::string principal;
  bool failback = true;
  bool passed = false;
  std::int64_t started_ms = 0;
  std::int64_t finished_ms = 0;
  std::int64_t rto_ms = -1;             ///< overall: drill start to the last service verified
  std::int64_t switchover = 0;          ///< the first leg's site switchover id
  std::int64_t failback_switchover = 0; ///< the failback leg's; 0: none
  bool topology_restored = false;       ///< after failback: every primary back where it was
  std::string detail;
  std::vector<drill_service_result> services;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, drill_report& x) {
  return f(caf::meta::type_name("drill_report"), x.id, x.from_site, x.to_site, x.principal,
           x.failback, x.passed, x.started_ms, x.finished_ms, x.rto_ms, x.switchover,
           x.failback_switchover, x.topology_restored, x.detail, x.services);
}

using drill_report_list = std::vector<drill_report>;

/// Reads: one site switchover (id), the newest (id 0, `limit`), or drills.
struct site_query {
  std::int64_t id = 0;
  std::uint32_t limit = 20;
  bool unfinished = false; ///< only those still preparing or committed (recovery at start)
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, site_query& x) {
  return f(caf::meta::type_name("site_query"), x.id, x.limit, x.unfinished);
}

struct drill_query {
  std::int64_t id = 0; ///< 0: the newest `limit`
  std::uint32_t limit = 20;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, drill_query& x) {
  return f(caf::meta::type_name("drill_query"), x.id, x.limit);
}

/// The last drill of each service, for its status.
struct service_drill {
  service_id service;
  std::int64_t drill = 0; ///< 0: never drilled
  std::int64_t finished_ms = 0;
  bool passed = false;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, service_drill& x) {
  return f(caf::meta::type_name("service_drill"), x.service, x.drill, x.finished_ms, x.passed);
}

using service_drill_list = std::vector<service_drill>;

/// Journals a site switchover (id 0: a new one) with all its participants,
/// in one transaction; the store replies with its id.
struct site_save {
  site_record record;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, site_save& x) {
  return f(caf::meta::type_name("site_save"), x.record);
}

/// Stores a drill report (id 0: a new one); the store replies with its id.
struct drill_save {
  drill_report report;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, drill_save& x) {
  return f(caf::meta::type_name("drill_save"), x.report);
}

/// Work on one participant that runs actions (blocking, on the runner).
enum class site_work : std::uint8_t {
  prepare, ///< the strategy's prepare actions against the target, then the position gap
  undo,    ///< the prepare actions' rollback commands, in reverse
  gap      ///< the replication position gap only (read-only)
};

struct site_prepare {
  service_id service;
  instance_id primary;
  instance_id target;
  site_work work = site_work::prepare;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, site_prepare& x) {
  return f(caf::meta::type_name("site_prepare"), x.service, x.primary, x.target, x.work);
}

struct site_prepare_outcome {
  bool ok = false;
  std::string detail;
  std::int64_t gap = -1; ///< old primary's position minus the target's; -1: unknown
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, site_prepare_outcome& x) {
  return f(caf::meta::type_name("site_prepare_outcome"), x.ok, x.detail, x.gap);
}

/// The strategy's integrity actions against a service's new primary.
struct integrity_check {
  service_id service;
  instance_id old_primary;
  instance_id new_primary;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, integrity_check& x) {
  return f(caf::meta::type_name("integrity_check"), x.service, x.old_primary, x.new_primary);
}

struct integrity_outcome {
  std::vector<verification_check> checks;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, integrity_outcome& x) {
  return f(caf::meta::type_name("integrity_outcome"), x.checks);
}

/// Reserves a service for a site switchover (or releases it): no automatic
/// failover and no other switchover of it until released.
struct reserve_request {
  service_id service;
  std::int64_t site_switchover = 0;
  bool release = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reserve_request& x) {
  return f(caf::meta::type_name("reserve_request"), x.service, x.site_switchover, x.release);
}

} // namespace switchyard

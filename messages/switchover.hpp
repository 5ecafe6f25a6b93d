// Switchovers and their step journal: every step is written (step_start)
// before its side effect and completed (step_finish) after it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/timestamp.hpp>

#include "messages/detection.hpp"
#include "messages/ids.hpp"
#include "messages/plan.hpp"

namespace switchyard {

enum class switchover_kind : std::uint8_t {
  automatic_failover,
  planned_switchover,
  forced_failover
};
enum class switchover_status : std::uint8_t { running, completed, failed };

enum class step_status : std::uint8_t { started, done, failed };

const char* to_string(switchover_kind x);
const char* to_string(switchover_status x);
const char* to_string(step_status x);

/// One decision of the coordinator on a detection, as journaled (also those
/// made in shadow mode, which only say what would have happened).
struct decision_record {
  std::int64_t id = 0;
  service_id service;
  detection_id detection{0};
  std::string verdict; ///< "fail over", "would fail over", "blocked", "no target", "ignore"
  bool shadow = false; ///< made in shadow mode: nothing was done
  std::string reason;
  std::int64_t at_ms = 0; ///< unix epoch milliseconds; 0 when writing: now
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, decision_record& x) {
  return f(caf::meta::type_name("decision_record"), x.id, x.service, x.detection, x.verdict,
           x.shadow, x.reason, x.at_ms);
}

/// Opens a switchover in the journal; the store replies with its switchover_id.
struct switchover_start {
  service_id service;
  switchover_kind kind = switchover_kind::automatic_failover;
  instance_id from;
  instance_id to;
  detection_id detection{0}; ///< 0 for operator-triggered work
  std::int64_t plan_version = 0;
  epoch new_epoch{0}; ///< the fencing number the switchover runs under
  std::string reason;
  /// With persist_plan, `plan` is saved in the same transaction as the
  /// switchover row and plan_version is the version it gets: the plan is
  /// persisted before anything runs, without a commit of its own on the path.
  bool persist_plan = false;
  failover_plan plan{};
  /// Reserved beforehand (persistence/switchover_ids.hpp), or 0: the store
  /// gives the switchover the next id when it opens it.
  switchover_id id{0};
  /// The decision that started it (an automatic failover), journaled in the
  /// same transaction as the opening: no commit of its own on the path. None
  /// when its verdict is empty.
  decision_record decision{};
  /// Cluster mode: the fencing epoch of the leader that opened it (0: a
  /// single switchyardd).
  std::int64_t leader_epoch = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, switchover_start& x) {
  return f(caf::meta::type_name("switchover_start"), x.service, x.kind, x.from, x.to, x.detection,
           x.plan_version, x.new_epoch, x.reason, x.persist_plan, x.plan, x.id, x.decision,
           x.leader_epoch);
}

/// Journals a step as started, before its action runs; the store replies with its step_id.
struct step_start {
  switchover_id switchover{0};
  plan_step step;
  epoch run_epoch{0};
  std::int64_t leader_epoch = 0; ///< cluster mode: the leader's fencing epoch
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, step_start& x) {
  return f(caf::meta::type_name("step_start"), x.switchover, x.step, x.run_epoch, x.leader_epoch);
}

/// Opens a switchover with a reserved id (`start.id`) together with its first
/// step, in one transaction; the store replies with the step's id.
struct switchover_opening {
  switchover_start start;
  step_start first_step;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, switchover_opening& x) {
  return f(caf::meta::type_name("switchover_opening"), x.start, x.first_step);
}

/// Journals a step as done or failed, after its action returned.
struct step_finish {
  step_id step{0};
  bool ok = false;
  std::string detail; ///< exit status, timing, the action's output tail
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, step_finish& x) {
  return f(caf::meta::type_name("step_finish"), x.step, x.ok, x.detail);
}

/// Closes a switchover. On success the store records `new_primary` and
/// `new_epoch` as the service's topology in the same transaction.
struct switchover_finish {
  switchover_id switchover{0};
  service_id service;
  switchover_status status = switchover_status::failed;
  instance_id new_primary; ///< only meaningful when status == completed
  epoch new_epoch{0};
  std::string detail;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, switchover_finish& x) {
  return f(caf::meta::type_name("switchover_finish"), x.switchover, x.service, x.status,
           x.new_primary, x.new_epoch, x.detail);
}

/// A step a resumed switchover already has in the journal.
struct journaled_step {
  std::uint32_t sequence = 0;
  std::string name;
  step_status status = step_status::started;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, journaled_step& x) {
  return f(caf::meta::type_name("journaled_step"), x.sequence, x.name, x.status);
}

/// Work handed from the failover coordinator to the failover runner.
struct failover_job {
  switchover_kind kind = switchover_kind::automatic_failover;
  failure_detection detection; ///< what triggered it (id 0 for operator work)
  failover_plan plan;          ///< the plan to execute
  /// 0: a new switchover; the runner persists the plan with its opening row.
  /// Otherwise the persisted version (a resumed switchover).
  std::int64_t plan_version = 0;
  instance_id from; ///< the primary being replaced
  instance_id to;   ///< the standby being promoted
  epoch new_epoch{0};
  std::string reason;
  /// Non-zero: resume this switchover (interrupted by a restart of
  /// switchyardd) instead of opening a new one; `journaled` is what it has done.
  switchover_id resume{0};
  std::vector<journaled_step> journaled;
  /// Journaled with the opening (switchover_start::decision); empty verdict: none.
  decision_record decision{};
  /// Cluster mode, non-zero: continues switchover `takeover` of a leader that
  /// is gone (its id in the replicated intent) as a new switchover here;
  /// `journaled` is the progress the intent recorded.
  switchover_id takeover{0};
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, failover_job& x) {
  return f(caf::meta::type_name("failover_job"), x.kind, x.detection, x.plan, x.plan_version,
           x.from, x.to, x.new_epoch, x.reason, x.resume, x.journaled, x.decision, x.takeover);
}

/// What the runner reports back when a failover job has ended.
struct failover_result {
  service_id service;
  switchover_id switchover{0};
  bool success = false;
  instance_id new_primary;
  epoch new_epoch{0};
  std::string detail;  ///< on failure: which step failed and why
  std::string alert{}; ///< an operator must act now (e.g. fencing failed)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, failover_result& x) {
  return f(caf::meta::type_name("failover_result"), x.service, x.switchover, x.success,
           x.new_primary, x.new_epoch, x.detail, x.alert);
}

/// An operator's planned switchover or forced failover (or its dry run),
/// sent by the API to the coordinator.
struct switchover_request {
  service_id service;
  instance_id target; ///< empty: the best healthy standby
  std::string reason;
  std::string principal; ///< who asked (from the API token), for the journal
  bool dry_run = false;  ///< plan and check only; touch nothing
  bool force = false;    ///< overrides the block period (and, for failovers, a healthy primary)
  /// planned_switchover: the old primary cooperates (demote steps run);
  /// forced_failover: it is gone (demote steps are skipped, fencing is not).
  switchover_kind kind = switchover_kind::planned_switchover;
  /// Sent by the site switchover holding the service's reservation; 0: an
  /// operator's own request (refused while the service is reserved).
  std::int64_t site_switchover = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, switchover_request& x) {
  return f(caf::meta::type_name("switchover_request"), x.service, x.target, x.reason, x.principal,
           x.dry_run, x.force, x.kind, x.site_switchover);
}

/// The coordinator's answer: refused by a pre-check, the dry-run plan, or the
/// outcome of the executed switchover.
struct switchover_reply {
  bool accepted = false; ///< pre-checks passed
  bool executed = false; ///< steps ran (false for dry runs and refusals)
  bool success = false;  ///< executed and completed
  switchover_id switchover{0};
  failover_plan plan; ///< the steps that would run / ran
  std::string detail; ///< why refused, or the outcome
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, switchover_reply& x) {
  return f(caf::meta::type_name("switchover_reply"), x.accepted, x.executed, x.success,
           x.switchover, x.plan, x.detail);
}

/// Asks the runner to run the strategy's pre-checks (blocking) for the
/// promotion candidates of a service, best first, until one passes.
struct candidate_check {
  service_id service;
  instance_id current_primary;
  std::vector<instance_id> candidates;
  /// A readiness check: also run the strategy's readiness actions against
  /// the chosen (or else the first) candidate; changes nothing.
  bool readiness = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, candidate_check& x) {
  return f(caf::meta::type_name("candidate_check"), x.service, x.current_primary, x.candidates,
           x.readiness);
}

struct candidate_verdict {
  instance_id chosen;               ///< empty: every candidate was refused
  std::vector<std::string> reasons; ///< why each refused candidate was refused, in order
  std::string ranking{};            ///< the candidates' replication positions, when read
  std::vector<std::string> readiness_problems{}; ///< failed readiness actions (readiness checks)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, candidate_verdict& x) {
  return f(caf::meta::type_name("candidate_verdict"), x.chosen, x.reasons, x.ranking,
           x.readiness_problems);
}

/// Make `instance`, healthy again while `primary` is primary, a replica of it
/// (the strategy's rejoin actions), recording any divergence.
struct rejoin_request {
  service_id service;
  instance_id instance;
  instance_id primary;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rejoin_request& x) {
  return f(caf::meta::type_name("rejoin_request"), x.service, x.instance, x.primary);
}

/// Start `instance`, the primary whose process died on a host that still
/// answers, again in place (the strategy's restart_in_place actions).
struct restart_request {
  service_id service;
  instance_id instance;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, restart_request& x) {
  return f(caf::meta::type_name("restart_request"), x.service, x.instance);
}

struct restart_outcome {
  bool ok = false;
  std::string detail;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, restart_outcome& x) {
  return f(caf::meta::type_name("restart_outcome"), x.ok, x.detail);
}

struct rejoin_outcome {
  bool ok = false;
  std::string detail;
  std::string divergence; ///< non-empty: it held writes the primary never received
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rejoin_outcome& x) {
  return f(caf::meta::type_name("rejoin_outcome"), x.ok, x.detail, x.divergence);
}

} // namespace switchyard

// Inside the failover coordinator: the helpers its units (decision,
// execution, readiness, maintenance, recovery, reload) share. Every one takes
// the actor itself and runs in it. Not for use outside the coordinator.
#pragma once

#include <functional>
#include <string>

#include <caf/result.hpp>

#include "actors/failover_coordinator.hpp"

namespace switchyard::actors::coordinator {

using coord_ptr = coordinator_actor::stateful_pointer<failover_coordinator_state>;

// --- decision (failover_coordinator_decision.cpp): detections and requests to decisions

/// Records the latest decision for status queries and tells live watchers.
void note_decision(coord_ptr self, const std::string& service, std::string text);
/// Journals a decision on a detection (and notes it), before any later
/// request of this coordinator to the store. `summary`: the noted text, when
/// not "detection #N: <verdict>: <reason>".
void record_decision(coord_ptr self, const failure_detection& d, const std::string& verdict_text,
                     const std::string& reason, bool shadow, std::string summary = {});
/// Decides on a failure detection of one service (also one decided again).
void handle_detection(coord_ptr self, const failure_detection& d);
/// A detection as it arrives: kept for later while the topology is loading
/// or a reload is applied, else decided on.
void on_detection(coord_ptr self, failure_detection& d);
/// Decides again on the failures `why` held back, of every service but `except`.
void retry_pending(coord_ptr self, hold why, const std::string& except);
/// An operator's planned switchover or forced failover.
caf::result<switchover_reply> handle_switchover_request(coord_ptr self, switchover_request& req);
/// A site switchover reserving (or releasing) a service.
caf::result<caf::ok_atom> handle_reserve(coord_ptr self, const reserve_request& req);
/// An instance's health changed.
void on_health_transition(coord_ptr self, const health_transition& t);

// --- restart in place (failover_coordinator_restart.cpp)

/// Before failing over a primary whose process died on a host that answers:
/// starts it again in place when the strategy says so; true when it did (or
/// one is running), and the detection is decided again when the restart
/// failed or its deadline passed.
bool restart_first(coord_ptr self, const failure_detection& d);
/// `instance` turned healthy: if it is a primary being restarted in place,
/// that ended well (journaled; no failover).
void restarted_in_place(coord_ptr self, const std::string& service, const std::string& instance);

// --- execution (failover_coordinator_execution.cpp): the job on the runner and its result

using done_fn = std::function<void(const failover_result&)>;
/// Tells the classifier the service's primary and epoch.
void tell_classifier(coord_ptr self, const std::string& service);
/// What happens when the runner reports the end of a switchover of
/// `service`: the topology changes only on success; `done` is called once.
std::function<void(failover_result)> on_switchover_end(coord_ptr self, const std::string& service,
                                                       const char* what, done_fn done);
/// Hands the job (and its plan) to the runner and applies the outcome.
/// `decision`, if it has a verdict, is journaled with the switchover's opening.
void start_switchover(coord_ptr self, switchover_kind kind, const failure_detection& d,
                      failover_plan plan, std::string reason, done_fn done,
                      decision_record decision = {});
/// Makes an instance healthy again while another is primary a replica of it.
void maybe_rejoin(coord_ptr self, const std::string& service, const std::string& instance);

// --- cluster mode (failover_coordinator_cluster.cpp)

/// The primaries the leader replicated: adopted where newer than this view.
void apply_replicated(coord_ptr self, const topology_list& topo);
/// Leadership or the replicas' views changed: when this replica may act now,
/// carries on what a former leader left in flight and decides again on the
/// failures held back (while it could not act, or for want of a quorum).
void on_leadership_change(coord_ptr self);
/// The switchovers a former leader left in flight (replacing the last list);
/// carried on now if this replica may act.
void note_left_in_flight(coord_ptr self, interrupted_list& left);
/// Carries on the switchovers left in flight, when this replica may act.
void take_over_left(coord_ptr self);
/// Why this replica may not act, for decisions and refusals.
std::string not_leading(const control_authority& authority);

// --- timers (failover_coordinator.cpp): the periodic tick and TILT

/// Before a decision: a periodic timer already late is TILT as well.
void check_timers(coord_ptr self);

// --- readiness (failover_coordinator_readiness.cpp)

/// Logs and streams a change of a service's readiness.
void report_readiness(coord_ptr self, const std::string& service);
/// The full readiness check of `service` (pre-checks and readiness actions).
void check_readiness(coord_ptr self, const std::string& service);
/// The periodic readiness timer of `service`: checks it and arms the next.
void on_readiness_timer(coord_ptr self, const service_id& service);
/// The classifier could (not) journal a failure of an instance.
void on_unjournaled(coord_ptr self, unjournaled_detection& u);

// --- maintenance (failover_coordinator_maintenance.cpp)

/// Makes a persisted window effective and arms its expiry timer.
void apply_maintenance(coord_ptr self, maintenance_record m);
caf::result<maintenance_reply> handle_maintenance(coord_ptr self, maintenance_request& req);
void handle_expiry(coord_ptr self, const maintenance_expiry& e);
/// Cluster mode: makes this replica's windows those etcd holds (all of them).
void apply_replicated_windows(coord_ptr self, const maintenance_list& windows);

// --- recovery at start (failover_coordinator_recovery.cpp)

/// Loads the persisted state from the store (retrying until it is running).
void start_loading(coord_ptr self);
/// Hands a resumed or taken-over switchover's job to the runner (the service
/// is marked in flight) and applies its outcome.
void hand_to_runner(coord_ptr self, const std::string& service, const char* what, failover_job job);
/// Checks whether adopted switchovers (still running at start) have ended.
void check_adopted(coord_ptr self);

// --- reload (failover_coordinator_reload.cpp)

/// Replays what waited for the topology or a reload.
void replay_early(coord_ptr self);
caf::result<caf::ok_atom> handle_reload(coord_ptr self, config_update update);

} // namespace switchyard::actors::coordinator

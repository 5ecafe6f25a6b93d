// Typed actor interfaces: the only way actors in different files refer to
// each other. Untyped caf::actor handles never leave the file that made them.
#pragma once

#include <cstdint>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/type_ids.hpp"

namespace switchyard {

/// The only owner of the SQLite connection.
using store_actor = caf::typed_actor<
    // health history (fire and forget: a lost history row never blocks a failover)
    caf::reacts_to<health_transition>,
    // persists a detection; replies with its id
    caf::replies_to<failure_detection>::with<detection_id>,
    // ... and, once committed, hands it to the coordinator
    caf::replies_to<detection_to_act_on>::with<detection_id>,
    // the store's own group-commit tick: commits the writes gathered so far
    caf::reacts_to<flush_atom>,
    // persists a plan if it changed; replies with the plan's version for its service
    caf::replies_to<failover_plan>::with<std::int64_t>,
    // the switchover journal
    caf::replies_to<switchover_start>::with<switchover_id>,
    caf::replies_to<switchover_opening>::with<step_id>, // a reserved switchover and its first step
    caf::replies_to<step_start>::with<step_id>, caf::replies_to<step_finish>::with<caf::ok_atom>,
    caf::replies_to<switchover_finish>::with<caf::ok_atom>,
    // the last known primary and epoch of every service
    caf::replies_to<load_topo_atom>::with<topology_list>,
    // reads for the API
    caf::replies_to<switchovers_query>::with<switchover_record_list>,
    caf::replies_to<switchover_id>::with<switchover_detail>,
    caf::replies_to<detections_query>::with<detection_record_list>,
    // health transitions since a time: a restarted classifier's flapping history
    caf::replies_to<health_history_query>::with<health_event_list>,
    // the coordinator's decisions on detections (shadow ones too): write, newest first
    caf::replies_to<decision_record>::with<std::int64_t>,
    caf::replies_to<decisions_query>::with<decision_record_list>,
    // availability per service and instance from the health history
    caf::replies_to<availability_query>::with<availability_list>,
    caf::replies_to<plan_atom, service_id>::with<plan_record>,
    // the audit trail: every audited API call is written before it is answered
    caf::replies_to<audit_record>::with<std::int64_t>,
    caf::replies_to<audit_query>::with<audit_record_list>,
    // maintenance windows: set (insert or replace), clear, load all
    caf::replies_to<maintenance_record>::with<caf::ok_atom>,
    caf::replies_to<maintenance_clear>::with<caf::ok_atom>,
    caf::replies_to<maint_atom>::with<maintenance_list>,
    // switchovers left running by a previous switchyardd, to resume
    caf::replies_to<resume_atom>::with<interrupted_list>,
    // a reload: record the new configuration's services and instances
    caf::replies_to<config_update>::with<caf::ok_atom>,
    // site switchovers (the two-phase commit's coordinator log) and drills
    caf::replies_to<site_save>::with<std::int64_t>,
    caf::replies_to<site_query>::with<site_record_list>,
    caf::replies_to<drill_save>::with<std::int64_t>,
    caf::replies_to<drill_query>::with<drill_report_list>,
    // the last drill of every service that has one
    caf::replies_to<drill_atom>::with<service_drill_list>,
    // the backup catalog, and points of switchyardd's own state to back up
    caf::replies_to<backup_begin>::with<std::int64_t>,
    caf::replies_to<backup_finish>::with<caf::ok_atom>,
    caf::replies_to<backup_verification>::with<caf::ok_atom>,
    caf::replies_to<backups_query>::with<backup_list>,
    caf::replies_to<backup_forget>::with<caf::ok_atom>,
    caf::replies_to<state_recorder_query>::with<std::int64_t>,
    caf::replies_to<state_capture_request>::with<state_capture>,
    // cluster mode: other replicas' service backups merged into the catalog
    caf::replies_to<backup_import>::with<caf::ok_atom>>;

/// Turns health transitions into classified failure detections. The
/// coordinator tells it who is primary (service_topology) so it can rate severity.
using classifier_actor =
    caf::typed_actor<caf::reacts_to<health_transition>, caf::reacts_to<service_topology>>;

/// The classifier as spawned: also takes the coordinator's reloads (new
/// services and dependencies) and its own timers that end held failures.
/// Senders of transitions need only classifier_actor.
using classifier_full_actor =
    classifier_actor::extend<caf::reacts_to<config_update>, caf::reacts_to<hold_atom>,
                             // the performance monitor's degraded / back-to-normal verdicts
                             caf::reacts_to<performance_verdict>>;

/// One decision point per service: owns topology and safety rules.
using coordinator_actor =
    caf::typed_actor<caf::reacts_to<health_transition>,
                     // (re)loads the persisted topology from the store; sent to itself at start
                     caf::reacts_to<load_topo_atom>, caf::reacts_to<failure_detection>,
                     // a detection the classifier could not journal yet (or now could)
                     caf::reacts_to<unjournaled_detection>,
                     caf::replies_to<get_state_atom>::with<service_state_list>,
                     caf::replies_to<summary_atom>::with<fleet_summary>,
                     // operator-triggered switchover or failover; replies when it has ended
                     caf::replies_to<switchover_request>::with<switchover_reply>,
                     // operator maintenance on/off (persisted before it takes effect)
                     caf::replies_to<maintenance_request>::with<maintenance_reply>,
                     caf::reacts_to<maintenance_expiry>,
                     // checks on switchovers a previous incarnation left running in this process
                     caf::reacts_to<adopt_atom>,
                     // its periodic timer: a late one enters TILT
                     caf::reacts_to<tick_atom>,
                     // cluster mode: the replicated primaries; leadership changed
                     // and the switchovers a former leader left in flight
                     caf::reacts_to<cluster_atom, topology_list>, caf::reacts_to<cluster_atom>,
                     caf::reacts_to<cluster_atom, interrupted_list>,
                     caf::reacts_to<cluster_atom, maintenance_list>,
                     // a service's periodic readiness check: could a failover succeed now?
                     caf::reacts_to<ready_atom, service_id>,
                     // the plan it would run now, per service (empty id: all), for export
                     caf::replies_to<plan_atom, service_id>::with<exported_plan_list>,
                     // a reload: refused while an affected service is switching over;
                     // otherwise persisted (store), handed to the runner, then applied
                     caf::replies_to<config_update>::with<caf::ok_atom>,
                     // a site switchover reserves its services (or releases them)
                     caf::replies_to<reserve_request>::with<caf::ok_atom>>;

/// Executes failover jobs (blocking actions run off the cooperative scheduler).
using runner_actor = caf::typed_actor<caf::replies_to<failover_job>::with<failover_result>,
                                      // the strategy's pre-checks of promotion candidates
                                      caf::replies_to<candidate_check>::with<candidate_verdict>,
                                      // a returning instance made a replica of the primary
                                      caf::replies_to<rejoin_request>::with<rejoin_outcome>,
                                      // a dead primary started again in place
                                      caf::replies_to<restart_request>::with<restart_outcome>,
                                      // a site switchover's prepare / undo / position gap
                                      caf::replies_to<site_prepare>::with<site_prepare_outcome>,
                                      // a site switchover's data integrity checks
                                      caf::replies_to<integrity_check>::with<integrity_outcome>,
                                      // jobs after this one use the new configuration
                                      caf::reacts_to<config_update>>;

/// Whole-site work (docs/disaster-recovery.md): the impact assessment (a
/// dry run), site switchovers and failbacks as a two-phase commit over the
/// services, DR drills. Replies when the work has ended.
using site_coordinator_actor =
    caf::typed_actor<caf::replies_to<site_request>::with<site_record>,
                     caf::replies_to<drill_request>::with<drill_report>,
                     // at start: carries committed decisions through, aborts undecided ones
                     caf::reacts_to<resume_atom>,
                     // cluster mode: the site switchover in flight in etcd, and
                     // a change of leadership (a new leader carries it on)
                     caf::reacts_to<cluster_atom, site_takeover>, caf::reacts_to<cluster_atom>>;

/// Backups (docs/backups.md): takes them on each tier's schedule and on
/// request, verifies and restores them, and judges 3-2-1 and RPO. The I/O
/// runs in jobs of its own, off the cooperative scheduler.
using backup_manager_actor =
    caf::typed_actor<caf::replies_to<backup_create_request>::with<backup_list>,
                     caf::replies_to<backup_verify_request>::with<backup_outcome>,
                     caf::replies_to<backup_restore_request>::with<backup_outcome>,
                     caf::replies_to<backup_compliance_query>::with<backup_compliance_list>,
                     caf::replies_to<backups_query>::with<backup_list>,
                     // a job's result; its timer; a reload
                     caf::reacts_to<backup_job_done>, caf::reacts_to<tick_atom>,
                     caf::reacts_to<config_update>,
                     // cluster mode: the service backups every leader replicated
                     caf::reacts_to<cluster_atom, replicated_backup_list>>;

/// Fans orchestrator events out to the API's watchers; publishers never wait.
using events_actor = caf::typed_actor<caf::reacts_to<orchestrator_event>>;

/// Performance of instances: every probe's outcome from the health checkers,
/// scrapes from its metrics scrapers, and (by way of the classifier) who is
/// primary and the reloaded services.
using performance_monitor_actor =
    caf::typed_actor<caf::reacts_to<probe_sample>, caf::reacts_to<metrics_scrape>,
                     caf::reacts_to<service_topology>, caf::reacts_to<config_update>>;

/// Scrapes one instance's metrics endpoint on its own timer.
using metrics_scraper_actor = caf::typed_actor<caf::reacts_to<tick_atom>>;

/// A health checker reacts to its own timer, to the probe engine telling it
/// that the connection its probe holds was closed by the peer, and to the
/// engine's result of the probe it started.
using health_checker_actor =
    caf::typed_actor<caf::reacts_to<probe_atom>, caf::reacts_to<conn_lost_atom>,
                     caf::reacts_to<probe_result>>;

} // namespace switchyard

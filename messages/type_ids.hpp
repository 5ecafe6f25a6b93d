// The project's single CAF type-ID block and its atoms. Every message element
// type is listed here; CAF_ENABLE_TYPE_ID_CHECKS turns a missing one into a
// compile error.
#pragma once

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

#include "messages/availability.hpp"
#include "messages/backup.hpp"
#include "messages/config_update.hpp"
#include "messages/detection.hpp"
#include "messages/event.hpp"
#include "messages/health.hpp"
#include "messages/ids.hpp"
#include "messages/maintenance.hpp"
#include "messages/performance.hpp"
#include "messages/plan.hpp"
#include "messages/probe_result.hpp"
#include "messages/records.hpp"
#include "messages/site.hpp"
#include "messages/supervision.hpp"
#include "messages/switchover.hpp"
#include "messages/topology.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(switchyard, caf::first_custom_type_id)

CAF_ADD_TYPE_ID(switchyard, (switchyard::service_id))
CAF_ADD_TYPE_ID(switchyard, (switchyard::instance_id))
CAF_ADD_TYPE_ID(switchyard, (switchyard::switchover_id))
CAF_ADD_TYPE_ID(switchyard, (switchyard::detection_id))
CAF_ADD_TYPE_ID(switchyard, (switchyard::step_id))
CAF_ADD_TYPE_ID(switchyard, (switchyard::epoch))
CAF_ADD_TYPE_ID(switchyard, (switchyard::probe_sample))
CAF_ADD_TYPE_ID(switchyard, (switchyard::health_transition))
CAF_ADD_TYPE_ID(switchyard, (switchyard::failure_detection))
CAF_ADD_TYPE_ID(switchyard, (switchyard::unjournaled_detection))
CAF_ADD_TYPE_ID(switchyard, (switchyard::failover_plan))
CAF_ADD_TYPE_ID(switchyard, (switchyard::switchover_start))
CAF_ADD_TYPE_ID(switchyard, (switchyard::step_start))
CAF_ADD_TYPE_ID(switchyard, (switchyard::switchover_opening))
CAF_ADD_TYPE_ID(switchyard, (switchyard::step_finish))
CAF_ADD_TYPE_ID(switchyard, (switchyard::switchover_finish))
CAF_ADD_TYPE_ID(switchyard, (switchyard::failover_job))
CAF_ADD_TYPE_ID(switchyard, (switchyard::failover_result))
CAF_ADD_TYPE_ID(switchyard, (switchyard::service_topology))
CAF_ADD_TYPE_ID(switchyard, (switchyard::topology_list))
CAF_ADD_TYPE_ID(switchyard, (switchyard::service_state_list))
CAF_ADD_TYPE_ID(switchyard, (switchyard::switchover_record_list))
CAF_ADD_TYPE_ID(switchyard, (switchyard::detection_record_list))
CAF_ADD_TYPE_ID(switchyard, (switchyard::audit_record_list))
CAF_ADD_TYPE_ID(switchyard, (switchyard::plan_record))
CAF_ADD_TYPE_ID(switchyard, (switchyard::switchover_detail))
CAF_ADD_TYPE_ID(switchyard, (switchyard::audit_record))
CAF_ADD_TYPE_ID(switchyard, (switchyard::switchovers_query))
CAF_ADD_TYPE_ID(switchyard, (switchyard::detections_query))
CAF_ADD_TYPE_ID(switchyard, (switchyard::health_history_query))
CAF_ADD_TYPE_ID(switchyard, (switchyard::health_event_list))
CAF_ADD_TYPE_ID(switchyard, (switchyard::audit_query))
CAF_ADD_TYPE_ID(switchyard, (switchyard::switchover_request))
CAF_ADD_TYPE_ID(switchyard, (switchyard::switchover_reply))
CAF_ADD_TYPE_ID(switchyard, (switchyard::orchestrator_event))
CAF_ADD_TYPE_ID(switchyard, (switchyard::maintenance_record))
CAF_ADD_TYPE_ID(switchyard, (switchyard::maintenance_list))
CAF_ADD_TYPE_ID(switchyard, (switchyard::maintenance_clear))
CAF_ADD_TYPE_ID(switchyard, (switchyard::maintenance_expiry))
CAF_ADD_TYPE_ID(switchyard, (switchyard::maintenance_request))
CAF_ADD_TYPE_ID(switchyard, (switchyard::maintenance_reply))
CAF_ADD_TYPE_ID(switchyard, (switchyard::exported_plan_list))
CAF_ADD_TYPE_ID(switchyard, (switchyard::config_update))
CAF_ADD_TYPE_ID(switchyard, (switchyard::supervisor_update))
CAF_ADD_TYPE_ID(switchyard, (switchyard::candidate_check))
CAF_ADD_TYPE_ID(switchyard, (switchyard::candidate_verdict))
CAF_ADD_TYPE_ID(switchyard, (switchyard::interrupted_list))
CAF_ADD_TYPE_ID(switchyard, (switchyard::rejoin_request))
CAF_ADD_TYPE_ID(switchyard, (switchyard::rejoin_outcome))
CAF_ADD_TYPE_ID(switchyard, (switchyard::restart_request))
CAF_ADD_TYPE_ID(switchyard, (switchyard::restart_outcome))
CAF_ADD_TYPE_ID(switchyard, (switchyard::availability_query))
CAF_ADD_TYPE_ID(switchyard, (switchyard::availability_list))
CAF_ADD_TYPE_ID(switchyard, (switchyard::decision_record))
CAF_ADD_TYPE_ID(switchyard, (switchyard::decisions_query))
CAF_ADD_TYPE_ID(switchyard, (switchyard::decision_record_list))
CAF_ADD_TYPE_ID(switchyard, (switchyard::detection_to_act_on))
CAF_ADD_TYPE_ID(switchyard, (switchyard::metrics_scrape))
CAF_ADD_TYPE_ID(switchyard, (switchyard::performance_verdict))
CAF_ADD_TYPE_ID(switchyard, (switchyard::site_record))
CAF_ADD_TYPE_ID(switchyard, (switchyard::site_record_list))
CAF_ADD_TYPE_ID(switchyard, (switchyard::site_request))
CAF_ADD_TYPE_ID(switchyard, (switchyard::drill_request))
CAF_ADD_TYPE_ID(switchyard, (switchyard::drill_report))
CAF_ADD_TYPE_ID(switchyard, (switchyard::drill_report_list))
CAF_ADD_TYPE_ID(switchyard, (switchyard::site_query))
CAF_ADD_TYPE_ID(switchyard, (switchyard::drill_query))
CAF_ADD_TYPE_ID(switchyard, (switchyard::service_drill_list))
CAF_ADD_TYPE_ID(switchyard, (switchyard::site_save))
CAF_ADD_TYPE_ID(switchyard, (switchyard::drill_save))
CAF_ADD_TYPE_ID(switchyard, (switchyard::site_prepare))
CAF_ADD_TYPE_ID(switchyard, (switchyard::site_prepare_outcome))
CAF_ADD_TYPE_ID(switchyard, (switchyard::integrity_check))
CAF_ADD_TYPE_ID(switchyard, (switchyard::integrity_outcome))
CAF_ADD_TYPE_ID(switchyard, (switchyard::reserve_request))
CAF_ADD_TYPE_ID(switchyard, (switchyard::probe_outcome))
CAF_ADD_TYPE_ID(switchyard, (switchyard::probe_result))
CAF_ADD_TYPE_ID(switchyard, (switchyard::fleet_summary))
CAF_ADD_TYPE_ID(switchyard, (switchyard::site_takeover))
CAF_ADD_TYPE_ID(switchyard, (switchyard::backup_record))
CAF_ADD_TYPE_ID(switchyard, (switchyard::backup_list))
CAF_ADD_TYPE_ID(switchyard, (switchyard::backup_begin))
CAF_ADD_TYPE_ID(switchyard, (switchyard::backup_finish))
CAF_ADD_TYPE_ID(switchyard, (switchyard::backup_verification))
CAF_ADD_TYPE_ID(switchyard, (switchyard::backups_query))
CAF_ADD_TYPE_ID(switchyard, (switchyard::backup_forget))
CAF_ADD_TYPE_ID(switchyard, (switchyard::state_recorder_query))
CAF_ADD_TYPE_ID(switchyard, (switchyard::state_capture_request))
CAF_ADD_TYPE_ID(switchyard, (switchyard::state_capture))
CAF_ADD_TYPE_ID(switchyard, (switchyard::backup_create_request))
CAF_ADD_TYPE_ID(switchyard, (switchyard::backup_verify_request))
CAF_ADD_TYPE_ID(switchyard, (switchyard::backup_restore_request))
CAF_ADD_TYPE_ID(switchyard, (switchyard::backup_outcome))
CAF_ADD_TYPE_ID(switchyard, (switchyard::backup_compliance_row))
CAF_ADD_TYPE_ID(switchyard, (switchyard::backup_compliance_list))
CAF_ADD_TYPE_ID(switchyard, (switchyard::backup_compliance_query))
CAF_ADD_TYPE_ID(switchyard, (switchyard::backup_job_done))
CAF_ADD_TYPE_ID(switchyard, (switchyard::replicated_backup))
CAF_ADD_TYPE_ID(switchyard, (switchyard::replicated_backup_list))
CAF_ADD_TYPE_ID(switchyard, (switchyard::backup_import))

CAF_END_TYPE_ID_BLOCK(switchyard)

namespace switchyard {

// Atoms name requests that carry no payload of their own (max 10 characters).
using probe_atom = caf::atom_constant<caf::atom("probe")>;
using load_topo_atom = caf::atom_constant<caf::atom("load_topo")>;
using get_state_atom = caf::atom_constant<caf::atom("get_state")>;
using crash_atom = caf::atom_constant<caf::atom("crash")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using plan_atom = caf::atom_constant<caf::atom("plan")>;
using maint_atom = caf::atom_constant<caf::atom("maint")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using adopt_atom = caf::atom_constant<caf::atom("adopt")>;
using conn_lost_atom = caf::atom_constant<caf::atom("conn_lost")>;
using hold_atom = caf::atom_constant<caf::atom("hold")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using ready_atom = caf::atom_constant<caf::atom("ready")>;
using drill_atom = caf::atom_constant<caf::atom("drill")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using summary_atom = caf::atom_constant<caf::atom("summary")>;
/// Cluster mode: (cluster_atom, topology_list) the replicated primaries;
/// (cluster_atom, maintenance_list) the replicated maintenance windows;
/// (cluster_atom, site_takeover) the site switchover in flight in etcd;
/// (cluster_atom, replicated_backup_list) the service backups in etcd;
/// (cluster_atom) leadership changed: decide again on what it held back.
using cluster_atom = caf::atom_constant<caf::atom("cluster")>;

} // namespace switchyard

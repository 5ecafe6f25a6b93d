// Human-readable tables and JSON output of the CLI.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "switchyard/v1/switchyard.pb.h"

namespace switchyard::cli {

/// A plain text table: a header row, then rows, columns padded to fit.
void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

/// The message as JSON (proto field names, defaults included), for scripts.
void print_json(std::ostream& out, const google::protobuf::Message& msg);

/// The message as one line of JSON (for streams: one event per line).
void print_json_line(std::ostream& out, const google::protobuf::Message& msg);

/// "2026-11-23 23:49:34" in local time; "-" for 0.
std::string format_time(std::int64_t unix_ms);

void print_status(std::ostream& out, const v1::Status& s);
void print_services(std::ostream& out, const v1::ListServicesResponse& r);
void print_service(std::ostream& out, const v1::ServiceDetail& d);
void print_switchovers(std::ostream& out, const v1::ListSwitchoversResponse& r);
void print_switchover(std::ostream& out, const v1::Switchover& s);
void print_audit(std::ostream& out, const v1::ListAuditResponse& r);
/// Services (and with `instances`, each instance) per window: availability,
/// down time, SLA and error budget left.
void print_availability(std::ostream& out, const v1::GetAvailabilityResponse& r, bool instances);
void print_switchover_result(std::ostream& out, const v1::SwitchoverResponse& r);
void print_event(std::ostream& out, const v1::Event& e);
void print_maintenance_result(std::ostream& out, const v1::MaintenanceResponse& r);
void print_reload_result(std::ostream& out, const v1::ReloadResponse& r);
/// A site switchover or its assessment (the server's rendering).
void print_site_switchover(std::ostream& out, const v1::SiteRecord& r);
void print_site_switchovers(std::ostream& out, const v1::ListSiteSwitchoversResponse& r);
/// A drill's outcome: header and one row per service.
void print_drill(std::ostream& out, const v1::DrillReport& r);
void print_drills(std::ostream& out, const v1::ListDrillsResponse& r);

} // namespace switchyard::cli

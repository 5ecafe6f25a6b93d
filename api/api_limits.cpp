#include "api/api_limits.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "switchyard/v1/switchyard.pb.h"

namespace switchyard::actors {

namespace pb = switchyard::v1;

namespace {

// The serialized size of a parsed T: gRPC hands an interceptor the request
// as void*, so each method's entry knows its own type.
template <class T> std::size_t request_size_of(const void* request) {
  return static_cast<const T*>(request)->ByteSizeLong();
}

template <class T> api_method method(std::string name, std::size_t cap, bool audited) {
  return api_method{std::move(name), T::descriptor()->full_name(), cap, audited,
                    &request_size_of<T>};
}

// Clips every string in `j` (recursively) to audit_string_bytes.
void clip_strings(nlohmann::json& j) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s.size() > audit_string_bytes)
      j = clip(s, audit_string_bytes);
  } else if (j.is_structured()) {
    for (auto& v : j)
      clip_strings(v);
  }
}

} // namespace

std::string_view utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max)
    return s;
  auto cut = max;
  // Back off over continuation bytes (10xxxxxx) so that the cut falls before
  // a character's first byte: at most 3 of them in valid UTF-8.
  while (cut > 0 && max - cut < 4 && (static_cast<unsigned char>(s[cut]) & 0xC0U) == 0x80U)
    --cut;
  if (max - cut >= 4) // not UTF-8: a plain byte cut
    cut = max;
  return s.substr(0, cut);
}

std::string clip(std::string_view s, std::size_t max) {
  if (s.size() <= max)
    return std::string{s};
  auto kept = utf8_prefix(s, max);
  return fmt::format("{}…[truncated {} bytes]", kept, s.size() - kept.size());
}

std::string quote(std::string_view s) {
  if (s.size() <= quote_prefix_bytes)
    return std::string{s};
  return std::string{utf8_prefix(s, quote_prefix_bytes)} + "…";
}

std::string audit_arguments(const nlohmann::json& args) {
  auto copy = args;
  clip_strings(copy);
  auto text = copy.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return clip(text, audit_arguments_bytes);
}

const std::vector<api_method>& api_methods() {
  constexpr auto read = read_request_cap;
  constexpr auto mutation = mutation_request_cap;
  static const std::vector<api_method> table{
      method<pb::GetStatusRequest>("GetStatus", read, false),
      method<pb::ListServicesRequest>("ListServices", read, false),
      method<pb::GetServiceRequest>("GetService", read, false),
      method<pb::ListSwitchoversRequest>("ListSwitchovers", read, false),
      method<pb::GetSwitchoverRequest>("GetSwitchover", read, false),
      method<pb::ListAuditRequest>("ListAudit", read, false),
      method<pb::SwitchoverRequest>("RequestSwitchover", mutation, true),
      method<pb::SwitchoverRequest>("RequestFailover", mutation, true),
      method<pb::MaintenanceRequest>("SetMaintenance", mutation, true),
      method<pb::WatchEventsRequest>("WatchEvents", read, false),
      method<pb::ExportPlansRequest>("ExportPlans", read, false),
      method<pb::ReloadRequest>("Reload", read, true),
      method<pb::GetAvailabilityRequest>("GetAvailability", read, false),
      method<pb::AssessSiteRequest>("AssessSite", read, false),
      method<pb::SiteSwitchoverRequest>("SiteSwitchover", mutation, true),
      method<pb::ListSiteSwitchoversRequest>("ListSiteSwitchovers", read, false),
      method<pb::GetSiteSwitchoverRequest>("GetSiteSwitchover", read, false),
      method<pb::DrillRequest>("Drill", mutation, true),
      method<pb::ListDrillsRequest>("ListDrills", read, false),
      method<pb::GetDrillReportRequest>("GetDrillReport", read, false),
      method<pb::GetClusterRequest>("GetCluster", read, false),
      method<pb::GetBackupPoliciesRequest>("GetBackupPolicies", read, false),
      method<pb::ListBackupsRequest>("ListBackups", read, false),
      method<pb::CreateBackupRequest>("CreateBackup", read, true),
      method<pb::VerifyBackupRequest>("VerifyBackup", read, true),
      method<pb::RestoreBackupRequest>("RestoreBackup", read, true),
      method<pb::GetBackupComplianceRequest>("GetBackupCompliance", read, false),
  };
  return table;
}

const api_method* find_api_method(std::string_view path) {
  constexpr std::string_view prefix = "/switchyard.v1.Switchyard/";
  if (path.substr(0, prefix.size()) != prefix)
    return nullptr;
  auto name = path.substr(prefix.size());
  for (const auto& m : api_methods())
    if (m.name == name)
      return &m;
  return nullptr;
}

} // namespace switchyard::actors

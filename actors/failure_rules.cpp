#include "actors/failure_rules.hpp"

#include <fmt/format.h>

namespace switchyard::actors {

void failure_rules::set_primary(const std::string& service, const std::string& instance) {
  primary_of_[service] = instance;
}

bool failure_rules::has_open_failure(const std::string& instance) const {
  auto i = open_failure_.find(instance);
  return i != open_failure_.end() && i->second;
}

std::optional<failure_detection> failure_rules::classify(const health_transition& t) {
  auto i = primary_of_.find(t.service.value);
  bool is_primary = i != primary_of_.end() && i->second == t.instance.value;
  auto role = is_primary ? "primary" : "standby";
  failure_detection d;
  d.service = t.service;
  d.instance = t.instance;
  d.affects_primary = is_primary;
  d.at = t.at;
  if (t.to == health_status::unhealthy) {
    if (has_open_failure(t.instance.value))
      return std::nullopt; // already reported, not recovered since
    open_failure_[t.instance.value] = true;
    d.type = failure_type::unreachable;
    d.level = is_primary ? severity::critical : severity::warning;
    d.evidence =
        fmt::format("{} {} of {} failed {} consecutive probes (was {}); last: {}", role,
                    t.instance.value, t.service.value, t.streak, to_string(t.from), t.reason);
    return d;
  }
  if (t.to == health_status::healthy && has_open_failure(t.instance.value)) {
    open_failure_[t.instance.value] = false;
    d.type = failure_type::recovered;
    d.level = severity::info;
    d.evidence = fmt::format("{} {} of {} healthy again after {} consecutive probes; last: {}",
                             role, t.instance.value, t.service.value, t.streak, t.reason);
    return d;
  }
  return std::nullopt;
}

} // namespace switchyard::actors

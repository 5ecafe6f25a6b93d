#include "rules/coordinator_rules.hpp"

#include <algorithm>
#include <string_view>

#include <fmt/format.h>

namespace switchyard::actors {

hourly_starts recent_starts(const switchover_record_list& rows, coord_clock::time_point now,
                            std::int64_t wall_now_ms) {
  hourly_starts started;
  for (const auto& row : rows) {
    auto age =
        std::chrono::milliseconds(std::max<std::int64_t>(0, wall_now_ms - row.started_at_ms));
    if (age < std::chrono::hours(1))
      started.record(now - age);
  }
  return started;
}

std::vector<failure_detection> held_back(const std::map<std::string, failure_detection>& pending,
                                         const std::map<std::string, hold>& held_by, hold why,
                                         const std::string& except) {
  std::vector<failure_detection> again;
  for (const auto& [service, d] : pending) {
    auto h = held_by.find(service);
    if (service != except && (h != held_by.end() ? h->second : hold::none) == why)
      again.push_back(d);
  }
  return again;
}

const maintenance_record* window_in_force(const service_view& view, const std::string& instance) {
  if (instance.empty())
    return view.maintenance ? &*view.maintenance : nullptr;
  auto m = view.instance_maintenance.find(instance);
  return m != view.instance_maintenance.end() ? &m->second : nullptr;
}

bool same_window(const maintenance_record& a, const maintenance_record& b) {
  return a.since_ms == b.since_ms && a.until_ms == b.until_ms && a.reason == b.reason &&
         a.principal == b.principal;
}

bool expiry_ends_window(const service_view& view, const maintenance_expiry& e) {
  const auto* current = window_in_force(view, e.instance.value);
  return current != nullptr && current->until_ms == e.until_ms;
}

caf::timespan no_candidate_retry(const config::health_check_settings& check) {
  return std::max<caf::timespan>(check.interval * check.fall, std::chrono::seconds(2));
}

switchover_end apply_switchover_end(service_view& view, const failover_result& r,
                                    const char* what) {
  switchover_end end;
  view.in_flight = false;
  if (!r.success) {
    end.decision = r.alert.empty() ? fmt::format("{} failed: {}", what, r.detail)
                                   : fmt::format("{} failed: ALERT: {}", what, r.alert);
    return end;
  }
  auto old_primary = view.primary;
  view.primary = r.new_primary.value;
  view.epoch = r.new_epoch.value;
  end.decision =
      fmt::format("{} completed: {} is primary (epoch {})", what, view.primary, view.epoch);
  auto h = view.health.find(old_primary);
  if (std::string_view{what} == "failover" && h != view.health.end() &&
      h->second == health_status::healthy)
    end.rejoin = old_primary;
  return end;
}

bool wants_rejoin(health_status from, health_status to, const std::string& probe_detail) {
  if (to != health_status::healthy)
    return false;
  if (from == health_status::unhealthy)
    return true;
  return from == health_status::unknown &&
         (probe_detail == "PONG, master" || probe_detail.rfind("primary", 0) == 0);
}

readiness_news readiness_change(std::optional<std::string>& reported, const std::string& text) {
  if (reported && *reported == text)
    return readiness_news::none;
  bool first = !reported.has_value();
  reported = text;
  if (!text.empty())
    return readiness_news::not_ready;
  return first ? readiness_news::none : readiness_news::ready_again;
}

window_sync sync_windows(const std::map<window_key, maintenance_record>& in_force,
                         const maintenance_list& replicated,
                         const std::set<window_key>& unconfirmed, std::int64_t wall_now_ms) {
  std::map<window_key, const maintenance_record*> wanted;
  for (const auto& w : replicated)
    if (w.until_ms == 0 || w.until_ms > wall_now_ms)
      wanted[{w.service.value, w.instance.value}] = &w;
  window_sync out;
  for (const auto& key : unconfirmed)
    if (wanted.count(key))
      out.confirmed.push_back(key);
  for (const auto& [key, w] : in_force)
    if (!wanted.count(key) && !unconfirmed.count(key))
      out.end.push_back(key);
  for (const auto& [key, w] : wanted) {
    auto have = in_force.find(key);
    if (have == in_force.end() || !same_window(have->second, *w))
      out.take.push_back(*w);
  }
  return out;
}

} // namespace switchyard::actors

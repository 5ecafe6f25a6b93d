// The failover coordinator's state: what it knows of every service, and the
// changes a reload or the persisted topology make to it. No messaging here.
#include "actors/failover_coordinator.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "strategies/active_passive.hpp"

namespace switchyard::actors {

void failover_coordinator_state::init(std::shared_ptr<const config::switchyard_config> config) {
  services.clear();
  safety = config->orchestrator.safety;
  apply_config(std::move(config));
}

std::optional<std::string>
failover_coordinator_state::reload_refusal(const config::switchyard_config& next) const {
  for (const auto& [svc_name, view] : services) {
    const auto* after = next.find_service(svc_name);
    if (after != nullptr && *after == *view.settings)
      continue; // unchanged: a switchover of it may go on
    if (view.in_flight || view.checking)
      return fmt::format("service '{}' is switching over right now and would be {} by this "
                         "reload; try again when it has ended",
                         svc_name, after == nullptr ? "removed" : "changed");
    if (after == nullptr)
      continue;
    bool kept = false;
    for (const auto& inst : after->instances)
      kept = kept || inst.name == view.primary;
    if (!kept)
      return fmt::format("the new configuration removes {}, the current primary of '{}'; "
                         "switch over to another instance first",
                         view.primary, svc_name);
  }
  return std::nullopt;
}

void failover_coordinator_state::apply_config(
    std::shared_ptr<const config::switchyard_config> next) {
  strategies = std::make_shared<const strategies::strategy_set>(next);
  std::map<std::string, service_view> before = std::move(services);
  services.clear();
  for (const auto& svc : next->services) {
    auto& view = services[svc.name];
    auto old = before.find(svc.name);
    const bool known = old != before.end();
    std::map<std::string, health_status> old_health;
    if (known) {
      view = std::move(old->second); // primary, epoch, in flight, block period, maintenance
      old_health = std::move(view.health);
      view.health.clear();
    } else {
      view.epoch = 1;
    }
    view.settings = &svc;
    for (const auto& inst : svc.instances) {
      auto h = old_health.find(inst.name);
      view.health[inst.name] = h != old_health.end() ? h->second : health_status::unknown;
      if (!known && inst.role == config::instance_role::primary)
        view.primary = inst.name;
    }
    std::erase_if(view.instance_maintenance,
                  [&view](const auto& w) { return !view.health.count(w.first); });
  }
  for (const auto& [svc_name, view] : before)
    if (!services.count(svc_name)) {
      pending.erase(svc_name);
      held_by.erase(svc_name);
      last_decision.erase(svc_name);
      unjournaled.erase(svc_name);
    }
  busy.clear(); // services gone are no longer busy; those kept stay as they were
  for (const auto& [svc_name, view] : services)
    if (view.in_flight || view.checking)
      busy.insert(svc_name);
  cfg = std::move(next);
}

void failover_coordinator_state::apply_topology(const topology_list& topo,
                                                coord_clock::time_point now,
                                                std::int64_t wall_now_ms) {
  for (const auto& t : topo) {
    auto i = services.find(t.service.value);
    if (i == services.end())
      continue;
    auto& view = i->second;
    // The latest failover, from the database's wall clock to this clock: the
    // block period holds across a restart.
    auto last_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.last_failover.time_since_epoch())
            .count();
    if (last_ms > 0) {
      auto at = now - std::chrono::milliseconds(std::max<std::int64_t>(0, wall_now_ms - last_ms));
      if (!view.last_failover || *view.last_failover < at)
        view.last_failover = at;
    }
    if (!view.health.count(t.primary.value))
      continue; // not configured (any more): the configured primary stands
    // Epochs never go back: in cluster mode the replicated topology may
    // have come first, newer than this replica's database.
    if (t.current_epoch.value < view.epoch)
      continue;
    view.primary = t.primary.value;
    view.epoch = t.current_epoch.value;
  }
  topology_loaded = true;
}

service_state_list failover_coordinator_state::snapshot(coord_clock::time_point now) const {
  service_state_list result;
  for (const auto& [svc_name, view] : services) {
    service_state s;
    s.service = service_id{svc_name};
    s.primary = instance_id{view.primary};
    s.current_epoch = epoch{view.epoch};
    s.failover_in_flight = view.in_flight;
    s.in_block_period = within_block_period(view, now).has_value();
    for (const auto& [inst, status] : view.health)
      s.instances.push_back(instance_health{instance_id{inst}, status});
    if (auto d = last_decision.find(svc_name); d != last_decision.end())
      s.last_decision = d->second;
    if (view.maintenance)
      s.maintenance.push_back(*view.maintenance);
    for (const auto& [inst, window] : view.instance_maintenance)
      s.maintenance.push_back(window);
    s.shadow = shadow(svc_name);
    s.tilt = tilt.why(now).value_or(std::string{});
    s.not_ready = readiness_problems(svc_name);
    if (auto r = readiness.find(svc_name); r != readiness.end())
      s.readiness_checked_ms = r->second.checked_ms;
    s.ready = s.readiness_checked_ms != 0 && s.not_ready.empty();
    result.push_back(std::move(s));
  }
  return result;
}

fleet_summary failover_coordinator_state::summary() const {
  fleet_summary result;
  result.services = static_cast<std::int32_t>(services.size());
  for (const auto& [svc_name, view] : services) {
    result.failovers_in_flight += view.in_flight ? 1 : 0;
    if (auto u = unjournaled.find(svc_name); u != unjournaled.end())
      for (const auto& [instance, why] : u->second)
        result.unjournaled.push_back(svc_name + ": " + why);
    for (const auto& [inst, status] : view.health) {
      ++result.instances;
      result.healthy_instances += status == health_status::healthy ? 1 : 0;
    }
  }
  return result;
}

std::vector<std::string>
failover_coordinator_state::readiness_problems(const std::string& service) const {
  std::vector<std::string> problems;
  auto i = services.find(service);
  if (i == services.end())
    return problems;
  const auto& view = i->second;
  if (auto hold = view.maintenance_hold())
    problems.push_back(*hold);
  if (auto few = too_few_standbys(view))
    problems.push_back(*few);
  else if (strategies::promotion_candidates(*view.settings, view.primary, view.health,
                                            view.instances_in_maintenance())
               .empty())
    problems.push_back("no healthy standby to promote");
  if (auto r = readiness.find(service); r != readiness.end())
    problems.insert(problems.end(), r->second.found.begin(), r->second.found.end());
  if (auto u = unjournaled.find(service); u != unjournaled.end())
    for (const auto& [instance, why] : u->second)
      problems.push_back(why);
  return problems;
}

void failover_coordinator_state::keep_pending(const failure_detection& d, hold why) {
  pending[d.service.value] = d;
  held_by[d.service.value] = why;
}

bool failover_coordinator_state::shadow(const std::string& service) const {
  auto i = services.find(service);
  return safety.shadow || (i != services.end() && i->second.settings->shadow);
}

void failover_coordinator_state::note_busy(const std::string& service) {
  auto i = services.find(service);
  if (i != services.end() && (i->second.in_flight || i->second.checking))
    busy.insert(service);
  else
    busy.erase(service);
}

safety_view failover_coordinator_state::safety_for(const std::string& service,
                                                   coord_clock::time_point now) {
  safety_view v;
  v.settings = &safety;
  for (const auto& svc_name : busy)
    if (svc_name != service)
      v.in_progress.push_back(svc_name);
  v.started_last_hour = started.count(now);
  v.tilt = tilt.why(now);
  return v;
}

} // namespace switchyard::actors

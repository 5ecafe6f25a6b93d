#include "rules/dependency_tracker.hpp"

#include <algorithm>

namespace switchyard::actors {

void dependency_tracker::configure(const std::vector<config::service_settings>& services) {
  graph_ = config::dependency_graph{services};
  std::erase_if(services_, [&](const auto& entry) { return !graph_.contains(entry.first); });
}

void dependency_tracker::set_primary(const std::string& service, const std::string& instance,
                                     time_point now) {
  auto& s = services_[service];
  s.primary = instance;
  update_outage(s, now);
}

void dependency_tracker::observe(const health_transition& t, time_point now) {
  auto& s = services_[t.service.value];
  s.health[t.instance.value] = t.to;
  update_outage(s, now);
}

void dependency_tracker::update_outage(service_info& s, time_point now) {
  auto h = s.health.find(s.primary);
  bool down = h != s.health.end() && h->second == health_status::unhealthy;
  bool open = s.last_outage && !s.last_outage->end;
  if (down && !open)
    s.last_outage = outage{s.primary, now, std::nullopt};
  else if (!down && open)
    s.last_outage->end = now; // recovered, or a healthy (or not yet probed) new primary
}

const std::string& dependency_tracker::primary_of(const std::string& service) const {
  static const std::string none;
  auto i = services_.find(service);
  return i == services_.end() ? none : i->second.primary;
}

bool dependency_tracker::is_primary(const std::string& service, const std::string& instance) const {
  const auto& p = primary_of(service);
  return !p.empty() && p == instance;
}

bool dependency_tracker::primary_down(const std::string& service) const {
  auto i = services_.find(service);
  return i != services_.end() && i->second.last_outage && !i->second.last_outage->end;
}

bool dependency_tracker::has_dependencies(const std::string& service) const {
  auto deps = graph_.dependencies_of(service);
  return std::any_of(deps.begin(), deps.end(),
                     [this](const std::string& d) { return graph_.contains(d); });
}

bool dependency_tracker::down_since(const std::string& service, time_point since) const {
  auto i = services_.find(service);
  if (i == services_.end() || !i->second.last_outage)
    return false;
  const auto& o = *i->second.last_outage;
  return !o.end || *o.end >= since;
}

std::optional<dependency_tracker::root_cause>
dependency_tracker::search(const std::string& service, time_point since,
                           std::vector<std::string>& visited) const {
  for (const auto& dep : graph_.dependencies_of(service)) {
    if (!graph_.contains(dep) || std::find(visited.begin(), visited.end(), dep) != visited.end())
      continue;
    visited.push_back(dep);
    // Deeper first: what the dependency itself waits on is the better answer.
    if (auto deeper = search(dep, since, visited))
      return deeper;
    if (down_since(dep, since)) {
      const auto& o = *services_.at(dep).last_outage;
      return root_cause{dep, o.instance, !o.end};
    }
  }
  return std::nullopt;
}

std::optional<dependency_tracker::root_cause>
dependency_tracker::root_cause_of(const std::string& service, time_point since) const {
  std::vector<std::string> visited{service};
  return search(service, since, visited);
}

std::vector<std::string> dependency_tracker::dependents_of(const std::string& service) const {
  return graph_.all_dependents_of(service);
}

} // namespace switchyard::actors

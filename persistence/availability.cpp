#include "persistence/availability.hpp"

#include <algorithm>
#include <chrono>
#include <set>

namespace switchyard::persistence {

namespace {

health_status state_at(const std::vector<health_point>& events, std::int64_t t) {
  // The last event at or before t.
  auto after = std::upper_bound(events.begin(), events.end(), t,
                                [](std::int64_t v, const health_point& p) { return v < p.at_ms; });
  return after == events.begin() ? health_status::unknown : std::prev(after)->to;
}

const std::string* primary_at(const std::vector<primary_change>& primaries, std::int64_t t) {
  const std::string* current = primaries.empty() ? nullptr : &primaries.front().primary;
  for (const auto& c : primaries)
    if (c.at_ms <= t)
      current = &c.primary;
  return current;
}

// Sums `state(t)` over the pieces between consecutive change points.
template <class StateAt>
uptime sweep(std::set<std::int64_t> points, std::int64_t start_ms, std::int64_t end_ms,
             StateAt state) {
  uptime u;
  if (end_ms <= start_ms)
    return u;
  points.insert(start_ms);
  points.insert(end_ms);
  for (auto i = points.lower_bound(start_ms); i != points.end() && *i < end_ms; ++i) {
    auto next = std::next(i);
    auto length = std::min(*next, end_ms) - *i;
    auto s = state(*i);
    if (s == health_status::unknown)
      continue;
    u.observed_ms += length;
    if (s == health_status::unhealthy)
      u.down_ms += length;
  }
  return u;
}

std::int64_t ms_of(caf::timestamp t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

} // namespace

std::int64_t entered_at_ms(const health_transition& t) {
  if (t.to == health_status::unhealthy && t.since.time_since_epoch().count() > 0 && t.since <= t.at)
    return ms_of(t.since);
  return ms_of(t.at);
}

uptime instance_uptime(const std::vector<health_point>& events, std::int64_t start_ms,
                       std::int64_t end_ms) {
  std::set<std::int64_t> points;
  for (const auto& e : events)
    if (e.at_ms > start_ms && e.at_ms < end_ms)
      points.insert(e.at_ms);
  return sweep(points, start_ms, end_ms, [&](std::int64_t t) { return state_at(events, t); });
}

uptime service_uptime(const std::map<std::string, std::vector<health_point>>& health,
                      const std::vector<primary_change>& primaries, std::int64_t start_ms,
                      std::int64_t end_ms) {
  std::set<std::int64_t> points;
  for (const auto& [name, events] : health)
    for (const auto& e : events)
      if (e.at_ms > start_ms && e.at_ms < end_ms)
        points.insert(e.at_ms);
  for (const auto& c : primaries)
    if (c.at_ms > start_ms && c.at_ms < end_ms)
      points.insert(c.at_ms);
  return sweep(points, start_ms, end_ms, [&](std::int64_t t) {
    const auto* primary = primary_at(primaries, t);
    if (primary == nullptr)
      return health_status::unknown;
    auto h = health.find(*primary);
    return h == health.end() ? health_status::unknown : state_at(h->second, t);
  });
}

} // namespace switchyard::persistence

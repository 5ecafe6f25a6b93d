// Availability from persisted health history: how long an instance (or a
// service's primary) was observed, and how much of that it was down. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "messages/health.hpp"

namespace switchyard::persistence {

/// An instance entered `to` at `at_ms` (unix epoch milliseconds).
struct health_point {
  std::int64_t at_ms = 0;
  health_status to = health_status::unknown;
};

/// `primary` became the service's primary at `at_ms`.
struct primary_change {
  std::int64_t at_ms = 0;
  std::string primary;
};

struct uptime {
  std::int64_t observed_ms = 0; ///< time with a known health (healthy or unhealthy)
  std::int64_t down_ms = 0;     ///< of which unhealthy
};

/// When the instance of `t` entered `t.to`, as health_events stores it (unix
/// epoch milliseconds): for a transition to unhealthy, the first failed probe
/// of the episode (`t.since`), so that an outage's downtime includes the time
/// it took to detect; otherwise, and when `since` is unknown, `t.at`.
std::int64_t entered_at_ms(const health_transition& t);

/// One instance over [start_ms, end_ms). `events` are in time order; the
/// state at start_ms is that of the last event at or before it (none:
/// unknown, not observed).
uptime instance_uptime(const std::vector<health_point>& events, std::int64_t start_ms,
                       std::int64_t end_ms);

/// A service over [start_ms, end_ms): up while its primary of the moment is
/// healthy. `primaries` are in time order, the first at or before start_ms;
/// `health` holds each instance's events in time order.
uptime service_uptime(const std::map<std::string, std::vector<health_point>>& health,
                      const std::vector<primary_change>& primaries, std::int64_t start_ms,
                      std::int64_t end_ms);

} // namespace switchyard::persistence

// The failover coordinator's safety rules as a pure function: given one
// service's live view, a detection and the current time, decide whether to
// fail over now, and why (or why not).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <caf/actor_clock.hpp>

#include "config/model.hpp"
#include "messages/detection.hpp"
#include "messages/health.hpp"
#include "messages/plan.hpp"
#include "strategies/strategy.hpp"

namespace switchyard::actors {

using coord_clock = caf::actor_clock;

/// What the coordinator knows about one service.
struct service_view {
  const config::service_settings* settings = nullptr;
  std::string primary;
  std::uint64_t epoch = 0;
  std::map<std::string, health_status> health;          ///< by instance
  bool in_flight = false;                               ///< a failover is running
  std::optional<coord_clock::time_point> last_failover; ///< start of the latest attempt
};

enum class verdict {
  fail_over, ///< start the plan now
  ignore,    ///< nothing to do (not the primary, not a failure, stale)
  blocked,   ///< a safety rule holds it back (in flight, block period)
  no_target, ///< the strategy found no standby to promote; retried when one becomes healthy
};

const char* to_string(verdict v);

struct decision {
  verdict what = verdict::ignore;
  std::string reason;
  std::optional<failover_plan> plan; ///< set for fail_over
};

/// Decides on `d` for the service in `view` at `now`. Rules, in order:
/// only an `unreachable` detection of the current primary that is still
/// unhealthy counts; no second failover while one is in flight; none within
/// the service's block period after the last attempt; the strategy must find
/// a healthy standby.
decision decide(const service_view& view, const failure_detection& d, coord_clock::time_point now,
                const strategies::failover_strategy& strategy);

/// Pre-checks of an operator's planned switchover to `target` (empty: the
/// best healthy standby): nothing in flight; outside the block period unless
/// `force`; the strategy finds the target healthy. fail_over carries the plan;
/// blocked or no_target say why not.
decision check_switchover(const service_view& view, const std::string& target, bool force,
                          coord_clock::time_point now,
                          const strategies::failover_strategy& strategy);

} // namespace switchyard::actors

// The failover coordinator's safety rules as a pure function: given one
// service's live view, a detection and the current time, decide whether to
// fail over now, and why (or why not).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/actor_clock.hpp>

#include "config/model.hpp"
#include "messages/detection.hpp"
#include "messages/health.hpp"
#include "messages/maintenance.hpp"
#include "messages/plan.hpp"
#include "messages/switchover.hpp"
#include "messages/topology.hpp"
#include "strategies/strategy.hpp"

namespace switchyard::actors {

using coord_clock = caf::actor_clock;

/// What the coordinator knows about one service.
struct service_view {
  const config::service_settings* settings = nullptr;
  std::string primary;
  std::uint64_t epoch = 0;
  std::map<std::string, health_status> health; ///< by instance
  bool in_flight = false;                      ///< a failover is running
  bool checking = false; ///< the strategy's pre-checks of candidates are running
  std::optional<coord_clock::time_point> last_failover; ///< start of the latest attempt
  /// The whole service is in maintenance: no automatic action.
  std::optional<maintenance_record> maintenance;
  /// Instances in maintenance: never promoted automatically; if it is the
  /// primary, no automatic failover.
  std::map<std::string, maintenance_record> instance_maintenance;

  /// Why automatic action is suspended by maintenance, if it is.
  std::optional<std::string> maintenance_hold() const;
  std::set<std::string> instances_in_maintenance() const;
};

/// Starts of switchovers (every kind, every service) within the last hour,
/// for orchestrator.safety.max_failovers_per_hour.
class hourly_starts {
public:
  void record(coord_clock::time_point start);
  /// How many started less than an hour before `now`; older ones are forgotten.
  std::size_t count(coord_clock::time_point now);
  void clear() { starts_.clear(); }

private:
  std::deque<coord_clock::time_point> starts_; ///< oldest first
};

/// TILT (after Redis Sentinel): when the coordinator's own periodic timer
/// fires much later than it was due, the process was stopped, starved or
/// suspended, and what it knows about health may be stale: automatic
/// failovers are held back until `duration` has passed without another late
/// timer.
class tilt_state {
public:
  enum class change { none, entered, extended, ended };

  /// A timer due at `due` fired at `now`: a lag above max_timer_lag enters
  /// (or prolongs) TILT; a timely one at or after its end ends it.
  change on_timer(coord_clock::time_point due, coord_clock::time_point now,
                  const config::tilt_settings& s);
  /// True while a timer due at `due` and not fired by `now` is already late.
  static bool overdue(coord_clock::time_point due, coord_clock::time_point now,
                      const config::tilt_settings& s);
  /// Why automatic failovers are held back at `now`, if they are.
  std::optional<std::string> why(coord_clock::time_point now) const;

private:
  std::optional<coord_clock::time_point> until_;
  std::string why_;
};

/// What the safety rules need beyond the one service: every service's
/// activity and the process's TILT state.
struct safety_view {
  const config::safety_settings* settings = nullptr; ///< nullptr: no global limits
  /// Services switching over now, or running their pre-checks (this one excluded).
  std::vector<std::string> in_progress;
  std::size_t started_last_hour = 0; ///< switchovers of every service started in the last hour
  std::optional<std::string> tilt;   ///< why TILT holds automatic failovers back
};

/// Why `min_healthy_standbys` holds an automatic failover back, if it does:
/// fewer healthy standbys not in maintenance (the candidate included) than
/// required, but at least one (none at all is the strategy's "no target").
std::optional<std::string> too_few_standbys(const service_view& view);

enum class verdict {
  fail_over, ///< start the plan now
  ignore,    ///< nothing to do (not the primary, not a failure, stale)
  blocked,   ///< a safety rule holds it back (in flight, block period)
  no_target, ///< the strategy found no standby to promote; retried when one becomes healthy
};

const char* to_string(verdict v);

/// What holds a blocked automatic failover back until it ends by itself: the
/// coordinator keeps the failure and decides again when that happens.
enum class hold {
  none,        ///< not held: nothing to wait for (or an operator must act)
  maintenance, ///< until the window ends
  tilt,        ///< until TILT ends
  standbys,    ///< until another standby turns healthy
  concurrency, ///< until a switchover of another service ends
  reserved,    ///< until the site switchover holding the service releases it
  leadership,  ///< until this replica leads and may act (cluster mode)
  quorum,      ///< until a quorum of replicas sees the primary down (cluster mode)
};

struct decision {
  verdict what = verdict::ignore;
  std::string reason;
  std::optional<failover_plan> plan; ///< set for fail_over
  hold held = hold::none;            ///< for blocked
};

/// Why the service is still inside its block period at `now` (the latest
/// failover or switchover attempt was less than block_period ago), if it is.
std::optional<std::string> within_block_period(const service_view& view,
                                               coord_clock::time_point now);

/// The plan an automatic failover of this service would run now. When no
/// standby is healthy, the plan is made as if every standby not in
/// maintenance were, and the note says so; no plan at all only when even
/// that fails.
exported_plan export_plan(const service_view& view, const strategies::failover_strategy& strategy);

/// The plan for promoting `target`, a candidate that passed the strategy's
/// pre-checks, in a switchover of `kind`.
caf::expected<failover_plan> plan_for_target(const service_view& view, const std::string& target,
                                             switchover_kind kind,
                                             const strategies::failover_strategy& strategy);

/// Decides on `d` for the service in `view` at `now`. Rules, in order:
/// only an `unreachable` detection of the current primary that is still
/// unhealthy counts; nothing while the service or its primary is in
/// maintenance; no second failover while one is in flight; none within
/// the service's block period after the last attempt; none in TILT; none
/// with fewer healthy standbys than min_healthy_standbys; none when
/// max_failovers_per_hour switchovers started in the last hour, or
/// max_concurrent_failovers are in progress; the strategy must find a
/// healthy standby. Shadow mode is not decided here: a shadow decision is
/// the same decision, not acted on.
decision decide(const service_view& view, const failure_detection& d, coord_clock::time_point now,
                const strategies::failover_strategy& strategy, const safety_view& safety = {});

/// Pre-checks of an operator's planned switchover (or forced failover) to
/// `target` (empty: the best healthy standby): nothing in flight; outside the
/// block period unless `force`; a forced failover only when the primary is
/// not healthy, unless `force`; the strategy finds the target healthy and not
/// in maintenance (`force` allows an explicitly named target in maintenance).
/// Maintenance of the service itself does not stop an operator's own request.
/// fail_over carries the plan; blocked or no_target say why not.
decision check_switchover(const service_view& view, const std::string& target, bool force,
                          coord_clock::time_point now,
                          const strategies::failover_strategy& strategy,
                          switchover_kind kind = switchover_kind::planned_switchover);

} // namespace switchyard::actors

#include "rules/failover_policy.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "messages/error.hpp"

namespace switchyard::actors {

const char* to_string(verdict v) {
  switch (v) {
  case verdict::fail_over:
    return "fail over";
  case verdict::ignore:
    return "ignore";
  case verdict::blocked:
    return "blocked";
  case verdict::no_target:
    return "no target";
  }
  return "?";
}

namespace {

long long to_ms(coord_clock::duration_type d) {
  return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

strategies::planning_input planning(const service_view& view, const std::string& target) {
  strategies::planning_input in;
  in.service = view.settings;
  in.current_primary = view.primary;
  in.health = view.health;
  in.preferred_target = target;
  in.excluded = view.instances_in_maintenance();
  return in;
}

std::string describe_window(const maintenance_record& m) {
  return fmt::format("{} by {}{}", m.reason, m.principal,
                     m.until_ms == 0 ? std::string{" until turned off"} : std::string{});
}

} // namespace

std::optional<std::string> service_view::maintenance_hold() const {
  if (maintenance)
    return fmt::format("service in maintenance ({}): no automatic action",
                       describe_window(*maintenance));
  if (auto m = instance_maintenance.find(primary); m != instance_maintenance.end())
    return fmt::format("primary {} in maintenance ({}): no automatic action", primary,
                       describe_window(m->second));
  return std::nullopt;
}

std::set<std::string> service_view::instances_in_maintenance() const {
  std::set<std::string> names;
  for (const auto& [name, window] : instance_maintenance)
    names.insert(name);
  return names;
}

std::optional<std::string> within_block_period(const service_view& view,
                                               coord_clock::time_point now) {
  if (!view.last_failover || view.settings == nullptr)
    return std::nullopt;
  auto since = now - *view.last_failover;
  auto block = std::chrono::duration_cast<coord_clock::duration_type>(view.settings->block_period);
  if (since >= block)
    return std::nullopt;
  return fmt::format("within block period: last failover {} ms ago, block period {} ms",
                     to_ms(since), to_ms(block));
}

void hourly_starts::record(coord_clock::time_point start) {
  // Kept in order even if a start is recorded late (seeded from the database).
  auto at = std::upper_bound(starts_.begin(), starts_.end(), start);
  starts_.insert(at, start);
}

std::size_t hourly_starts::count(coord_clock::time_point now) {
  while (!starts_.empty() && now - starts_.front() >= std::chrono::hours(1))
    starts_.pop_front();
  return starts_.size();
}

tilt_state::change tilt_state::on_timer(coord_clock::time_point due, coord_clock::time_point now,
                                        const config::tilt_settings& s) {
  if (overdue(due, now, s)) {
    auto lag = std::chrono::duration_cast<std::chrono::milliseconds>(now - due);
    why_ = fmt::format("timers were {:.1f} s late; evidence may be stale",
                       static_cast<double>(lag.count()) / 1000.0);
    bool was = until_.has_value();
    until_ = now + std::chrono::duration_cast<coord_clock::duration_type>(s.duration);
    return was ? change::extended : change::entered;
  }
  if (until_ && now >= *until_) {
    until_.reset();
    return change::ended;
  }
  return change::none;
}

bool tilt_state::overdue(coord_clock::time_point due, coord_clock::time_point now,
                         const config::tilt_settings& s) {
  return now - due > std::chrono::duration_cast<coord_clock::duration_type>(s.max_timer_lag);
}

std::optional<std::string> tilt_state::why(coord_clock::time_point now) const {
  if (!until_ || now >= *until_)
    return std::nullopt;
  return fmt::format("{} (automatic failovers resume in {} ms without another late timer)", why_,
                     to_ms(*until_ - now));
}

std::optional<std::string> too_few_standbys(const service_view& view) {
  if (view.settings == nullptr)
    return std::nullopt;
  std::vector<std::string> healthy;
  for (const auto& [name, status] : view.health)
    if (name != view.primary && status == health_status::healthy &&
        !view.instance_maintenance.count(name))
      healthy.push_back(name);
  auto required = static_cast<std::size_t>(view.settings->min_healthy_standbys);
  if (healthy.empty() || healthy.size() >= required)
    return std::nullopt;
  return fmt::format("min_healthy_standbys is {}: only {} healthy standby{} ({})", required,
                     healthy.size(), healthy.size() == 1 ? "" : "s", fmt::join(healthy, ", "));
}

exported_plan export_plan(const service_view& view, const strategies::failover_strategy& strategy) {
  exported_plan out;
  out.service = service_id{view.settings->name};
  out.primary = instance_id{view.primary};
  out.current_epoch = epoch{view.epoch};
  for (const auto& [name, status] : view.health)
    out.instances.push_back(instance_health{instance_id{name}, status});
  auto in = planning(view, {});
  auto plan = strategy.plan(in);
  if (!plan) {
    out.note = describe(plan.error());
    for (auto& [name, status] : in.health)
      if (name != view.primary)
        status = health_status::healthy;
    plan = strategy.plan(in);
    if (plan)
      out.note = fmt::format("{}: planned as if the standbys were healthy", out.note);
  }
  if (auto hold = view.maintenance_hold())
    out.note = out.note.empty() ? *hold : out.note + "; " + *hold;
  if (plan) {
    out.has_plan = true;
    out.plan = std::move(*plan);
  }
  return out;
}

caf::expected<failover_plan> plan_for_target(const service_view& view, const std::string& target,
                                             switchover_kind kind,
                                             const strategies::failover_strategy& strategy) {
  auto in = planning(view, target);
  in.old_primary_cooperates = kind == switchover_kind::planned_switchover;
  in.excluded.erase(target); // it was accepted as a candidate already
  return strategy.plan(in);
}

decision decide(const service_view& view, const failure_detection& d, coord_clock::time_point now,
                const strategies::failover_strategy& strategy, const safety_view& safety) {
  const auto& instance = d.instance.value;
  if (d.type != failure_type::unreachable)
    return {verdict::ignore, fmt::format("{} is not a failure", to_string(d.type)), {}};
  if (instance != view.primary)
    return {
        verdict::ignore,
        fmt::format("{} is a standby (primary is {}): no failover needed", instance, view.primary),
        {}};
  auto h = view.health.find(instance);
  if (h == view.health.end() || h->second != health_status::unhealthy)
    return {verdict::ignore, fmt::format("primary {} is no longer unhealthy", instance), {}};
  if (auto hold = view.maintenance_hold())
    return {verdict::blocked, *hold, {}, hold::maintenance};
  if (view.in_flight || view.checking)
    return {verdict::blocked, "a failover of this service is already in progress", {}};
  if (auto blocked = within_block_period(view, now))
    return {verdict::blocked, *blocked, {}};
  if (safety.tilt)
    return {verdict::blocked, "TILT: " + *safety.tilt, {}, hold::tilt};
  if (auto few = too_few_standbys(view))
    return {verdict::blocked, *few, {}, hold::standbys};
  if (const auto* limits = safety.settings) {
    // Spent for the hour: not retried by itself; something is wrong beyond one service.
    auto per_hour = static_cast<std::size_t>(limits->max_failovers_per_hour);
    if (safety.started_last_hour >= per_hour)
      return {verdict::blocked,
              fmt::format("max_failovers_per_hour is {}: {} switchover{} started in the last hour; "
                          "not retried: fail over by hand if it is needed",
                          per_hour, safety.started_last_hour,
                          safety.started_last_hour == 1 ? "" : "s"),
              {}};
    auto concurrent = static_cast<std::size_t>(limits->max_concurrent_failovers);
    if (safety.in_progress.size() >= concurrent)
      return {verdict::blocked,
              fmt::format("max_concurrent_failovers is {}: {} switchover{} in progress ({}); "
                          "decided again when one ends",
                          concurrent, safety.in_progress.size(),
                          safety.in_progress.size() == 1 ? "" : "s",
                          fmt::join(safety.in_progress, ", ")),
              {},
              hold::concurrency};
  }
  auto plan = strategy.plan(planning(view, {}));
  if (!plan)
    return {verdict::no_target, describe(plan.error()), {}};
  auto target =
      plan->secondary_targets.empty() ? std::string{"?"} : plan->secondary_targets.front().value;
  return {verdict::fail_over,
          fmt::format("primary {} unreachable: promote {} ({} steps)", instance, target,
                      plan->steps.size()),
          std::move(*plan)};
}

decision check_switchover(const service_view& view, const std::string& target, bool force,
                          coord_clock::time_point now,
                          const strategies::failover_strategy& strategy, switchover_kind kind) {
  if (view.in_flight || view.checking)
    return {
        verdict::blocked, "a failover or switchover of this service is already in progress", {}};
  if (auto blocked = within_block_period(view, now); blocked && !force)
    return {verdict::blocked, *blocked + " (force overrides)", {}};
  const bool planned = kind == switchover_kind::planned_switchover;
  if (!planned && !force) {
    auto h = view.health.find(view.primary);
    if (h != view.health.end() && h->second == health_status::healthy)
      return {verdict::blocked,
              fmt::format("primary {} is healthy: use a planned switchover, which lets it step "
                          "down (force overrides)",
                          view.primary),
              {}};
  }
  auto in = planning(view, target);
  in.old_primary_cooperates = planned;
  if (force && !target.empty())
    in.excluded.erase(target); // the operator named it knowingly
  auto plan = strategy.plan(in);
  if (!plan)
    return {verdict::no_target, describe(plan.error()), {}};
  auto to = plan->secondary_targets.front().value;
  return {verdict::fail_over,
          fmt::format("switch {} -> {} ({} steps)", view.primary, to, plan->steps.size()),
          std::move(*plan)};
}

} // namespace switchyard::actors

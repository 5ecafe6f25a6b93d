#include "actors/failover_policy.hpp"

#include <fmt/format.h>

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
                const strategies::failover_strategy& strategy) {
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
    return {verdict::blocked, *hold, {}};
  if (view.in_flight || view.checking)
    return {verdict::blocked, "a failover of this service is already in progress", {}};
  if (auto blocked = within_block_period(view, now))
    return {verdict::blocked, *blocked, {}};
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

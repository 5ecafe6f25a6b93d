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

// Why the service is still inside its block period, if it is.
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

strategies::planning_input planning(const service_view& view, const std::string& target) {
  strategies::planning_input in;
  in.service = view.settings;
  in.current_primary = view.primary;
  in.health = view.health;
  in.preferred_target = target;
  return in;
}

} // namespace

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
  if (view.in_flight)
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
                          const strategies::failover_strategy& strategy) {
  if (view.in_flight)
    return {
        verdict::blocked, "a failover or switchover of this service is already in progress", {}};
  if (auto blocked = within_block_period(view, now); blocked && !force)
    return {verdict::blocked, *blocked + " (force overrides)", {}};
  auto plan = strategy.plan(planning(view, target));
  if (!plan)
    return {verdict::no_target, describe(plan.error()), {}};
  auto to = plan->secondary_targets.front().value;
  return {verdict::fail_over,
          fmt::format("switch {} -> {} ({} steps)", view.primary, to, plan->steps.size()),
          std::move(*plan)};
}

} // namespace switchyard::actors

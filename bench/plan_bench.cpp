// Plan generation and export at fleet scale: N services (default 10,000), each
// with a primary and two standbys and a four-step active-passive strategy.
// Times planning every service (what the coordinator does for ExportPlans and
// for each decision) and rendering the plans as JSON, YAML, Markdown and DOT.
// Usage: plan_bench [services]
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "renderers/plan_export.hpp"
#include "strategies/active_passive.hpp"

using namespace switchyard;
using clock_type = std::chrono::steady_clock;

namespace {

config::action_settings exec(const std::string& name, const std::string& command) {
  config::action_settings a;
  a.name = name;
  a.command = command;
  a.timeout = std::chrono::seconds(5);
  return a;
}

config::service_settings make_service(int i) {
  config::service_settings s;
  s.name = fmt::format("svc-{:05}", i);
  s.health_check.type = config::check_type::tcp;
  for (int k = 0; k < 3; ++k)
    s.instances.push_back({fmt::format("svc-{:05}-{}", i, k),
                           "10.0.0.1",
                           static_cast<std::uint16_t>(10000 + k),
                           k == 2 ? "dc2" : "dc1",
                           k == 0 ? config::instance_role::primary : config::instance_role::standby,
                           100 - k * 10,
                           {}});
  s.strategy.fence.push_back(exec("fence", "fence.sh $SWITCHYARD_TARGET"));
  s.strategy.promote.push_back(exec("promote", "promote.sh $SWITCHYARD_TARGET"));
  s.strategy.reroute.push_back(exec("reroute", "lb.sh $SWITCHYARD_NEW_PRIMARY_ADDRESS"));
  s.strategy.verify.push_back(exec("verify", "check.sh $SWITCHYARD_TARGET"));
  return s;
}

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

} // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::max(1, std::atoi(argv[1])) : 10'000;
  std::vector<config::service_settings> services;
  services.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    services.push_back(make_service(i));

  auto t0 = clock_type::now();
  std::vector<renderers::plan_export_entry> entries;
  entries.reserve(services.size());
  for (const auto& s : services) {
    strategies::active_passive strategy{s};
    strategies::planning_input in{&s, s.instances[0].name, {}};
    for (const auto& inst : s.instances)
      in.health[inst.name] = health_status::healthy;
    renderers::plan_export_entry e;
    e.service = &s;
    e.current_primary = s.instances[0].name;
    e.epoch = 1;
    e.health = in.health;
    if (auto p = strategy.plan(in))
      e.plan = std::move(*p);
    entries.push_back(std::move(e));
  }
  auto plan_ms = ms_since(t0);
  fmt::print("plan benchmark: {} services x 3 instances, 4 steps each\n\n", n);
  fmt::print("{:<22} {:>10} {:>14}\n", "what", "ms", "output bytes");
  fmt::print("{:<22} {:>10.1f} {:>14}\n", "plan every service", plan_ms, "-");
  for (auto f : {renderers::export_format::json, renderers::export_format::yaml,
                 renderers::export_format::markdown, renderers::export_format::dot}) {
    auto t = clock_type::now();
    auto text = renderers::render_plans(entries, f, "2026-11-30T00:00:00Z");
    auto ms = ms_since(t);
    fmt::print("{:<22} {:>10.1f} {:>14}\n", fmt::format("export {}", renderers::to_string(f)), ms,
               text.size());
  }
  return 0;
}

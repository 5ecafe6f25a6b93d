#include "probes/exec_probe.hpp"

#include <fmt/format.h>

namespace switchyard::actors {

exec_probe::exec_probe(const config::health_check_settings& check,
                       const config::instance_settings& instance, std::string service) {
  config::action_settings settings;
  settings.name = "health-check";
  settings.type = config::action_type::exec;
  settings.command = check.command;
  settings.timeout = check.timeout;
  action_ = strategies::make_action(settings);
  context_.service = std::move(service);
  context_.target = instance.name;
  context_.new_primary_address = fmt::format("{}:{}", instance.host, instance.port);
  context_.phase = "health";
  context_.step_name = "health-check";
}

probe_outcome exec_probe::check() {
  auto result = action_->run(context_);
  probe_outcome out;
  out.ok = result.ok;
  out.latency = std::chrono::duration_cast<std::chrono::microseconds>(result.elapsed);
  out.detail = result.detail;
  return out;
}

} // namespace switchyard::actors

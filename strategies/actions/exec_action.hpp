// The exec action: runs `/bin/sh -c COMMAND` in its own process group with the
// failover's context in SWITCHYARD_* environment variables; a non-zero exit
// or a timeout fails the step, and a timeout kills the whole process group.
#pragma once

#include "strategies/action.hpp"

namespace switchyard::strategies {

class exec_action : public action {
public:
  explicit exec_action(config::action_settings settings);

  action_result run(const action_context& ctx) override;
  std::string kind() const override { return "exec"; }
  std::string describe() const override { return settings_.command; }

private:
  config::action_settings settings_;
};

/// The environment an exec action runs with: the daemon's own, then the
/// action's configured `env`, then the SWITCHYARD_* variables (which win).
std::vector<std::string> exec_environment(const config::action_settings& settings,
                                          const action_context& ctx);

} // namespace switchyard::strategies

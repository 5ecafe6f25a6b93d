// Runs switchyardd: starts the actor system with every subsystem under the
// supervisor and blocks until a signal (SIGINT/SIGTERM) or an escalation.
#pragma once

#include <memory>
#include <vector>

#include "config/model.hpp"
#include "config/tokens.hpp"

namespace switchyard::app {

enum exit_code : int {
  exit_ok = 0,
  exit_bad_config = 1,
  exit_escalated = 2,
  exit_startup_failed = 3,
};

/// Blocks; returns the process exit code.
int run_daemon(std::shared_ptr<const config::switchyard_config> cfg,
               std::vector<config::api_token> tokens);

} // namespace switchyard::app

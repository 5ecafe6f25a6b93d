// Exec probe: runs the configured command (via the exec action, with the
// instance in SWITCHYARD_TARGET); healthy when it exits 0 within the timeout.
#pragma once

#include <memory>

#include "probes/probe.hpp"
#include "strategies/action.hpp"

namespace switchyard::actors {

class exec_probe : public probe {
public:
  exec_probe(const config::health_check_settings& check, const config::instance_settings& instance,
             std::string service);
  probe_outcome check() override;

private:
  std::unique_ptr<strategies::action> action_;
  strategies::action_context context_;
};

} // namespace switchyard::actors

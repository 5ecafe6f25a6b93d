// One health checker per instance: probes on a CAF timer (interval plus
// random jitter), applies rise/fall, and reports transitions to the
// classifier. Probes block for up to their timeout, so the daemon spawns
// health checkers detached.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "actors/health_tracker.hpp"
#include "actors/probes/probe.hpp"
#include "config/model.hpp"
#include "messages/interfaces.hpp"
#include "messages/supervision.hpp"

namespace switchyard::actors {

using probe_factory = std::function<std::unique_ptr<probe>()>;

struct health_checker_state {
  health_checker_state() = default;
  static inline const char* const name = "health_checker";

  service_id service;
  instance_id instance;
  config::health_check_settings check;
  std::unique_ptr<probe> prober;
  std::optional<health_tracker> tracker;
  std::minstd_rand rng;

  /// Interval plus a uniformly random share of the jitter.
  caf::timespan next_delay();
};

/// `factory` makes the instance's probe (make_probe in the daemon, a fake in tests).
health_checker_actor::behavior_type
health_checker(health_checker_actor::stateful_pointer<health_checker_state> self,
               std::string service, config::instance_settings instance,
               config::health_check_settings check, probe_factory factory);

/// The supervisor's name for the health checker of `service`/`instance`.
std::string health_checker_name(const std::string& service, const std::string& instance);

/// One supervised health checker per instance of `service`, with real probes.
std::vector<child_spec> health_checker_specs(const config::service_settings& service);

} // namespace switchyard::actors

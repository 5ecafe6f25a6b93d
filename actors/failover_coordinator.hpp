// The failover coordinator: one decision point per service. It owns each
// service's topology (who is primary, the epoch), applies the safety rules
// (failover_policy) and hands accepted failovers to the runner.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/failover_policy.hpp"
#include "config/model.hpp"
#include "messages/interfaces.hpp"
#include "strategies/strategy.hpp"

namespace switchyard::actors {

struct failover_coordinator_state {
  failover_coordinator_state() = default;
  static inline const char* const name = "failover_coordinator";

  std::shared_ptr<const config::switchyard_config> cfg;
  std::map<std::string, service_view> services;
  std::map<std::string, std::unique_ptr<strategies::failover_strategy>> strategies;
  /// Primary failures that found no target yet; retried when a standby turns healthy.
  std::map<std::string, failure_detection> pending;
  std::map<std::string, std::string> last_decision;
  bool topology_loaded = false;
  std::vector<failure_detection> early; ///< detections seen before the topology was loaded

  void init(std::shared_ptr<const config::switchyard_config> config);
  void apply_topology(const topology_list& topo);
  service_state_list snapshot(coord_clock::time_point now) const;
};

coordinator_actor::behavior_type
failover_coordinator(coordinator_actor::stateful_pointer<failover_coordinator_state> self,
                     std::shared_ptr<const config::switchyard_config> cfg);

} // namespace switchyard::actors

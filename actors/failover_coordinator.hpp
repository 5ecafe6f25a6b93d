// The failover coordinator: one decision point per service. It owns each
// service's topology (who is primary, the epoch), applies the safety rules
// (failover_policy) and hands accepted failovers to the runner.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
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
  /// Detections seen before the topology was loaded, or during a reload.
  std::vector<failure_detection> early;
  bool reloading = false; ///< a reload is being persisted: no new decisions until applied
  /// Services whose switchover a previous incarnation of this coordinator
  /// started and the runner is still executing: busy until it ends.
  std::set<std::string> adopted;

  void init(std::shared_ptr<const config::switchyard_config> config);
  /// Why `next` cannot be applied now (a changed or removed service is
  /// switching over, or would lose its current primary), if it cannot.
  std::optional<std::string> reload_refusal(const config::switchyard_config& next) const;
  /// Switches to `next`: added services start fresh, removed ones are
  /// forgotten, the others keep primary, epoch, health, maintenance and history.
  void apply_config(std::shared_ptr<const config::switchyard_config> next);
  void apply_topology(const topology_list& topo);
  service_state_list snapshot(coord_clock::time_point now) const;
};

coordinator_actor::behavior_type
failover_coordinator(coordinator_actor::stateful_pointer<failover_coordinator_state> self,
                     std::shared_ptr<const config::switchyard_config> cfg);

} // namespace switchyard::actors

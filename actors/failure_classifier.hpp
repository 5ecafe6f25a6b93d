// The failure classifier actor: receives every health transition, forwards it
// to the coordinator (live view) and the store (history), and turns the ones
// that matter into detections (failure_rules) that are persisted before the
// coordinator sees them. Held failures wait on its own timers. A detection
// the coordinator would act on that cannot be written (a full disk) is kept
// and written again on the same timers while its failure lasts, and the
// coordinator is told meanwhile (the service is not ready).
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>

#include "actors/peers.hpp"
#include "config/model.hpp"
#include "messages/interfaces.hpp"
#include "rules/failure_rules.hpp"

namespace switchyard::actors {

struct failure_classifier_state {
  failure_classifier_state() = default;
  static inline const char* const name = "failure_classifier";
  peers_ptr peers; ///< the store, coordinator, performance monitor and event hub
  metrics::gauge* mailbox_depth = nullptr; ///< sampled at each transition
  failure_rules rules;
  bool configured = false; ///< a config_update was applied
  /// Per service: the epoch of the primary it knows (from the coordinator,
  /// or from the journal at start); an older topology never replaces it.
  std::map<std::string, std::uint64_t> primary_epochs;
  /// Per instance: a detection to hand to the coordinator whose write failed;
  /// written again every `retry_delay` while the failure lasts.
  std::map<std::string, classified> unwritten;
  /// Instances the coordinator was told have an unjournaled failure.
  std::set<std::string> announced;
  caf::timespan retry_delay = first_retry;
  bool retry_armed = false;
  static constexpr caf::timespan first_retry = std::chrono::seconds(1);
  static constexpr caf::timespan last_retry = std::chrono::seconds(10);
};

/// Takes its configuration as a config_update, first from whoever spawns it
/// (services, dependencies, sites and orchestrator.detection), then from the
/// coordinator at every reload (services only: orchestrator settings apply
/// at the next start). Without one: no dependencies, no sites, default
/// flapping thresholds. With the first, it reads the primaries from the
/// journal: a classifier restarted alone knows them before the coordinator
/// next says.
classifier_full_actor::behavior_type
failure_classifier(classifier_full_actor::stateful_pointer<failure_classifier_state> self,
                   peers_ptr peers);

} // namespace switchyard::actors

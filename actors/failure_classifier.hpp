// The failure classifier actor: receives every health transition, forwards it
// to the coordinator (live view) and the store (history), and turns the ones
// that matter into detections (failure_rules) that are persisted before the
// coordinator sees them. Held failures wait on its own timers.
#pragma once

#include "actors/failure_rules.hpp"
#include "config/model.hpp"
#include "messages/interfaces.hpp"

namespace switchyard::actors {

struct failure_classifier_state {
  failure_classifier_state() = default;
  static inline const char* const name = "failure_classifier";
  failure_rules rules;
  bool configured = false; ///< a config_update was applied
};

/// Takes its configuration as a config_update, first from whoever spawns it
/// (services, dependencies, sites and orchestrator.detection), then from the
/// coordinator at every reload (services only: orchestrator settings apply
/// at the next start). Without one: no dependencies, no sites, default
/// flapping thresholds.
classifier_full_actor::behavior_type
failure_classifier(classifier_full_actor::stateful_pointer<failure_classifier_state> self);

} // namespace switchyard::actors

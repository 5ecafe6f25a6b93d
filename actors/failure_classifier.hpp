// The failure classifier actor: receives every health transition, forwards it
// to the coordinator (live view) and the store (history), and turns the ones
// that matter into detections that are persisted before the coordinator sees them.
#pragma once

#include "actors/failure_rules.hpp"
#include "messages/interfaces.hpp"

namespace switchyard::actors {

struct failure_classifier_state {
  failure_classifier_state() = default;
  static inline const char* const name = "failure_classifier";
  failure_rules rules;
};

classifier_actor::behavior_type
failure_classifier(classifier_actor::stateful_pointer<failure_classifier_state> self);

} // namespace switchyard::actors

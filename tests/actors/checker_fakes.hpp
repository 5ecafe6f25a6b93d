// What a health checker reports to, as fakes that record it: the classifier
// (transitions) and the performance monitor (samples).
#pragma once

#include <memory>
#include <vector>

#include "messages/interfaces.hpp"

namespace switchyard::testing {

inline classifier_actor::behavior_type
recording_classifier(classifier_actor::pointer,
                     std::shared_ptr<std::vector<health_transition>> seen) {
  return {
      [seen](health_transition& t) { seen->push_back(std::move(t)); },
      [](service_topology&) {},
  };
}

inline performance_monitor_actor::behavior_type
counting_monitor(performance_monitor_actor::pointer,
                 std::shared_ptr<std::vector<probe_sample>> got) {
  return {
      [got](probe_sample& s) { got->push_back(std::move(s)); },
      [](metrics_scrape&) {},
      [](service_topology&) {},
      [](config_update&) {},
  };
}

} // namespace switchyard::testing

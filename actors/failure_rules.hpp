// Classification of health transitions into failure detections. Pure logic,
// no actor: the failure_classifier actor feeds it and persists what it returns.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "messages/detection.hpp"
#include "messages/health.hpp"

namespace switchyard::actors {

class failure_rules {
public:
  /// Records who is primary for `service` (severity depends on it).
  void set_primary(const std::string& service, const std::string& instance);

  /// Classifies one transition:
  /// - to unhealthy: an `unreachable` detection, critical for the primary,
  ///   warning for a standby; only once until the instance recovers (de-duplication);
  /// - unhealthy to healthy: a `recovered` detection (info);
  /// - unknown to healthy: nothing (an instance coming up is not news).
  std::optional<failure_detection> classify(const health_transition& t);

  [[nodiscard]] bool has_open_failure(const std::string& instance) const;

private:
  std::map<std::string, std::string> primary_of_;
  std::map<std::string, bool> open_failure_; // instance -> unreachable and not yet recovered
};

} // namespace switchyard::actors

// Rise/fall hysteresis: an instance becomes healthy after `rise` consecutive
// successful probes and unhealthy after `fall` consecutive failures. Pure logic.
#pragma once

#include <cstdint>
#include <optional>

#include "messages/health.hpp"

namespace switchyard::actors {

class health_tracker {
public:
  health_tracker(int rise, int fall);

  /// Feeds one probe outcome, of a probe sent at `at`; returns the new status
  /// when it changed.
  std::optional<health_status> observe(bool ok, caf::timestamp at = {});

  /// Feeds one failed probe that confirms a crash (a held connection dropped
  /// and the probe run at once failed): unhealthy now, without waiting for
  /// `fall` failures. Returns the new status when it changed.
  std::optional<health_status> force_down(caf::timestamp at = {});

  [[nodiscard]] health_status status() const { return status_; }
  /// Consecutive probes that agree with the latest one.
  [[nodiscard]] std::uint32_t streak() const { return streak_; }
  /// Whether the latest probe fed succeeded (false before the first).
  [[nodiscard]] bool last_ok() const { return streak_ > 0 && last_ok_; }
  /// When the first probe of the current streak was sent (the `at` it was
  /// observed with): for a transition to unhealthy, the first failed probe.
  [[nodiscard]] caf::timestamp streak_since() const { return since_; }

private:
  std::uint32_t rise_;
  std::uint32_t fall_;
  health_status status_ = health_status::unknown;
  bool last_ok_ = false;
  std::uint32_t streak_ = 0;
  caf::timestamp since_{};
};

} // namespace switchyard::actors

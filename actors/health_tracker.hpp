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

  /// Feeds one probe outcome; returns the new status when it changed.
  std::optional<health_status> observe(bool ok);

  /// Feeds one failed probe that confirms a crash (a held connection dropped
  /// and the probe run at once failed): unhealthy now, without waiting for
  /// `fall` failures. Returns the new status when it changed.
  std::optional<health_status> force_down();

  [[nodiscard]] health_status status() const { return status_; }
  /// Consecutive probes that agree with the latest one.
  [[nodiscard]] std::uint32_t streak() const { return streak_; }

private:
  std::uint32_t rise_;
  std::uint32_t fall_;
  health_status status_ = health_status::unknown;
  bool last_ok_ = false;
  std::uint32_t streak_ = 0;
};

} // namespace switchyard::actors

#include "rules/health_tracker.hpp"

namespace switchyard::actors {

health_tracker::health_tracker(int rise, int fall)
    : rise_(static_cast<std::uint32_t>(rise < 1 ? 1 : rise)),
      fall_(static_cast<std::uint32_t>(fall < 1 ? 1 : fall)) {}

std::optional<health_status> health_tracker::observe(bool ok, caf::timestamp at) {
  if (streak_ == 0 || ok != last_ok_) {
    streak_ = 1;
    since_ = at;
  } else
    ++streak_;
  last_ok_ = ok;
  auto next = status_;
  if (ok && streak_ >= rise_)
    next = health_status::healthy;
  else if (!ok && streak_ >= fall_)
    next = health_status::unhealthy;
  if (next == status_)
    return std::nullopt;
  status_ = next;
  return next;
}

std::optional<health_status> health_tracker::force_down(caf::timestamp at) {
  auto before = status_;
  // Counted like any failure (the streak goes on), so a recovery still needs `rise` successes.
  observe(false, at);
  status_ = health_status::unhealthy;
  if (status_ == before)
    return std::nullopt;
  return status_;
}

} // namespace switchyard::actors

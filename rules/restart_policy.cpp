#include "rules/restart_policy.hpp"

#include <algorithm>

namespace switchyard::actors {

restart_policy::restart_policy(config::supervisor_settings settings) : settings_(settings) {}

restart_verdict restart_policy::on_crash(caf::actor_clock::time_point now) {
  crashes_.push_back(now);
  while (!crashes_.empty() && now - crashes_.front() > settings_.restart_window)
    crashes_.pop_front();
  restart_verdict v;
  v.recent_crashes = crashes_.size();
  if (crashes_.size() > static_cast<std::size_t>(settings_.max_restarts)) {
    v.escalate = true;
    return v;
  }
  // initial, 2x, 4x, ... capped: backing off protects a struggling dependency.
  caf::timespan delay = settings_.initial_backoff;
  for (std::size_t i = 1; i < crashes_.size() && delay < settings_.max_backoff; ++i)
    delay *= 2;
  v.delay = std::min<caf::timespan>(delay, settings_.max_backoff);
  return v;
}

} // namespace switchyard::actors

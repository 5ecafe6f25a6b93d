// The supervisor's restart discipline as pure logic: exponential backoff per
// child, and escalation once a child crashed more than max_restarts times
// inside the restart window (Erlang/OTP's intensity/period).
#pragma once

#include <deque>

#include <caf/actor_clock.hpp>

#include "config/model.hpp"

namespace switchyard::actors {

struct restart_verdict {
  bool escalate = false;
  caf::timespan delay{0};         ///< wait this long before restarting
  std::size_t recent_crashes = 0; ///< crashes inside the window, this one included
};

class restart_policy {
public:
  explicit restart_policy(config::supervisor_settings settings);

  /// Records a crash at `now` and says what to do about it.
  restart_verdict on_crash(caf::actor_clock::time_point now);

private:
  config::supervisor_settings settings_;
  std::deque<caf::actor_clock::time_point> crashes_;
};

} // namespace switchyard::actors

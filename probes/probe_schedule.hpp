// When a periodic health check is due: every interval plus a uniformly random
// share of the jitter. Used by the probe engine (tcp, http, redis checks run
// on its own timers) and by the health checker (the probes it times itself).
#pragma once

#include <chrono>
#include <random>

namespace switchyard::actors {

class probe_schedule {
public:
  using clock = std::chrono::steady_clock;

  /// `seed` spreads checkers started together (the daemon uses the instance's name).
  probe_schedule(std::chrono::milliseconds interval, std::chrono::milliseconds jitter,
                 unsigned seed);

  /// The delay from `now` until the next check. Checks are scheduled from the
  /// last due time, not from when the previous one was handled, so a busy
  /// thread does not stretch the interval (10,000 checks at 1 s do run 10,000
  /// times a second); after falling behind by more than an interval it starts
  /// afresh from `now`.
  clock::duration next(clock::time_point now);

private:
  clock::duration next_delay();

  std::chrono::milliseconds interval_;
  std::chrono::milliseconds jitter_;
  std::minstd_rand rng_;
  clock::time_point due_{};
};

} // namespace switchyard::actors

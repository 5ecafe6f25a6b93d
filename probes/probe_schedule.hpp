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

  /// `seed` spreads checkers started together (the daemon uses the instance's
  /// name). `spread`: the phase and the slots below (the probe engine's own
  /// timers: thousands of checks on one thread); without, every check is due
  /// exactly one interval (plus jitter) after the last (the checker's CAF
  /// timer for exec and grpc probes, which a pool of two threads runs anyway).
  probe_schedule(std::chrono::milliseconds interval, std::chrono::milliseconds jitter,
                 unsigned seed, bool spread);

  /// Checks are due at the next multiple of this on the steady clock (never
  /// early): checks due within one slot run together, so the thread that
  /// runs them wakes at most 500 times a second, not once per check. Measured
  /// (bench/probe_bench, bench/pipeline_bench, docs/benchmarks.md): with 1 ms
  /// slots 10,000 tcp checks a second cost 30 % more CPU, with 5 ms slots
  /// each slot's burst of checks delays a failover's path (its p99 +50 %).
  static constexpr std::chrono::milliseconds slot{2};

  /// The delay from `now` until the next check. The first check runs at once
  /// (a verdict as soon as possible at start); when spread, the first call puts the second
  /// at a phase drawn from the seed, uniformly within one interval, so that
  /// checkers started together do not check together ever after: 10,000 at
  /// 1 s make 10 checks a millisecond, not a burst of 10,000 every second
  /// (HAProxy spreads its checks the same way). Later checks are scheduled from
  /// the last due time, not from when the previous one was handled, so a busy
  /// thread does not stretch the interval; after falling behind by more than
  /// an interval it starts afresh from `now`.
  clock::duration next(clock::time_point now);

private:
  clock::duration next_delay();

  std::chrono::milliseconds interval_;
  std::chrono::milliseconds jitter_;
  std::minstd_rand rng_;
  bool spread_;
  clock::time_point due_{};
};

} // namespace switchyard::actors

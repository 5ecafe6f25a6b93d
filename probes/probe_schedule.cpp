#include "probes/probe_schedule.hpp"

namespace switchyard::actors {

namespace {

// Scrambles a seed (murmur3's finalizer): minstd's first draw is linear in
// its seed, so neighbouring seeds would otherwise get neighbouring phases.
unsigned scrambled(unsigned x) {
  x ^= x >> 16;
  x *= 0x85ebca6bU;
  x ^= x >> 13;
  x *= 0xc2b2ae35U;
  x ^= x >> 16;
  return x;
}

} // namespace

probe_schedule::probe_schedule(std::chrono::milliseconds interval, std::chrono::milliseconds jitter,
                               unsigned seed, bool spread)
    : interval_(interval), jitter_(jitter), rng_(scrambled(seed)), spread_(spread) {}

probe_schedule::clock::duration probe_schedule::next_delay() {
  clock::duration delay = interval_;
  if (jitter_.count() > 0) {
    std::uniform_int_distribution<long long> dist(0, jitter_.count());
    delay += std::chrono::milliseconds(dist(rng_));
  }
  return delay;
}

namespace {

// `t` rounded up to the next slot boundary of the steady clock.
probe_schedule::clock::time_point slotted(probe_schedule::clock::time_point t) {
  auto since = t.time_since_epoch();
  auto rest = since % probe_schedule::slot;
  return rest == rest.zero() ? t : t + (probe_schedule::slot - rest);
}

} // namespace

probe_schedule::clock::duration probe_schedule::next(clock::time_point now) {
  if (spread_ && due_ == clock::time_point{} && interval_.count() > 1) {
    // The phase: 1 ms .. one interval after the first check.
    std::uniform_int_distribution<long long> phase(1, interval_.count());
    due_ = now + std::chrono::milliseconds(phase(rng_));
  } else {
    auto delay = next_delay();
    if (due_ == clock::time_point{} || now - due_ > delay)
      due_ = now + delay;
    else
      due_ += delay;
  }
  // The schedule keeps its exact due times; only the wake-up is slotted.
  return (spread_ ? slotted(due_) : due_) - now;
}

} // namespace switchyard::actors

#include "probes/probe_schedule.hpp"

namespace switchyard::actors {

probe_schedule::probe_schedule(std::chrono::milliseconds interval, std::chrono::milliseconds jitter,
                               unsigned seed)
    : interval_(interval), jitter_(jitter), rng_(seed) {}

probe_schedule::clock::duration probe_schedule::next_delay() {
  clock::duration delay = interval_;
  if (jitter_.count() > 0) {
    std::uniform_int_distribution<long long> dist(0, jitter_.count());
    delay += std::chrono::milliseconds(dist(rng_));
  }
  return delay;
}

probe_schedule::clock::duration probe_schedule::next(clock::time_point now) {
  auto delay = next_delay();
  if (due_ == clock::time_point{} || now - due_ > delay)
    due_ = now + delay;
  else
    due_ += delay;
  return due_ - now;
}

} // namespace switchyard::actors

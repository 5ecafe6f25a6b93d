// The phi-accrual failure detector (Hayashibara et al., 2004) over an
// instance's successful probes. Pure logic: time comes in as a parameter.
//
// Successful probes are heartbeats. Over a window of their inter-arrival
// times, phi(now) = -log10(1 - CDF(now - last)) for a normal distribution with
// the window's mean and standard deviation (at least a floor): the longer the
// silence compared with what was usual, the higher phi. phi 1 means a 10%
// chance that an answer is still coming, phi 8 one in 10^8.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>

#include <caf/actor_clock.hpp>
#include <caf/timespan.hpp>

namespace switchyard::actors {

/// phi for a silence of `elapsed_s` seconds when inter-arrival times are
/// normal with `mean_s` and `std_dev_s` (> 0). Finite for any input.
double phi_of(double elapsed_s, double mean_s, double std_dev_s);

class phi_accrual {
public:
  using time_point = caf::actor_clock::time_point;

  /// Keeps the last `window` inter-arrival times; the standard deviation is
  /// never taken below `min_std_dev` (regular probes have almost none).
  phi_accrual(std::size_t window, caf::timespan min_std_dev);

  /// A successful probe at `at`: the time since the previous one joins the window.
  void heartbeat(time_point at);

  /// A successful probe after an outage: the silence was a failure, not an
  /// inter-arrival time, so it does not join the window.
  void restart(time_point at);

  /// phi at `now`; 0 until two heartbeats gave one inter-arrival time.
  [[nodiscard]] double phi(time_point now) const;

  [[nodiscard]] std::size_t samples() const { return intervals_.size(); }
  /// Mean and floored standard deviation of the window, in seconds (0 if empty).
  [[nodiscard]] double mean_s() const;
  [[nodiscard]] double std_dev_s() const;
  /// Seconds since the last heartbeat at `now`; 0 without one.
  [[nodiscard]] double silence_s(time_point now) const;

private:
  std::size_t window_;
  double min_std_dev_s_;
  std::deque<double> intervals_; ///< seconds, oldest first
  double sum_ = 0;
  double sum_sq_ = 0;
  std::optional<time_point> last_;
};

} // namespace switchyard::actors

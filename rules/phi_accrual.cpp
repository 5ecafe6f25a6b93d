#include "rules/phi_accrual.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace switchyard::actors {

namespace {

constexpr double ln10 = 2.302585092994046;
constexpr double sqrt_2pi = 2.5066282746310002;

double seconds(caf::timespan d) {
  return std::chrono::duration<double>(d).count();
}

} // namespace

double phi_of(double elapsed_s, double mean_s, double std_dev_s) {
  double y = (elapsed_s - mean_s) / std_dev_s;
  // erfc underflows past y ~ 37; well before that, the asymptotic series of
  // the normal tail, Q(y) ~ pdf(y) / y * (1 - 1/y^2 + 3/y^4), is exact to
  // double precision, and it keeps phi finite and growing.
  if (y > 30) {
    double y2 = y * y;
    return y2 / 2 / ln10 + std::log10(y * sqrt_2pi) - std::log10(1 - 1 / y2 + 3 / (y2 * y2));
  }
  return -std::log10(0.5 * std::erfc(y / std::sqrt(2.0)));
}

phi_accrual::phi_accrual(std::size_t window, caf::timespan min_std_dev)
    : window_(std::max<std::size_t>(window, 1)), min_std_dev_s_(seconds(min_std_dev)) {}

void phi_accrual::heartbeat(time_point at) {
  if (last_) {
    double interval = seconds(at - *last_);
    intervals_.push_back(interval);
    sum_ += interval;
    sum_sq_ += interval * interval;
    if (intervals_.size() > window_) {
      double old = intervals_.front();
      intervals_.pop_front();
      sum_ -= old;
      sum_sq_ -= old * old;
    }
  }
  last_ = at;
}

void phi_accrual::restart(time_point at) {
  last_ = at;
}

double phi_accrual::mean_s() const {
  return intervals_.empty() ? 0.0 : sum_ / static_cast<double>(intervals_.size());
}

double phi_accrual::std_dev_s() const {
  if (intervals_.empty())
    return min_std_dev_s_;
  double n = static_cast<double>(intervals_.size());
  double mean = sum_ / n;
  // Running sums may leave a tiny negative variance behind.
  double variance = std::max(0.0, sum_sq_ / n - mean * mean);
  return std::max(std::sqrt(variance), min_std_dev_s_);
}

double phi_accrual::silence_s(time_point now) const {
  return last_ ? std::max(0.0, seconds(now - *last_)) : 0.0;
}

double phi_accrual::phi(time_point now) const {
  if (intervals_.empty() || !last_)
    return 0.0;
  double sd = std_dev_s();
  if (sd <= 0)
    return 0.0; // no floor and perfectly regular: undefined, never suspect
  return phi_of(silence_s(now), mean_s(), sd);
}

} // namespace switchyard::actors

#include "rules/performance_window.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

namespace switchyard::actors {

namespace {

double seconds(caf::timespan d) {
  return std::chrono::duration<double>(d).count();
}

/// How much a counter grew from `a` to `b`; a smaller `b` is a restart from 0.
double increase(double a, double b) {
  return b >= a ? b - a : b;
}

std::string latency_text(double s) {
  if (s < 0.001)
    return fmt::format("{:.2f} ms", s * 1000);
  if (s < 1)
    return fmt::format("{:.0f} ms", s * 1000);
  return fmt::format("{:.2f} s", s);
}

std::string percent_text(double share) {
  return fmt::format("{:.1f}%", share * 100);
}

std::string threshold_percent(double share) {
  return fmt::format("{:g}%", share * 100);
}

// 1m30s, 2s, 500ms: how durations are written in the configuration.
std::string duration_text(caf::timespan d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms == 0)
    return "0s";
  if (ms % 1000 != 0)
    return fmt::format("{}ms", ms);
  auto s = ms / 1000;
  if (s < 60 || s % 60 != 0)
    return s < 60 ? fmt::format("{}s", s) : fmt::format("{}m{}s", s / 60, s % 60);
  return fmt::format("{}m", s / 60);
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const auto& p : parts)
    out += (out.empty() ? "" : sep) + p;
  return out;
}

} // namespace

const char* to_string(performance_window::state s) {
  switch (s) {
  case performance_window::state::normal:
    return "normal";
  case performance_window::state::pending:
    return "pending";
  case performance_window::state::degraded:
    return "degraded";
  case performance_window::state::clearing:
    return "clearing";
  }
  return "?";
}

performance_window::performance_window(config::performance_settings settings, int fall)
    : settings_(std::move(settings)), fall_(std::max(fall, 1)) {}

void performance_window::trim(time_point now) {
  auto start = now - settings_.window;
  while (!probes_.empty() && probes_.front().at < start)
    probes_.pop_front();
  while (!scrapes_.empty() && scrapes_.front().at < start)
    scrapes_.pop_front();
}

std::optional<performance_window::change>
performance_window::add_probe(bool ok, caf::timespan latency, time_point now) {
  if (ok) {
    failures_in_a_row_ = 0;
    down_ = false;
  } else if (++failures_in_a_row_ >= fall_) {
    if (!down_) {
      // Down, not slow: forget what the window says about it, decide nothing.
      down_ = true;
      probes_.clear();
      if (state_ == state::pending)
        state_ = state::normal;
      else if (state_ == state::clearing)
        state_ = state::degraded;
    }
    return std::nullopt;
  }
  probes_.push_back({now, ok, seconds(latency)});
  trim(now);
  return evaluate(now);
}

std::optional<performance_window::change>
performance_window::add_scrape(const metrics_scrape& scrape, time_point now) {
  if (!scrape.error.empty()) {
    // A failed scrape is no number: it neither raises nor clears anything.
    scrape_error_ = scrape.error;
    return std::nullopt;
  }
  scrape_error_.clear();
  scrape_point p{now, scrape};
  if (last_scrape_)
    learn_baseline(*last_scrape_, p);
  last_scrape_ = p;
  scrapes_.push_back(std::move(p));
  trim(now);
  return evaluate(now);
}

void performance_window::learn_baseline(const scrape_point& previous, const scrape_point& next) {
  if (!previous.values.has_requests || !next.values.has_requests || next.at <= previous.at)
    return;
  auto dt = next.at - previous.at;
  double rate = increase(previous.values.requests, next.values.requests) / seconds(dt);
  // Intervals below the threshold do not teach the baseline: a drop must not
  // become the new normal while it is reported, unless it lasts so long
  // that it is the new normal.
  if (warm() && settings_.min_throughput_ratio > 0 &&
      rate < settings_.min_throughput_ratio * *baseline_) {
    throughput_low_since_ = throughput_low_since_ ? throughput_low_since_ : next.at;
    if (next.at - *throughput_low_since_ < performance_limits::baseline_freeze_limit)
      return;
  } else {
    throughput_low_since_.reset();
  }
  double alpha = 1 - std::exp(-seconds(dt) / seconds(performance_limits::baseline_time_constant));
  baseline_ = baseline_ ? *baseline_ + alpha * (rate - *baseline_) : rate;
  learned_for_ += dt;
  ++learned_samples_;
}

performance_stats performance_window::stats(time_point now) const {
  performance_stats s;
  auto start = now - settings_.window;
  std::vector<double> latencies;
  for (const auto& p : probes_) {
    if (p.at < start || p.at > now)
      continue;
    ++s.probes;
    if (p.ok)
      latencies.push_back(p.latency_s);
    else
      ++s.probe_failures;
  }
  if (latencies.size() >= performance_limits::min_latency_probes) {
    double sum = 0;
    for (double l : latencies)
      sum += l;
    s.probe_mean_s = sum / static_cast<double>(latencies.size());
    std::sort(latencies.begin(), latencies.end());
    auto rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(latencies.size())));
    s.probe_p99_s = latencies[std::max<std::size_t>(rank, 1) - 1];
  }
  if (s.probes >= performance_limits::min_error_probes)
    s.probe_error_rate = static_cast<double>(s.probe_failures) / static_cast<double>(s.probes);

  const scrape_point* prev = nullptr;
  double requests = 0;
  double error_requests = 0;
  double errors = 0;
  double latency_sum = 0;
  double latency_count = 0;
  double gauge_sum = 0;
  std::size_t gauges = 0;
  std::optional<time_point> first;
  std::optional<time_point> last;
  for (const auto& p : scrapes_) {
    if (p.at < start || p.at > now)
      continue;
    ++s.scrapes;
    const auto& v = p.values;
    if (v.latency == latency_metric::gauge) {
      gauge_sum += v.latency_value;
      ++gauges;
    }
    if (prev != nullptr) {
      const auto& u = prev->values;
      if (u.has_requests && v.has_requests) {
        double grew = increase(u.requests, v.requests);
        requests += grew;
        first = first ? first : prev->at;
        last = p.at;
        if (u.has_errors && v.has_errors) {
          errors += increase(u.errors, v.errors);
          error_requests += grew;
        }
      }
      if (u.latency == latency_metric::histogram && v.latency == latency_metric::histogram) {
        latency_sum += increase(u.latency_sum, v.latency_sum);
        latency_count += increase(u.latency_count, v.latency_count);
      }
    }
    prev = &p;
  }
  if (gauges > 0)
    s.metrics_mean_s = gauge_sum / static_cast<double>(gauges);
  else if (latency_count > 0)
    s.metrics_mean_s = latency_sum / latency_count;
  if (first && last && *last > *first) {
    s.requests = requests;
    s.throughput = requests / seconds(*last - *first);
  }
  if (error_requests >= performance_limits::min_requests) {
    s.error_rate = errors / error_requests;
    s.errors = errors;
    s.error_requests = error_requests;
  }
  if (warm())
    s.baseline = baseline_;
  return s;
}

bool performance_window::warm() const {
  return baseline_ && learned_for_ >= performance_limits::baseline_warmup &&
         learned_samples_ >= performance_limits::baseline_min_samples;
}

performance_window::assessment performance_window::assess(const performance_stats& s) const {
  assessment a;
  const auto& cfg = settings_;
  double max_latency = seconds(cfg.max_mean_latency);
  auto window = duration_text(cfg.window);
  auto latency = [&](double mean, const std::string& source) {
    a.known = true;
    if (mean > max_latency)
      a.crossed.push_back(fmt::format("mean response {} > max_mean_latency {} ({})",
                                      latency_text(mean), latency_text(max_latency), source));
    else
      a.within.push_back(fmt::format("mean response {} ({})", latency_text(mean), source));
  };
  if (s.probe_mean_s)
    latency(*s.probe_mean_s,
            fmt::format("probes: {} in the last {}, p99 {}", s.probes - s.probe_failures, window,
                        latency_text(*s.probe_p99_s)));
  if (s.metrics_mean_s)
    latency(*s.metrics_mean_s, fmt::format("metrics, last {}", window));
  auto errors = [&](double rate, const std::string& what, const std::string& source) {
    a.known = true;
    if (rate > cfg.max_error_rate)
      a.crossed.push_back(fmt::format("{} {} > max_error_rate {} ({})", what, percent_text(rate),
                                      threshold_percent(cfg.max_error_rate), source));
    else
      a.within.push_back(fmt::format("{} {}", what, percent_text(rate)));
  };
  if (s.probe_error_rate)
    errors(
        *s.probe_error_rate, "probe failure rate",
        fmt::format("{} of {} probes failed in the last {}", s.probe_failures, s.probes, window));
  if (s.error_rate)
    errors(*s.error_rate, "error rate",
           fmt::format("metrics: {:.0f} errors of {:.0f} requests in the last {}", *s.errors,
                       *s.error_requests, window));
  if (s.throughput && s.baseline && cfg.min_throughput_ratio > 0 &&
      *s.baseline >= performance_limits::baseline_min_rate) {
    a.known = true;
    if (*s.throughput < cfg.min_throughput_ratio * *s.baseline)
      a.crossed.push_back(fmt::format(
          "throughput {:.2f} req/s < min_throughput_ratio {} of the learned baseline {:.2f} req/s "
          "(metrics, last {})",
          *s.throughput, threshold_percent(cfg.min_throughput_ratio), *s.baseline, window));
    else
      a.within.push_back(fmt::format("throughput {:.2f} req/s (baseline {:.2f} req/s)",
                                     *s.throughput, *s.baseline));
  }
  return a;
}

std::optional<performance_window::change> performance_window::evaluate(time_point now) {
  if (down_)
    return std::nullopt;
  auto s = stats(now);
  auto a = assess(s);
  if (!a.known)
    return std::nullopt;
  bool crossed = !a.crossed.empty();
  if (state_ == state::normal) {
    if (!crossed)
      return std::nullopt;
    state_ = state::pending;
    since_ = now;
  } else if (state_ == state::degraded) {
    if (crossed)
      return std::nullopt;
    state_ = state::clearing;
    since_ = now;
  }
  if (state_ == state::pending) {
    if (!crossed) {
      state_ = state::normal;
      return std::nullopt;
    }
    if (now - since_ < settings_.hold)
      return std::nullopt;
    state_ = state::degraded;
    return change{true, fmt::format("{}; for {:.1f} s (hold {})", join(a.crossed, "; "),
                                    seconds(now - since_), duration_text(settings_.hold))};
  }
  // clearing
  if (crossed) {
    state_ = state::degraded;
    return std::nullopt;
  }
  if (now - since_ < settings_.hold)
    return std::nullopt;
  state_ = state::normal;
  return change{false, fmt::format("performance back within thresholds for {:.1f} s: {}",
                                   seconds(now - since_), join(a.within, ", "))};
}

} // namespace switchyard::actors

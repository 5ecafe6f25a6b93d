// Sliding-window performance statistics of one instance and the decision
// whether it is degraded. Pure logic: the performance monitor feeds it probe
// outcomes and metrics scrapes with the time, and reports what it returns.
//
//            threshold crossed                  crossed for `hold`
//   normal ───────────────────► pending ────────────────────────► degraded (reported)
//     ▲                            │ all within                      │ all within
//     │                            ▼                                 ▼
//     └────────────────────────  normal          degraded ◄──── clearing
//     back within thresholds for `hold` (reported)   crossed again    │
//     ◄───────────────────────────────────────────────────────────────┘
//
// An evaluation with no usable numbers (too few samples) changes nothing. An
// instance whose last `fall` probes failed is down: that is the health
// check's business, so its probe window is emptied, a pending crossing is
// dropped and nothing is decided until a probe succeeds again.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/timespan.hpp>

#include "config/model.hpp"
#include "messages/performance.hpp"

namespace switchyard::actors {

/// The fixed parts of the rules (documented in docs/detection.md).
struct performance_limits {
  /// Successful probes in the window before their mean latency counts.
  static constexpr std::size_t min_latency_probes = 3;
  /// Probes in the window before their failure share counts as an error rate.
  static constexpr std::size_t min_error_probes = 5;
  /// Requests in the window (from the counter) before the error rate counts.
  static constexpr double min_requests = 10;
  /// The throughput baseline is an EWMA with this time constant ...
  static constexpr caf::timespan baseline_time_constant = std::chrono::minutes(5);
  /// ... compared against only once it has learned this long ...
  static constexpr caf::timespan baseline_warmup = std::chrono::minutes(10);
  /// ... from at least this many scrape intervals ...
  static constexpr std::size_t baseline_min_samples = 10;
  /// ... and is at least this many requests per second (an idle service has
  /// no throughput to lose).
  static constexpr double baseline_min_rate = 0.1;
  /// Scrape intervals below the threshold do not teach the warm baseline (so
  /// a drop does not become the new normal), for at most this long.
  static constexpr caf::timespan baseline_freeze_limit = std::chrono::hours(1);
};

/// The window's numbers at one time; empty where there is not enough data.
struct performance_stats {
  std::size_t probes = 0;             ///< probe outcomes in the window
  std::size_t probe_failures = 0;     ///< of them failed
  std::optional<double> probe_mean_s; ///< mean latency of the successful probes
  std::optional<double> probe_p99_s;  ///< their 99th percentile (nearest rank)
  std::optional<double> probe_error_rate;
  std::size_t scrapes = 0; ///< successful scrapes in the window
  std::optional<double> metrics_mean_s;
  std::optional<double> requests; ///< requests counted in the window
  std::optional<double> error_rate;
  std::optional<double> errors;         ///< errors counted in the window (with error_rate)
  std::optional<double> error_requests; ///< requests they are a share of
  std::optional<double> throughput;     ///< requests per second over the window
  std::optional<double> baseline;       ///< learned throughput, once warmed up
};

class performance_window {
public:
  using time_point = caf::actor_clock::time_point;

  enum class state { normal, pending, degraded, clearing };

  /// What to report: the instance became degraded, or is back within thresholds.
  struct change {
    bool degraded = false;
    std::string evidence;
  };

  /// `fall`: the health check's; that many failed probes in a row is down.
  performance_window(config::performance_settings settings, int fall);

  std::optional<change> add_probe(bool ok, caf::timespan latency, time_point now);
  std::optional<change> add_scrape(const metrics_scrape& scrape, time_point now);

  /// The statistics over the window ending at `now`.
  [[nodiscard]] performance_stats stats(time_point now) const;
  [[nodiscard]] state current() const { return state_; }
  [[nodiscard]] bool down() const { return down_; }
  [[nodiscard]] const std::string& last_scrape_error() const { return scrape_error_; }

private:
  struct probe_point {
    time_point at;
    bool ok;
    double latency_s;
  };
  struct scrape_point {
    time_point at;
    metrics_scrape values;
  };
  /// The thresholds crossed now (empty: none) and whether any number was usable.
  struct assessment {
    std::vector<std::string> crossed;
    std::vector<std::string> within;
    bool known = false;
  };

  void trim(time_point now);
  void learn_baseline(const scrape_point& previous, const scrape_point& next);
  [[nodiscard]] bool warm() const;
  [[nodiscard]] assessment assess(const performance_stats& s) const;
  std::optional<change> evaluate(time_point now);

  config::performance_settings settings_;
  int fall_;
  std::deque<probe_point> probes_;
  std::deque<scrape_point> scrapes_;
  std::optional<scrape_point> last_scrape_; ///< may be older than the window
  std::string scrape_error_;
  int failures_in_a_row_ = 0;
  bool down_ = false;
  // Throughput baseline (requests per second).
  std::optional<double> baseline_;
  caf::timespan learned_for_{0};
  std::size_t learned_samples_ = 0;
  std::optional<time_point> throughput_low_since_; ///< intervals below the threshold since
  // The state machine.
  state state_ = state::normal;
  time_point since_{}; ///< pending or clearing since
};

const char* to_string(performance_window::state s);

} // namespace switchyard::actors

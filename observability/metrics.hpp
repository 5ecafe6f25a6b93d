// The daemon's own metrics: a process-wide registry of counters, gauges and
// histograms, rendered in the Prometheus text exposition format 0.0.4 for
// `GET /metrics`.
//
// Lookup (`counter_for`, ...) takes a mutex; the returned references stay
// valid for the lifetime of the process (also after `remove`), so hot paths
// look a series up once and keep the reference. Updating a value is a
// lock-free atomic operation.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchyard::metrics {

/// Label name/value pairs, in the order they are rendered.
using labels = std::vector<std::pair<std::string, std::string>>;

/// A monotonically increasing value.
class counter {
public:
  void inc(double v = 1.0);
  [[nodiscard]] double value() const;

private:
  std::atomic<double> value_{0.0};
};

/// A value that goes up and down.
class gauge {
public:
  void set(double v);
  void add(double v);
  [[nodiscard]] double value() const;

private:
  std::atomic<double> value_{0.0};
};

/// Observations counted into fixed buckets (upper bounds, seconds by
/// convention), plus their sum and count.
class histogram {
public:
  explicit histogram(std::vector<double> upper_bounds);
  void observe(double value);

  [[nodiscard]] const std::vector<double>& upper_bounds() const { return bounds_; }
  /// Observations <= upper_bounds()[i], cumulative; the last entry is +Inf.
  [[nodiscard]] std::vector<std::uint64_t> cumulative_counts() const;
  [[nodiscard]] std::uint64_t count() const;
  [[nodiscard]] double sum() const;

private:
  std::vector<double> bounds_;                           // sorted, without +Inf
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_; // per bucket + one for +Inf
  std::atomic<double> sum_{0.0};
  std::atomic<std::uint64_t> count_{0};
};

/// 0.0001 s .. 10 s, roughly 1-2.5-5 per decade.
std::vector<double> default_seconds_buckets();

class registry {
public:
  registry();
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// The series `name{l}`, created on first use. Throws std::invalid_argument
  /// for an invalid metric or label name and std::logic_error when `name` is
  /// already registered with another type. `help` of the first call wins.
  counter& counter_for(std::string_view name, std::string_view help, const labels& l = {});
  gauge& gauge_for(std::string_view name, std::string_view help, const labels& l = {});
  /// `buckets` of the family's first series apply to the whole family.
  histogram& histogram_for(std::string_view name, std::string_view help, const labels& l = {},
                           std::vector<double> buckets = default_seconds_buckets());

  /// Stops rendering the series `name{l}` (e.g. an instance removed by a
  /// reload). References handed out stay valid (the object is retired, not
  /// freed); a later *_for with the same name and labels starts from zero.
  void remove(std::string_view name, const labels& l);

  /// Every family, sorted by name, in the text exposition format 0.0.4.
  [[nodiscard]] std::string render() const;

  /// Number of series currently rendered (for tests).
  [[nodiscard]] std::size_t series_count() const;

private:
  enum class kind { counter, gauge, histogram };
  struct series;
  struct family;

  series& lookup(kind k, std::string_view name, std::string_view help, const labels& l,
                 std::vector<double>* buckets);

  mutable std::mutex mtx_;
  std::map<std::string, std::unique_ptr<family>, std::less<>> families_;
  std::vector<std::unique_ptr<series>> retired_;
};

/// `switchyard_mailbox_depth{actor="<actor>"}` in `r`: the messages waiting in
/// that actor's mailbox when it last sampled it.
gauge& mailbox_depth(registry& r, std::string_view actor);

/// Escapes a label value for the text format (backslash, double quote, newline).
std::string escape_label_value(std::string_view v);

/// Formats a sample value: shortest round-trip decimal, +Inf, -Inf, NaN.
std::string format_value(double v);

} // namespace switchyard::metrics

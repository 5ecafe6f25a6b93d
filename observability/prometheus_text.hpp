// A parser for the Prometheus text exposition format (version 0.0.4), enough
// to read counters, gauges and the _sum/_count of histograms and summaries
// from an instance's metrics endpoint. Pure: text in, samples out.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::actors {

struct prometheus_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0; ///< +Inf, -Inf and NaN as written
};

struct prometheus_text {
  std::vector<prometheus_sample> samples;
  std::size_t malformed = 0; ///< lines that were neither a sample nor a comment
  std::string first_error;   ///< the first malformed line and why, for the log

  /// The sum of every sample called `name`, over all its label sets;
  /// nothing when there is none.
  [[nodiscard]] std::optional<double> sum_of(std::string_view name) const;
};

/// Parses exposition text. Comments (# HELP, # TYPE, others) and blank lines
/// are skipped; a malformed line is counted and skipped, so one odd metric
/// does not hide the others. Optional timestamps are read and ignored.
prometheus_text parse_prometheus_text(std::string_view text);

} // namespace switchyard::actors

// Figures the benchmarks print: percentiles, medians and maxima of their samples.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace switchyard::bench {

/// The `p` quantile (0..1) of `v` by nearest rank; -1 for no samples.
inline double pct(std::vector<double> v, double p) {
  if (v.empty())
    return -1;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

/// The median of `v` (the mean of the middle two for an even count); -1 for
/// no samples.
inline double median(std::vector<double> v) {
  if (v.empty())
    return -1;
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

/// The largest of `v`; -1 for no samples.
inline double maximum(const std::vector<double>& v) {
  return v.empty() ? -1 : *std::max_element(v.begin(), v.end());
}

} // namespace switchyard::bench

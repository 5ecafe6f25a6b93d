// Figures the benchmarks print: percentiles of their samples.
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

} // namespace switchyard::bench

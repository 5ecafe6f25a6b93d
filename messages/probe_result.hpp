// The outcome of one probe, and the message that brings it from the probe
// engine's threads back to the health checker that started it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

namespace switchyard {

struct probe_outcome {
  bool ok = false;
  std::chrono::microseconds latency{0};
  std::string detail;   ///< "HTTP 200", "connection refused", "timed out after 300 ms", ...
  bool refused = false; ///< the connection was refused (ECONNREFUSED)
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, probe_outcome& x) {
  return f(caf::meta::type_name("probe_outcome"), x.ok, x.latency, x.detail, x.refused);
}

/// One finished probe. `seq` is the health checker's number for the probe it
/// started: a result whose number is not the one in flight is stale and ignored.
/// A `periodic` one was run by the probe engine on its own schedule (`seq` 0).
struct probe_result {
  std::uint64_t seq = 0;
  probe_outcome outcome;
  bool periodic = false;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, probe_result& x) {
  return f(caf::meta::type_name("probe_result"), x.seq, x.outcome, x.periodic);
}

} // namespace switchyard

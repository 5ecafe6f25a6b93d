// A probe checks one instance once, blocking for at most its timeout.
// Health checkers run probes on their own thread (spawned detached).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "config/model.hpp"

namespace switchyard::actors {

struct probe_outcome {
  bool ok = false;
  std::chrono::microseconds latency{0};
  std::string detail;   ///< "HTTP 200", "connection refused", "timed out after 300 ms", ...
  bool refused = false; ///< the connection was refused (ECONNREFUSED)
};

class probe {
public:
  virtual ~probe() = default;
  [[nodiscard]] virtual probe_outcome check() = 0;
  /// The connection the probe keeps open between checks (fast detection), or
  /// -1. It stays valid until the next check() or the probe's destruction,
  /// which may close or replace it.
  [[nodiscard]] virtual int held_fd() const { return -1; }
};

/// The probe configured by the service's health check for `instance`.
std::unique_ptr<probe> make_probe(const std::string& service,
                                  const config::health_check_settings& check,
                                  const config::instance_settings& instance);

} // namespace switchyard::actors

// Non-blocking TCP connect bounded by a deadline, shared by the tcp and http probes.
#pragma once

#include <chrono>
#include <string>

namespace switchyard::actors {

using probe_clock = std::chrono::steady_clock;

/// A connected socket or an explanation ("connection refused", "timed out ...").
struct connect_result {
  int fd = -1;
  std::string error;
};

/// Connects to host:port (numeric or resolvable name) before `deadline`.
connect_result connect_before(const std::string& host, std::uint16_t port,
                              probe_clock::time_point deadline);

/// Milliseconds left until `deadline` (0 when passed), for poll().
int millis_until(probe_clock::time_point deadline);

/// Closes `fd` if valid; safe on -1.
void close_fd(int fd);

} // namespace switchyard::actors

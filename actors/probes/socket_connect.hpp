// Non-blocking TCP connect bounded by a deadline, shared by the tcp, http and redis probes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace switchyard::actors {

using probe_clock = std::chrono::steady_clock;

/// A connected socket or an explanation ("connection refused", "timed out ...").
struct connect_result {
  int fd = -1;
  std::string error;
  /// The peer refused (ECONNREFUSED): the host answered and nothing listens on the port.
  bool refused = false;
};

/// Connects to host:port (numeric or resolvable name) before `deadline`.
connect_result connect_before(const std::string& host, std::uint16_t port,
                              probe_clock::time_point deadline);

/// Milliseconds left until `deadline`, rounded up (0 when passed), for poll().
int millis_until(probe_clock::time_point deadline);

/// Closes `fd` if valid; safe on -1.
void close_fd(int fd);

/// Whether the peer of the connected socket `fd` has closed or reset it, or
/// it has an error. Does not wait and reads no data. `unread` is set when
/// data is waiting (nothing was asked for on a held connection).
bool peer_gone(int fd, bool* unread = nullptr);

} // namespace switchyard::actors

#include "actors/probes/tcp_probe.hpp"

#include "actors/probes/socket_connect.hpp"

namespace switchyard::actors {

tcp_probe::tcp_probe(std::string host, std::uint16_t port, std::chrono::milliseconds timeout,
                     bool hold_connection)
    : host_(std::move(host)), port_(port), timeout_(timeout), hold_(hold_connection) {}

tcp_probe::~tcp_probe() {
  close_fd(held_);
}

probe_outcome tcp_probe::check() {
  auto start = probe_clock::now();
  probe_outcome out;
  auto elapsed = [start] {
    return std::chrono::duration_cast<std::chrono::microseconds>(probe_clock::now() - start);
  };
  // Data the server sent unasked (a banner) does not matter here: only whether
  // the connection is still up.
  if (held_ >= 0 && !peer_gone(held_)) {
    out.ok = true;
    out.detail = "connection held";
    out.latency = elapsed();
    return out;
  }
  close_fd(held_);
  held_ = -1;
  auto conn = connect_before(host_, port_, start + timeout_);
  out.latency = elapsed();
  out.ok = conn.fd >= 0;
  out.refused = conn.refused;
  out.detail = out.ok ? "connected" : conn.error;
  if (out.ok && hold_)
    held_ = conn.fd;
  else
    close_fd(conn.fd);
  return out;
}

} // namespace switchyard::actors

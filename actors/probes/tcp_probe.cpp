#include "actors/probes/tcp_probe.hpp"

#include "actors/probes/socket_connect.hpp"

namespace switchyard::actors {

tcp_probe::tcp_probe(std::string host, std::uint16_t port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {}

probe_outcome tcp_probe::check() {
  auto start = probe_clock::now();
  auto conn = connect_before(host_, port_, start + timeout_);
  probe_outcome out;
  out.latency = std::chrono::duration_cast<std::chrono::microseconds>(probe_clock::now() - start);
  out.ok = conn.fd >= 0;
  out.detail = out.ok ? "connected" : conn.error;
  close_fd(conn.fd);
  return out;
}

} // namespace switchyard::actors

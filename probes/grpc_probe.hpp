// gRPC probe: grpc.health.v1.Health/Check for `service` ("" asks about the
// server as a whole) with the timeout as deadline; healthy only when the
// answer is SERVING. Plaintext; one channel per probe object, reused.
#pragma once

#include <memory>
#include <string>

#include "probes/probe.hpp"

namespace switchyard::actors {

class grpc_probe : public probe {
public:
  /// `interval` bounds the channel's reconnect backoff, so an instance that
  /// comes back is seen by the next probe or the one after.
  grpc_probe(std::string host, std::uint16_t port, std::string service,
             std::chrono::milliseconds timeout, std::chrono::milliseconds interval);
  ~grpc_probe() override;
  grpc_probe(const grpc_probe&) = delete;
  grpc_probe& operator=(const grpc_probe&) = delete;

  probe_outcome check() override;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace switchyard::actors

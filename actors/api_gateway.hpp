// The API gateway: the gRPC server (switchyard.v1.Switchyard plus the standard
// grpc.health.v1 service and server reflection). Every call is authenticated
// by bearer token and authorized by role, then translated into requests to
// the coordinator and the store; it never touches state directly.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "config/model.hpp"
#include "config/tokens.hpp"

namespace grpc {
class Server;
}

namespace switchyard::actors {

class api_gateway {
public:
  api_gateway(caf::actor_system& sys, std::shared_ptr<const config::switchyard_config> cfg,
              std::vector<config::api_token> tokens);
  ~api_gateway();
  api_gateway(const api_gateway&) = delete;
  api_gateway& operator=(const api_gateway&) = delete;

  /// Starts listening on cfg.api.listen; returns the bound port.
  [[nodiscard]] caf::expected<int> start();
  /// Stops accepting calls and waits (bounded) for the running ones.
  void stop();

private:
  class service;
  std::unique_ptr<service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string listen_;
};

} // namespace switchyard::actors

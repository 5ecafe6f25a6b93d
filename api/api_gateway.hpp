// The API gateway: the gRPC server (switchyard.v1.Switchyard plus the standard
// grpc.health.v1 service and server reflection). Every call is authenticated
// by bearer token and authorized by role, then translated into requests to
// the coordinator and the store; it never touches state directly.
#pragma once

#include <chrono>
#include <functional>
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

class event_fanout;
class config_holder;
class peer_table;
struct reload_outcome;
using reload_fn = std::function<reload_outcome(const std::string& who)>;

class api_gateway {
public:
  /// `peers`: the subsystems it asks; `config` is the configuration in force
  /// (a reload swaps it); `events` feeds WatchEvents; `reload` serves Reload.
  api_gateway(caf::actor_system& sys, std::shared_ptr<peer_table> peers,
              std::shared_ptr<config_holder> config, std::vector<config::api_token> tokens,
              std::shared_ptr<event_fanout> events, reload_fn reload);
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
  config::api_settings api_; ///< for start(): the listener's TLS settings
};

} // namespace switchyard::actors

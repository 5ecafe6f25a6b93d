// switchyardd as a replica of a cluster (a `cluster:` section): starts the
// control authority (cluster/cluster_authority.hpp) and connects it to the
// rest: leadership changes become log lines, events, audit rows and a word to
// the coordinator; the replicated topology goes to the coordinator (again to
// each new incarnation of it); /metrics shows leadership, epoch and lease.
#pragma once

#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "actors/peers.hpp"
#include "config/model.hpp"

namespace switchyard::app {

class cluster_member {
public:
  /// Starts campaigning. The error names the configuration file, line and
  /// field (e.g. no etcd endpoint answered).
  [[nodiscard]] static caf::expected<std::unique_ptr<cluster_member>>
  start(const config::switchyard_config& cfg, actors::peers_ptr peers);
  ~cluster_member();
  cluster_member(const cluster_member&) = delete;
  cluster_member& operator=(const cluster_member&) = delete;

  /// Called every ~100 ms by the daemon's main loop: refreshes the gauges and
  /// hands the replicated topology to a coordinator that was (re)started.
  void tick();
  /// A clean shutdown hands the leadership over at once.
  void resign();

  struct shared; ///< what the authority's callbacks and tick() share

private:
  cluster_member() = default;
  std::shared_ptr<shared> shared_;
  std::shared_ptr<actors::control_authority> authority_;
};

} // namespace switchyard::app

// What an actor works with, handed to it at spawn: the subsystems it talks to,
// the metrics registry it reports to, the failover jobs running now and the
// switchover-id counter (one of each per switchyardd, outliving every actor). The supervisor
// records each subsystem's handle here when it (re)spawns it, so a restarted peer is reachable at
// once without a lookup by name. A test wires its own table, with fakes where it wants them, and
// gets a registry of its own: nothing is global, nothing needs cleaning up between tests.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>

#include "actors/control_authority.hpp"
#include "actors/running_jobs.hpp"
#include "messages/interfaces.hpp"
#include "observability/metrics.hpp"
#include "persistence/switchover_ids.hpp"

namespace switchyard::actors {

/// The subsystems others send to (health checkers and scrapers are not: they
/// only send).
enum class peer : std::uint8_t {
  store,
  classifier,
  coordinator,
  runner,
  events,
  performance,
  site,
  backups
};
inline constexpr std::size_t peer_count = 8;

/// For messages: "store", "classifier", ...
constexpr std::string_view to_string(peer who) {
  constexpr std::string_view names[peer_count] = {
      "store",     "classifier",          "coordinator",      "runner",
      "event hub", "performance monitor", "site coordinator", "backup manager"};
  return names[static_cast<std::size_t>(who)];
}

class peer_table {
public:
  /// With a registry of its own (tests, benchmarks).
  peer_table() : owned_(std::make_unique<metrics::registry>()), metrics_(owned_.get()) {}
  /// Reporting to `metrics` (switchyardd: the registry /metrics serves).
  explicit peer_table(metrics::registry& metrics) : metrics_(&metrics) {}
  peer_table(const peer_table&) = delete;
  peer_table& operator=(const peer_table&) = delete;

  metrics::registry& metrics() const { return *metrics_; }
  /// The services whose failover job runs in this process now (runner and coordinator).
  running_jobs& jobs() const { return jobs_; }
  /// Backup jobs running now (their threads): switchyardd does not wait for
  /// them when it stops (apps/switchyardd/daemon.cpp).
  std::atomic<int>& backup_jobs() const { return backup_jobs_; }
  /// Switchover ids: the store opens the database with it, the runner reserves from it.
  const std::shared_ptr<persistence::switchover_ids>& switchover_ids() const { return ids_; }
  /// Who may act (control_authority.hpp): a single switchyardd's unless the
  /// daemon set a cluster replica's before spawning anything.
  control_authority& authority() const { return *authority_; }
  void set_authority(authority_ptr authority) { authority_ = std::move(authority); }

  /// Records `who`'s current handle; an invalid handle removes it.
  template <class Handle> void set(peer who, const Handle& handle) {
    auto ptr = caf::actor_cast<caf::strong_actor_ptr>(handle);
    std::lock_guard lock{mu_};
    handles_[index(who)] = std::move(ptr);
  }

  // The current handle, or an invalid one while that subsystem is not running.
  store_actor store() const { return get<store_actor>(peer::store); }
  classifier_full_actor classifier() const { return get<classifier_full_actor>(peer::classifier); }
  coordinator_actor coordinator() const { return get<coordinator_actor>(peer::coordinator); }
  runner_actor runner() const { return get<runner_actor>(peer::runner); }
  events_actor events() const { return get<events_actor>(peer::events); }
  performance_monitor_actor performance() const {
    return get<performance_monitor_actor>(peer::performance);
  }
  site_coordinator_actor site() const { return get<site_coordinator_actor>(peer::site); }
  backup_manager_actor backups() const { return get<backup_manager_actor>(peer::backups); }
  /// Untyped, for a caller that names the peer at run time (the API).
  caf::actor actor(peer who) const { return get<caf::actor>(who); }

private:
  static std::size_t index(peer who) { return static_cast<std::size_t>(who); }
  template <class Handle> Handle get(peer who) const {
    std::lock_guard lock{mu_};
    return caf::actor_cast<Handle>(handles_[index(who)]);
  }

  std::unique_ptr<metrics::registry> owned_;
  metrics::registry* metrics_;
  mutable running_jobs jobs_;
  mutable std::atomic<int> backup_jobs_{0};
  std::shared_ptr<persistence::switchover_ids> ids_ =
      std::make_shared<persistence::switchover_ids>();
  authority_ptr authority_ = std::make_shared<single_node_authority>();
  mutable std::mutex mu_;
  std::array<caf::strong_actor_ptr, peer_count> handles_;
};

/// Shared by the supervisor (which fills it) and every actor it spawns.
using peers_ptr = std::shared_ptr<peer_table>;

} // namespace switchyard::actors

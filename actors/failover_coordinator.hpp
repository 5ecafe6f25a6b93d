// The failover coordinator: one decision point per service. It owns each
// service's topology (who is primary, the epoch), applies the safety rules
// (failover_policy) and hands accepted failovers to the runner.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <caf/typed_response_promise.hpp>

#include "actors/peers.hpp"
#include "config/model.hpp"
#include "messages/interfaces.hpp"
#include "rules/failover_policy.hpp"
#include "strategies/strategy.hpp"

namespace switchyard::actors {

struct failover_coordinator_state {
  failover_coordinator_state() = default;
  static inline const char* const name = "failover_coordinator";

  std::shared_ptr<const config::switchyard_config> cfg;
  peers_ptr peers;                         ///< the store, runner, classifier and event hub
  metrics::gauge* tilt_gauge = nullptr;    ///< switchyard_tilt
  metrics::gauge* mailbox_depth = nullptr; ///< sampled on its periodic timer
  std::map<std::string, service_view> services;
  /// Services with a failover running or its pre-checks (in_flight or
  /// checking), kept by note_busy() so the concurrency rule does not walk
  /// every service on each decision (10,000 of them, twice per failover).
  std::set<std::string> busy;
  /// Call after changing a service's in_flight or checking.
  void note_busy(const std::string& service);
  /// Each service's strategy, built once per configuration (apply_config).
  std::shared_ptr<const strategies::strategy_set> strategies;
  /// The strategy of a configured service.
  strategies::failover_strategy& strategy(const std::string& service) const {
    return *strategies->find(service);
  }
  /// Primary failures that found no target yet; retried when a standby turns healthy.
  std::map<std::string, failure_detection> pending;
  /// What holds each pending failure back, when a safety rule does: it is
  /// also decided again when that ends (TILT, another service's switchover).
  std::map<std::string, hold> held_by;
  std::map<std::string, std::string> last_decision;
  bool topology_loaded = false;
  /// Detections seen before the topology was loaded, or during a reload.
  std::vector<failure_detection> early;
  /// Switchover requests that came before the topology was loaded (the API
  /// listens a few ms before): decided once it is, not refused.
  std::vector<std::pair<switchover_request, caf::typed_response_promise<switchover_reply>>>
      early_requests;
  bool reloading = false; ///< a reload is being persisted: no new decisions until applied
  /// Services whose switchover a previous incarnation of this coordinator
  /// started and the runner is still executing: busy until it ends.
  std::set<std::string> adopted;
  /// Cluster mode: windows this leader recorded in etcd and applied, not yet
  /// seen in a replicated list: an older list does not end them.
  std::set<std::pair<std::string, std::string>> unconfirmed_windows;
  /// Services reserved by a site switchover (its id): no automatic failover,
  /// no other switchover of them until it releases them.
  std::map<std::string, std::int64_t> reserved;
  /// Cluster mode: switchovers a former leader left in flight, by service
  /// (their replicated intents); carried on once this replica may act.
  std::map<std::string, interrupted_switchover> left_in_flight;
  /// "service/instance" being made a replica of its primary (rejoin) now.
  std::set<std::string> rejoining;
  /// Restart in place (strategy.restart_in_place): per service, the failure
  /// of the primary being started again, and until when it may take.
  struct restart_attempt {
    failure_detection failure;
    coord_clock::time_point started{};
    coord_clock::time_point until{};
  };
  std::map<std::string, restart_attempt> restarting;
  /// When each service's primary was last restarted in place: once per block_period.
  std::map<std::string, coord_clock::time_point> last_restart;
  /// Per service: what the last full readiness check found (pre-checks and
  /// readiness actions on the runner) and what was last reported.
  struct readiness_state {
    std::vector<std::string> found;
    std::int64_t checked_ms = 0; ///< unix epoch ms; 0: not yet
    bool running = false;
    /// The last check had candidates to check (at start no standby is known
    /// healthy yet): until then, a standby turning healthy runs one at once.
    bool full = false;
    std::optional<std::string> reported; ///< "" when reported ready
  };
  std::map<std::string, readiness_state> readiness;
  /// Per service, per instance: a failure the classifier could not journal
  /// yet (why). Nothing acts on it until it is written: a readiness problem.
  std::map<std::string, std::map<std::string, std::string>> unjournaled;
  /// Why a failover of `service` could not succeed now (empty: it could):
  /// maintenance, too few healthy standbys, no candidate, and the last full check.
  std::vector<std::string> readiness_problems(const std::string& service) const;
  /// orchestrator.safety as switchyardd started: like the rest of
  /// `orchestrator`, a reload does not change it.
  config::safety_settings safety;
  hourly_starts started; ///< switchovers of every service started in the last hour
  tilt_state tilt;
  coord_clock::time_point tick_due{}; ///< when the periodic timer should fire next

  void init(std::shared_ptr<const config::switchyard_config> config);
  /// Why `next` cannot be applied now (a changed or removed service is
  /// switching over, or would lose its current primary), if it cannot.
  std::optional<std::string> reload_refusal(const config::switchyard_config& next) const;
  /// Switches to `next`: added services start fresh, removed ones are
  /// forgotten, the others keep primary, epoch, health, maintenance and history.
  void apply_config(std::shared_ptr<const config::switchyard_config> next);
  /// The persisted primaries and epochs, and each service's latest failover
  /// (`wall_now_ms`: the wall clock now, to place it on this clock).
  void apply_topology(const topology_list& topo, coord_clock::time_point now,
                      std::int64_t wall_now_ms);
  service_state_list snapshot(coord_clock::time_point now) const;
  fleet_summary summary() const;
  /// Keeps `d` to decide on again when `why` ends, or (hold::none) when a
  /// standby turns healthy.
  void keep_pending(const failure_detection& d, hold why);
  /// Shadow mode for `service`: globally or for the service alone.
  bool shadow(const std::string& service) const;
  /// What the safety rules see beyond `service` at `now`.
  safety_view safety_for(const std::string& service, coord_clock::time_point now);
};

coordinator_actor::behavior_type
failover_coordinator(coordinator_actor::stateful_pointer<failover_coordinator_state> self,
                     std::shared_ptr<const config::switchyard_config> cfg, peers_ptr peers);

} // namespace switchyard::actors

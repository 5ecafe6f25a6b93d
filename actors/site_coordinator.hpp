// The site coordinator: operator-triggered whole-site work. A site switchover
// moves every service whose primary is on one site to another site as a
// two-phase commit over the services:
//
//   assess   -> which services, which targets, in which order, what blocks it
//   prepare  -> every participant: reserved in the failover coordinator,
//               pre-checks (a dry run of its switchover), the strategy's
//               prepare actions, the replication position gap
//   decide   -> the commit decision is journaled (site_switchovers.state =
//               committed) before anything is switched; a failed prepare
//               aborts all instead (prepare actions rolled back, released)
//   commit   -> level by level (dependencies first), `parallelism` at once,
//               each service's own journaled switchover to its target
//   verify   -> available on the new site, integrity actions, performance
//
// After a crash of switchyardd the log decides: a committed site switchover
// is carried through, an undecided one is aborted (resume_atom at start). In
// a cluster the leader records each journal point in etcd as well, and the
// next leader takes over what a former one left (cluster_atom).
// DR drills are a site switchover to the standby site and, by default, a
// failback, measured and reported. One site operation runs at a time; each
// runs on its own detached worker (it waits on the runner, coordinator and
// store in turn, like an operator following a runbook).
#pragma once

#include <memory>

#include "actors/config_holder.hpp"
#include "actors/peers.hpp"
#include "messages/interfaces.hpp"

namespace switchyard::actors {

struct site_coordinator_state {
  site_coordinator_state() = default;
  static inline const char* const name = "site_coordinator";
  std::shared_ptr<config_holder> config;
  peers_ptr peers;        ///< the store; handed to each operation's worker
  caf::actor_addr worker; ///< the operation running now, if any
  std::string running;    ///< what it is, for the refusal of a second one
  /// Unfinished site switchovers a previous switchyardd left have been looked
  /// for (and the recovery started when there were any). Until then nothing
  /// new starts: a new operation's own `preparing` row must not be taken for
  /// an undecided one of the past.
  bool checked = false;
  /// Cluster mode: the site switchover etcd holds as in flight (leader_id
  /// empty: none). A leader that may act and runs nothing takes it over; if
  /// it was this replica's own and has ended, the claim is refused harmlessly.
  site_takeover replicated;
};

site_coordinator_actor::behavior_type
site_coordinator(site_coordinator_actor::stateful_pointer<site_coordinator_state> self,
                 std::shared_ptr<config_holder> config, peers_ptr peers);

} // namespace switchyard::actors

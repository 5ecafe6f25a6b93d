// The failover runner: executes failover jobs. Each job gets its own worker
// actor on its own thread (actions block: they run commands with timeouts),
// which journals every step through the store actor before running it.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/peers.hpp"
#include "config/model.hpp"
#include "messages/interfaces.hpp"

namespace switchyard::strategies {
class strategy_set;
}

namespace switchyard::actors {

/// Dispatches each job to a fresh detached worker and delegates the reply to it.
/// Its workers journal through the store of `peers` and publish there.
runner_actor::behavior_type failover_runner(runner_actor::pointer self,
                                            std::shared_ptr<const config::switchyard_config> cfg,
                                            peers_ptr peers);

/// Runs the strategy's pre-checks for each candidate, best first, until one
/// passes. Blocking; used by the runner's check workers.
candidate_verdict run_candidate_checks(const strategies::strategy_set& set,
                                       const candidate_check& check);

/// Makes a returning instance a replica of the primary (the strategy's rejoin
/// actions), journaled as detections: `returned` before anything is done,
/// then `diverged` and/or `rejoin_failed` (with an alert) as found. Blocking.
rejoin_outcome run_rejoin(caf::actor_system& sys, const peer_table& peers,
                          const strategies::strategy_set& set, const rejoin_request& req);

/// A site switchover's prepare phase for one service, its undo, or only the
/// replication position gap (site_prepare::work). Blocking.
site_prepare_outcome run_site_prepare(const strategies::strategy_set& set, const site_prepare& req);
/// The strategy's integrity actions against a service's new primary. Blocking.
integrity_outcome run_integrity_checks(const strategies::strategy_set& set,
                                       const integrity_check& req);
/// Runs one job to its end (blocking): opens the switchover in the journal,
/// executes the strategy step by step, closes the switchover.
/// `asker` is the worker's own scoped actor: the journal asks the store through it.
failover_result run_failover_job(caf::scoped_actor& asker, const peer_table& peers,
                                 const strategies::strategy_set& set, const failover_job& job);

} // namespace switchyard::actors

// The store actor: the only owner of the SQLite connection. It opens the
// database, records the configured services, and serves every durable read
// and write. Spawned detached in the daemon (SQLite fsyncs block).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/error.hpp>

#include "actors/peers.hpp"
#include "config/model.hpp"
#include "messages/interfaces.hpp"
#include "persistence/sqlite_store.hpp"

namespace switchyard::actors {

/// Group commits: the journal writes (health transitions, detections,
/// switchover and step rows) are gathered while the store is busy and
/// committed in one transaction; each is answered only after that commit.
struct store_options {
  /// The most writes in one commit; 1: every write commits on its own.
  std::size_t max_batch = 512;
  /// Tests: runs right after a batch's BEGIN (e.g. to make its COMMIT fail).
  std::function<void(persistence::sqlite_store&)> after_begin;
};

/// A journal write waiting for its batch's commit.
struct pending_write {
  /// Runs the write inside the batch's transaction; false if it failed on
  /// its own (it then wrote nothing and settle() reports its error).
  std::function<bool()> run;
  /// After the commit: the commit's error (none: committed) goes to the requester.
  std::function<void(const caf::error&)> settle;
};

/// The store's series, in the registry of its peers.
struct store_metrics {
  explicit store_metrics(metrics::registry& r);
  metrics::registry& registry;
  metrics::histogram& write_seconds; ///< one transaction (a group commit)
  metrics::counter& rows;            ///< journal rows committed
  metrics::gauge& mailbox;           ///< sampled at each group commit
};

struct store_state {
  store_state() = default;
  static inline const char* const name = "store";
  std::unique_ptr<persistence::sqlite_store> db;
  store_options options;
  peers_ptr peers; ///< the event hub, for its alerts
  std::optional<store_metrics> metrics;
  std::vector<pending_write> batch;
  bool flush_scheduled = false;
  std::uint64_t commits = 0; ///< batches committed (or failed), for benchmarks
  /// Journal writes failed since the last one that succeeded (0: all well).
  std::uint64_t failed_writes = 0;
  /// Started steps: phase and start, for switchyard_step_duration_seconds.
  std::unordered_map<std::int64_t, std::pair<step_phase, std::chrono::steady_clock::time_point>>
      steps_running;
};

store_actor::behavior_type store(store_actor::stateful_pointer<store_state> self,
                                 std::shared_ptr<const config::switchyard_config> cfg,
                                 peers_ptr peers);
/// The store with explicit options (benchmarks, tests).
store_actor::behavior_type store_with(store_actor::stateful_pointer<store_state> self,
                                      std::shared_ptr<const config::switchyard_config> cfg,
                                      peers_ptr peers, store_options options);

} // namespace switchyard::actors

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
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/error.hpp>

#include "actors/peers.hpp"
#include "backups/sqlite_state.hpp"
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
  /// Where the database is (state snapshots open it again, read-only).
  std::string database_path;
  /// Per tier of switchyardd's own state backups: the changes recorded since
  /// backup `base` (actors/store_backups.cpp). Nothing is recorded (no cost
  /// on the journal's writes) until a tier's first full state backup.
  struct state_recording {
    std::unique_ptr<backups::change_recorder> recorder;
    std::int64_t base = 0;
  };
  std::unordered_map<std::string, state_recording> recordings;
  /// The backup id `tier`'s recording continues from (0: none).
  std::int64_t recorder_base(const std::string& tier) const;
  /// A full snapshot (recording for the tier restarts at r.backup_id) or the
  /// changes since r.parent (refused if the tier's recording is not there).
  caf::expected<state_capture> capture_state(const state_capture_request& r);

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

// Switchover ids handed out in memory, before their row is written. A new
// failover's worker takes its id when it starts, so that its switchover row
// and its first step can be written in one transaction: one commit fewer
// between a decision and the first journaled step (docs/benchmarks.md).
//
// The counter is per database file and process-wide: a store restarted while
// a failover holds an id it has not written yet must not hand that id out
// again. It starts above the highest id in the file when a store opens it, and
// every switchover row, reserved or not, takes its id from it. One switchyardd
// writes a database at a time (as always); ids are unique and increasing, not
// gap-free (a reserved id whose failover never opened is skipped).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace switchyard::persistence {

class switchover_ids {
public:
  /// The counter of the database at `path`, shared by every store that opens
  /// it in this process (a private one for ":memory:"). `fresh`: the file has
  /// just been created, so nobody can hold an id of it (a test may delete a
  /// file and create it again under the same name).
  static std::shared_ptr<switchover_ids> for_database(const std::string& path, bool fresh);

  /// The counter of the database at `path` if a store has opened it in this
  /// process, else null.
  static std::shared_ptr<switchover_ids> opened(const std::string& path);

  /// Raises the counter to at least `highest` (the highest id in the table).
  void seen(std::int64_t highest);
  /// The next id: unique among those handed out and those in the table.
  std::int64_t next();

private:
  std::mutex mtx_;
  std::int64_t last_ = 0;
};

/// An id for a new switchover of the database at `path`, or 0 when no store
/// has opened it in this process (the store then picks one when it opens it).
std::int64_t reserve_switchover_id(const std::string& path);

} // namespace switchyard::persistence

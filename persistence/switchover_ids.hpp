// Switchover ids handed out in memory, before their row is written. A new
// failover's worker takes its id when it starts, so that its switchover row
// and its first step can be written in one transaction: one commit fewer
// between a decision and the first journaled step (docs/benchmarks.md).
//
// One counter per switchyardd, handed to the store (which opens the database
// with it) and the runner (which reserves from it) in the peer table: a store
// restarted while a failover holds an id it has not written yet must not hand
// that id out again. The store raises it above the highest id in the file
// when it opens the file, and every switchover row, reserved or not, takes
// its id from it. One switchyardd writes a database at a time (as always);
// ids are unique and increasing, not gap-free (a reserved id whose failover
// never opened is skipped).
#pragma once

#include <cstdint>
#include <mutex>

namespace switchyard::persistence {

class switchover_ids {
public:
  /// Raises the counter to at least `highest` (the highest id in the table).
  void seen(std::int64_t highest);
  /// The database was just created: nobody can hold an id of it; from 1 again.
  void restart();
  /// The next id: unique among those handed out and those in the table.
  std::int64_t next();
  /// An id for a new switchover, or 0 while no store has opened the database
  /// (the store then takes one when it writes the row).
  std::int64_t reserve();

private:
  std::mutex mtx_;
  std::int64_t last_ = 0;
  bool opened_ = false; ///< seen() or restart() was called
};

} // namespace switchyard::persistence

// The store actor: the only owner of the SQLite connection. It opens the
// database, records the configured services, and serves every durable read
// and write. Spawned detached in the daemon (SQLite fsyncs block).
#pragma once

#include <memory>

#include "config/model.hpp"
#include "messages/interfaces.hpp"
#include "persistence/sqlite_store.hpp"

namespace switchyard::actors {

struct store_state {
  store_state() = default;
  static inline const char* const name = "store";
  std::unique_ptr<persistence::sqlite_store> db;
};

store_actor::behavior_type store(store_actor::stateful_pointer<store_state> self,
                                 std::shared_ptr<const config::switchyard_config> cfg);

} // namespace switchyard::actors

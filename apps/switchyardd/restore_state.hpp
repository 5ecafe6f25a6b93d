// switchyardd --restore-state: rebuilds switchyardd's own database offline
// from the state backups in a folder (a directory destination, or a copy of
// one), base plus chain, checked before it is put in place.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "config/model.hpp"

namespace switchyard::app {

struct restore_state_options {
  std::string from;       ///< a folder holding artifacts and their .json records
  std::int64_t at_ms = 0; ///< the newest point at or before this (0: the newest)
  bool force = false;     ///< over an existing database (kept, renamed)
};

/// Rebuilds cfg.database_path() from `o.from`; prints what it did to `out`
/// and why it could not to `err`. Returns the process's exit code.
int restore_state(const config::switchyard_config& cfg, const restore_state_options& o,
                  std::ostream& out, std::ostream& err);

} // namespace switchyard::app

// Reloads the configuration file without restarting switchyardd (SIGHUP, the
// Reload API call). The new file is validated first: a bad one changes
// nothing. Services added, removed or changed are applied through the
// coordinator (which refuses while an affected service is switching over),
// the store, the runner and the supervisor (health checkers of those services
// only); every other service keeps its state and its health checkers.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/config_holder.hpp"
#include "actors/peers.hpp"
#include "config/diff.hpp"

namespace switchyard::actors {

struct reload_outcome {
  enum class verdict {
    applied,   ///< services changed and the new file is in force
    unchanged, ///< valid, but no service changed (restart-only sections may differ)
    invalid,   ///< the file has errors; `errors` lists them; nothing changed
    refused,   ///< valid, but cannot be applied now (e.g. a switchover in flight)
    failed,    ///< could not be recorded or applied; nothing changed
  };
  verdict what = verdict::unchanged;
  std::string detail;
  std::vector<std::string> errors; ///< file:line:column: field: message
  config::config_changes changes;
};

class config_reloader {
public:
  /// `peers`: the coordinator (it applies a reload) and the event hub; the
  /// health checkers it has the supervisor start get them too.
  config_reloader(caf::actor_system& sys, caf::actor supervisor,
                  std::shared_ptr<config_holder> current, peers_ptr peers);

  /// Re-reads the file the running configuration came from. `who` is for the log.
  reload_outcome reload(const std::string& who);

private:
  caf::actor_system& sys_;
  caf::actor supervisor_;
  std::shared_ptr<config_holder> current_;
  peers_ptr peers_;
  std::mutex mutex_; ///< one reload at a time (SIGHUP and the API may race)
};

} // namespace switchyard::actors

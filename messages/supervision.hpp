// What the supervisor is told: how to start a child, and which children to
// stop or start while running (a configuration reload adds and removes
// health checkers). Local only (it carries functions): an unsafe message type.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

namespace switchyard {

struct child_spec {
  std::string name; ///< unique among the children; for logs
  std::function<caf::actor(caf::actor_system&)> start;
  /// Told each incarnation's handle when it starts, and an invalid handle
  /// when the child stops for good, if others send to it (the daemon records
  /// it in the peer table it gave every actor).
  std::function<void(const caf::actor&)> publish = {};
};

/// Stops the children named in `stop` (not a crash: no restart), then starts `start`.
struct supervisor_update {
  std::vector<std::string> stop;
  std::vector<child_spec> start;
};

} // namespace switchyard

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchyard::supervisor_update)

// The supervisor: spawns every subsystem, monitors it, restarts a crashed
// child after a backoff, and escalates (shuts everything down and exits with
// an error) when a child crashes too often inside the restart window.
//
//        spawn ──► running ──crash──► backing off ──timer──► running
//                     │                    │
//                     │            too many crashes in window
//                     ▼                    ▼
//               shutdown (exit)       escalated (exit with error)
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/stateful_actor.hpp>

#include "config/model.hpp"
#include "messages/supervision.hpp"
#include "observability/metrics.hpp"
#include "rules/restart_policy.hpp"

namespace switchyard::actors {

using switchyard::child_spec;

struct supervised_child {
  std::uint64_t id = 0; ///< stable across removals of other children (restart timers use it)
  child_spec spec;
  caf::actor handle;
  restart_policy policy;
  std::size_t restarts = 0;
};

struct supervisor_state {
  supervisor_state() = default;
  static inline const char* const name = "supervisor";
  std::vector<supervised_child> children;
  metrics::registry* metrics = nullptr; ///< switchyard_supervisor_restarts_total goes here
  std::uint64_t next_id = 1;
  bool stopping = false;
};

caf::behavior supervisor(caf::stateful_actor<supervisor_state>* self,
                         std::vector<child_spec> children, config::supervisor_settings settings,
                         metrics::registry* metrics);

} // namespace switchyard::actors

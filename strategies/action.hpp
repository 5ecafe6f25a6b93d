// An action is one side effect of a failover step (run a command, call a
// webhook, ...). Actions are blocking and bounded by their timeout; they run
// on the failover runner's own thread, never on the cooperative scheduler.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "config/model.hpp"

namespace switchyard::strategies {

/// Everything an action may need to know about the failover it is part of.
/// Exec actions receive these as SWITCHYARD_* environment variables.
struct action_context {
  std::string service;
  std::string old_primary;
  std::string old_primary_address; ///< host:port
  std::string new_primary;
  std::string new_primary_address;
  std::string target;         ///< the instance this step acts on
  std::string target_address; ///< its host:port
  std::string phase;          ///< check, demote, fence, promote, reroute, verify
  std::string step_name;
  std::int64_t switchover = 0;
  std::uint64_t epoch = 0;
  std::int64_t leader_epoch = 0; ///< cluster mode: the leader's fencing epoch; 0 otherwise
  std::int64_t rpo_ms = 0;       ///< the service's recovery point objective
};

struct action_result {
  bool ok = false;
  bool timed_out = false;
  int exit_code = -1;
  std::chrono::milliseconds elapsed{0};
  std::string output; ///< tail of stdout+stderr
  std::string detail; ///< one line for the journal: "exit 0 in 12 ms" / "timed out after 5000 ms"
  /// A number the action read, e.g. a replication position (redis offset).
  std::optional<std::int64_t> value{};
  /// Non-empty when the target held writes the new primary never received:
  /// what was found (redis follow of a returning old primary).
  std::string divergence{};
};

class action {
public:
  virtual ~action() = default;
  [[nodiscard]] virtual action_result run(const action_context& ctx) = 0;
  [[nodiscard]] virtual std::string kind() const = 0;
  [[nodiscard]] virtual std::string describe() const = 0;
};

/// The result of an action that ran from `started` with until `deadline`:
/// elapsed time, whether it ran out of time, and the journal's one line.
action_result finished_action(std::chrono::steady_clock::time_point started,
                              std::chrono::steady_clock::time_point deadline, bool ok,
                              std::string detail);

/// Builds the action configured by `settings` (exec, ...). `service` is the
/// service it belongs to: postgres actions need its connection settings and
/// its instances' data directories (without it they fail when run).
std::unique_ptr<action> make_action(const config::action_settings& settings,
                                    const config::service_settings* service = nullptr);

} // namespace switchyard::strategies

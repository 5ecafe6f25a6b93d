// The strategy part of the configuration model: a service's strategy, its
// phases and the actions in them (exec, haproxy, redis, webhook, postgres),
// restart in place, and a PostgreSQL service's connection settings. Included
// by config/model.hpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/model_common.hpp"

namespace switchyard::config {

enum class strategy_type { active_passive };
enum class action_type { exec, haproxy, redis, webhook, postgres };
enum class haproxy_state { ready, drain, maint };
enum class redis_operation { promote, follow, pause_writes, offset, caught_up };
/// haproxy: the health (and agent) state forced on the server, for backends
/// that run their own checks, so they need not wait for them to agree.
enum class haproxy_health { leave, up, down };
/// What a postgres action does to its target (docs/postgresql.md).
enum class postgres_operation {
  promote,   ///< pg_promote, polled until recovery ended; the new timeline is reported
  follow,    ///< point a standby at the new primary (primary_conninfo + reload)
  lsn,       ///< the target's WAL position (position action)
  caught_up, ///< the target is within max_lag_bytes of the current primary
  fence,     ///< read-only by default and every client session ended, if reachable
  stop,      ///< pg_ctl stop -m immediate and a killed postmaster's leftover backends (local
             ///< data_directory)
  rejoin,    ///< a returning old primary made a standby of the primary (pg_rewind if diverged)
  start,     ///< pg_ctl start (local data_directory): restart in place
};
/// When an unreachable old primary counts as dead, so that a failed fence
/// step does not stop the failover (see docs/safety.md).
enum class dead_rule {
  never,  ///< never: every fence step must succeed before anything is promoted
  refused ///< its last probe's connection was refused: the host answers, nothing listens
};

const char* to_string(strategy_type x);
const char* to_string(action_type x);
const char* to_string(haproxy_state x);
const char* to_string(redis_operation x);
const char* to_string(haproxy_health x);
const char* to_string(postgres_operation x);
const char* to_string(dead_rule x);

struct action_settings {
  std::string name;
  action_type type = action_type::exec;
  std::string command; ///< exec: run with /bin/sh -c
  milliseconds timeout{10'000};
  std::map<std::string, std::string> env; ///< extra environment for exec
  /// A shell command (for every action type) that undoes this action when a
  /// later step of a planned switchover fails (run in reverse order, same
  /// environment); empty: nothing to undo.
  std::string rollback{};
  /// haproxy: the runtime API (stats socket with level admin): a unix socket
  /// path, or host:port. `socket:` may list several HAProxy instances: the
  /// loader makes one action (one journaled step) per socket, named
  /// "<name>@<n>".
  std::string socket{};
  std::string backend{}; ///< haproxy: the backend holding the instances
  /// haproxy: the server's name in the backend; empty: the step's target instance name
  std::string server{};
  haproxy_state state = haproxy_state::ready; ///< haproxy: the state to set
  int weight = -1;                            ///< haproxy: the weight to set; -1: leave it
  /// haproxy: also `shutdown sessions server` (state drain or maint): clients
  /// holding connections to the server are cut off the moment it is fenced.
  bool shutdown_sessions = false;
  /// haproxy: force the server's health (and agent) state, for backends with
  /// their own health checks.
  haproxy_health health = haproxy_health::leave;
  postgres_operation pg_operation = postgres_operation::promote; ///< postgres: what to do
  /// promote, reroute and verify: run once against each other healthy standby
  /// (not the old primary, not the new one, not in maintenance), one step
  /// each, instead of against the new primary: e.g. point the remaining
  /// standbys at the new primary (`target: other_standbys`).
  bool on_other_standbys = false;
  redis_operation operation = redis_operation::promote; ///< redis: what to do to the target
  milliseconds pause{0}; ///< redis pause_writes: how long writes stay paused
  /// redis and postgres caught_up: how many bytes of replication stream the
  /// target may lag behind the current primary and still pass
  std::int64_t max_lag_bytes = 0;
  // webhook: url, headers and body may use {service}, {target}, {target_address},
  // {old_primary}, {old_primary_address}, {new_primary}, {new_primary_address},
  // {epoch}, {switchover_id}, {phase}, {step}
  std::string method{"POST"};                   ///< webhook: the HTTP method
  std::string url{};                            ///< webhook: http:// or https://
  std::map<std::string, std::string> headers{}; ///< webhook: extra request headers
  std::string body{};                           ///< webhook: the request body
  int expected_status = 0;                      ///< webhook: 0: any 2xx
  int retries = 0;                 ///< webhook: attempts after the first (5xx, network errors)
  milliseconds retry_backoff{200}; ///< webhook: wait before the first retry, doubled after
  bool operator==(const action_settings&) const = default;
};

/// Restart in place (docs/operator-guide.md): a primary whose process died on a
/// host that still answers (its probes' connections are refused) is started
/// again by `actions` before anything is failed over; if it is not healthy
/// again within `deadline`, the failover goes ahead.
struct restart_settings {
  std::vector<action_settings> actions;
  milliseconds deadline{10'000};
  bool operator==(const restart_settings&) const = default;
};

/// Actions of an active-passive failover, run phase by phase in this order.
struct strategy_settings {
  strategy_type type = strategy_type::active_passive;
  /// Pre-checks run against each promotion candidate before any step
  /// (SWITCHYARD_TARGET = the candidate, SWITCHYARD_RPO_MS = the service's
  /// RPO); a non-zero exit refuses that candidate (e.g. replication lag above
  /// the RPO). Must not change anything: they also run for dry runs.
  std::vector<action_settings> checks;
  /// step the old primary down with its help (drain, demote); planned
  /// switchovers only: skipped when the old primary is gone
  std::vector<action_settings> demote;
  std::vector<action_settings> fence;   ///< isolate the old primary
  std::vector<action_settings> promote; ///< make the standby primary
  std::vector<action_settings> reroute; ///< move traffic to it
  std::vector<action_settings> verify;  ///< check the result
  /// Reads a standby's replication position (redis offset, or an exec whose
  /// last output line is an integer); candidates are ranked by it, most
  /// advanced first, ties by priority. Empty: by priority only.
  std::vector<action_settings> position;
  /// Run against an instance that turns healthy again while another is
  /// primary (a returning old primary): make it a replica of the primary
  /// rather than let it serve. Redis follow also records divergence. A
  /// service whose data has one writer (a redis or postgres check or action)
  /// gets the safe default when `rejoin:` is left out: redis follow, or
  /// postgres rejoin (rejoin_defaulted); `rejoin: none` turns it off.
  std::vector<action_settings> rejoin;
  bool rejoin_defaulted = false; ///< `rejoin` is the loader's safe default
  bool rejoin_none = false;      ///< `rejoin: none`: a returning old primary is left as it is
  /// Cheap read-only checks that the actions' endpoints are reachable (e.g.
  /// the load balancer's runtime API), run with the readiness checks against
  /// the best promotion candidate.
  std::vector<action_settings> readiness;
  /// Run against the target at the prepare phase of a site switchover, after
  /// the pre-checks (e.g. pause writes on the old primary, wait until the
  /// target caught up). Their `rollback` commands undo them, in reverse,
  /// when the site switchover aborts.
  std::vector<action_settings> prepare;
  /// Data integrity checks run against the new primary when a site
  /// switchover verifies (e.g. compare replication positions, a checksum
  /// command); their output is reported.
  std::vector<action_settings> integrity;
  /// When a failed fence step may be passed over: only when the old primary
  /// is confirmed dead by this rule; otherwise the failover stops with an alert.
  dead_rule dead_when = dead_rule::never;
  /// Absent: a dead primary is failed over at once.
  std::optional<restart_settings> restart_in_place;
  bool operator==(const strategy_settings&) const = default;
};

/// A PostgreSQL service's connection settings (`postgres:`), used by its
/// postgres check and actions.
struct postgres_settings {
  /// libpq keyword/value settings besides host and port (which come from
  /// each instance), e.g. "user=switchyard dbname=postgres passfile=/etc/switchyard/pgpass".
  std::string options = "dbname=postgres";
  /// Where pg_ctl and pg_rewind are, for instances with a data_directory.
  std::string bin_dir = "/usr/lib/postgresql/15/bin";
  /// A returning old primary that diverged (wrote past the new timeline's
  /// fork) is rewound with pg_rewind; false: its rejoin is refused.
  bool rewind = false;
  bool operator==(const postgres_settings&) const = default;
};

} // namespace switchyard::config

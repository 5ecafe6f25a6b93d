// The validated, read-only configuration of switchyardd. Produced only by
// load_config(); every other module reads it and never changes it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace switchyard::config {

using milliseconds = std::chrono::milliseconds;

enum class log_level { trace, debug, info, warn, error };
enum class check_type { tcp, http, exec, redis, grpc, postgres };
enum class instance_role { primary, standby };
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

const char* to_string(log_level x);
const char* to_string(check_type x);
const char* to_string(instance_role x);
const char* to_string(strategy_type x);
const char* to_string(action_type x);
const char* to_string(haproxy_state x);
const char* to_string(redis_operation x);
const char* to_string(haproxy_health x);
const char* to_string(postgres_operation x);
const char* to_string(dead_rule x);

/// Where a value came from, for error messages that name file:line:column.
struct source_mark {
  std::string file;
  int line = 0;   ///< 1-based
  int column = 0; ///< 1-based
  /// Where a value was written is not part of what it means: moving a
  /// service down the file is not a change (see config/diff.hpp).
  friend bool operator==(const source_mark&, const source_mark&) { return true; }
};

struct supervisor_settings {
  int max_restarts = 5;                ///< restarts allowed inside `restart_window`
  milliseconds restart_window{60'000}; ///< past max_restarts in this window: escalate
  milliseconds initial_backoff{100};   ///< first restart delay, doubled each time
  milliseconds max_backoff{5'000};
  bool operator==(const supervisor_settings&) const = default;
};

/// TILT: automatic failovers stop for a while when the coordinator's own
/// timers fire late (the process was stopped, the host overloaded): what it
/// knows may be stale. See docs/operator-guide.md, "Safety rules".
struct tilt_settings {
  milliseconds max_timer_lag{2'000}; ///< a timer later than this enters TILT
  milliseconds duration{30'000};     ///< TILT lasts this long after the last late timer
  bool operator==(const tilt_settings&) const = default;
};

/// Limits on automatic failovers across all services, and shadow mode.
struct safety_settings {
  int max_concurrent_failovers = 1; ///< switchovers of all services in progress at once
  int max_failovers_per_hour = 10;  ///< switchovers of all services started in the last hour
  bool shadow = false;              ///< decide and record, never act (every service)
  tilt_settings tilt;
  bool operator==(const safety_settings&) const = default;
};

/// An instance with more than `transitions` health transitions within
/// `window` is flapping (see docs/detection.md).
struct flapping_settings {
  int transitions = 6;
  milliseconds window{120'000};
  bool operator==(const flapping_settings&) const = default;
};

/// When at least `share` of one site's instances (and at least
/// `min_instances`) turn unhealthy within `window`, the site is down: one
/// site_wide detection, no storm of per-service failovers.
struct site_disaster_settings {
  double share = 0.5;
  milliseconds window{10'000};
  int min_instances = 2;
  bool operator==(const site_disaster_settings&) const = default;
};

/// How the failure classifier tells failures apart (docs/detection.md).
struct detection_settings {
  /// Hold a primary-unreachable detection of a service that has dependencies
  /// this long, to see whether a dependency fails too (cascading). 0: no hold.
  milliseconds cascade_hold{0};
  flapping_settings flapping;
  /// Off unless configured: it delays every automatic failover by its window.
  std::optional<site_disaster_settings> site_disaster;
  bool operator==(const detection_settings&) const = default;
};

/// Whole-site switchovers and DR drills (docs/disaster-recovery.md).
struct site_switchover_settings {
  /// Services of one dependency level switched over at once.
  int parallelism = 4;
  /// One participant's prepare (pre-checks, reservation, prepare actions);
  /// past it the participant counts as failed and everything aborts.
  milliseconds prepare_timeout{60'000};
  /// How long verification waits for a service to be available on the new site.
  milliseconds verify_timeout{30'000};
  /// A service not drilled within this long is flagged in its status.
  milliseconds drill_interval{90LL * 24 * 3'600'000};
  bool operator==(const site_switchover_settings&) const = default;
};

/// True if the host of `listen` (host:port) is a loopback host: 127.0.0.0/8,
/// [::1] or localhost. Anything else (0.0.0.0, [::], a name) may be reachable
/// from the network.
inline bool address_is_loopback(const std::string& listen) {
  auto host = listen.substr(0, listen.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    return host == "[::1]";
  std::string lower;
  for (char c : host)
    lower += c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  if (lower == "localhost")
    return true;
  // 127.a.b.c in dotted decimal, not a name that starts with "127." (127.example.com).
  int dots = 0;
  for (char c : host)
    if (c == '.')
      ++dots;
    else if (c < '0' || c > '9')
      return false;
  return dots == 3 && host.rfind("127.", 0) == 0;
}

struct orchestrator_settings {
  std::string data_dir = "./data"; ///< relative paths resolve against the config file
  /// GET /metrics (Prometheus text), host:port; port 0 picks a free one; "" or "off": disabled.
  std::string metrics_listen = "127.0.0.1:7401";
  bool metrics_enabled() const { return !metrics_listen.empty() && metrics_listen != "off"; }
  bool metrics_listens_on_loopback() const { return address_is_loopback(metrics_listen); }
  std::string database = "switchyard.db"; ///< file name inside data_dir
  log_level level = log_level::info;
  supervisor_settings supervisor;
  detection_settings detection;
  safety_settings safety;
  site_switchover_settings site_switchover;
  bool operator==(const orchestrator_settings&) const = default;
};

struct health_check_settings {
  check_type type = check_type::tcp;
  std::string path = "/health"; ///< http only
  int expected_status = 200;    ///< http only
  std::string command;          ///< exec only: run with /bin/sh -c
  milliseconds interval{1'000};
  milliseconds timeout{500};
  milliseconds jitter{0}; ///< each interval is stretched by up to this much
  int rise = 2;           ///< consecutive successes to become healthy
  int fall = 3;           ///< consecutive failures to become unhealthy
  /// tcp and redis: keep the probe's connection open between probes and
  /// treat its loss as evidence: probe again at once, and a crash confirmed
  /// by that probe (connection refused) is unhealthy without waiting for
  /// `fall` intervals.
  bool fast_detection = true;
  /// grpc only: the service asked about in grpc.health.v1.Health/Check ("": the server).
  std::string grpc_service;
  /// postgres only: the service's libpq options (postgres.options, set by the loader).
  std::string postgres_options;
  /// phi-accrual: unhealthy as soon as phi of the time since the last
  /// successful probe exceeds this (beside rise/fall). Absent: off.
  std::optional<double> phi_threshold;
  bool operator==(const health_check_settings&) const = default;
};

/// An instance's Prometheus text endpoint, scraped on an interval.
struct metrics_settings {
  std::string path = "/metrics";
  std::uint16_t port = 0; ///< 0: the instance's port
  milliseconds interval{10'000};
  milliseconds timeout{2'000}; ///< one scrape, connect to last byte
  std::string requests_counter = "http_requests_total";
  std::string errors_counter = "http_requests_errors_total";
  /// A histogram or summary (<name>_sum / <name>_count) or a gauge, in
  /// seconds (milliseconds when the name ends in _ms or _milliseconds). Empty: none.
  std::string latency;
  bool operator==(const metrics_settings&) const = default;
};

/// Performance monitoring of a service's instances (docs/detection.md):
/// degraded when a threshold is crossed for `hold`. Recorded, never acted on.
struct performance_settings {
  milliseconds max_mean_latency{5'000};
  double max_error_rate = 0.05;      ///< a share: 0.05 is 5%
  double min_throughput_ratio = 0.5; ///< of the learned baseline; 0: off
  milliseconds hold{30'000};         ///< a crossing (and its end) counts after this long
  milliseconds window{60'000};       ///< the sliding window of every statistic
  std::optional<metrics_settings> metrics;
  bool operator==(const performance_settings&) const = default;
};

struct instance_settings {
  std::string name;
  std::string host;
  std::uint16_t port = 0;
  std::string site = "default";
  instance_role role = instance_role::standby;
  int priority = 100; ///< higher wins when choosing a standby to promote
  source_mark mark;
  /// PostgreSQL: the instance's data directory when it is on this host
  /// (absolute): stop and rejoin (pg_ctl, pg_rewind) run here, as its owner.
  std::string data_directory{};
  bool operator==(const instance_settings&) const = default;
};

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

/// The backups declared for a service's data (objectives.backup), checked
/// against the 3-2-1 rule: at least 3 copies, on 2 kinds of media, 1 offsite.
struct backup_settings {
  int copies = 0;
  int media = 0;
  int offsite = 0;
  bool meets_3_2_1() const { return copies >= 3 && media >= 2 && offsite >= 1; }
  bool operator==(const backup_settings&) const = default;
};

// -- backups (docs/backups.md) ------------------------------------------------

/// Where a tier's artifacts go: a directory (a local disk, a mounted share),
/// or commands that move a file to and from somewhere else (an object store
/// through its own CLI). Commands run with /bin/sh -c after their
/// placeholders are replaced: {file} (a local path), {name} (the artifact's
/// name, a relative path such as "web/42-full.zst").
struct backup_destination_settings {
  std::string path;     ///< a directory (absolute after loading); empty: the commands below
  std::string upload;   ///< stores the local {file} as {name}
  std::string download; ///< fetches {name} into the local {file}
  std::string remove;   ///< deletes {name}; empty: retention forgets, the artifact stays
  milliseconds timeout{600'000}; ///< for each command
  bool is_directory() const { return !path.empty(); }
  bool operator==(const backup_destination_settings&) const = default;
};

/// One tier of a policy: a destination and its schedule and retention.
struct backup_tier_settings {
  std::string name; ///< e.g. local, regional, cross-region, cloud
  backup_destination_settings destination;
  std::string site;              ///< the site the destination is in (3-2-1: offsite)
  std::string medium = "disk";   ///< disk, tape, object-store, ... (3-2-1: media)
  milliseconds every{3'600'000}; ///< a backup of this tier every
  /// A full backup after this many incrementals (0: every backup is full).
  int full_every = 0;
  int keep = 0;             ///< keep the newest N restore points (0: no count limit)
  milliseconds keep_for{0}; ///< and those newer than this (0: no age limit)
  source_mark mark;
  bool operator==(const backup_tier_settings&) const = default;
};

/// A named set of tiers that services (and switchyardd's own state) use.
struct backup_policy_settings {
  std::string name;
  std::vector<backup_tier_settings> tiers;
  int compression_level = 3;    ///< zstd level, 1..19
  milliseconds verify_every{0}; ///< scheduled verification of the newest point (0: on demand)
  source_mark mark;
  bool operator==(const backup_policy_settings&) const = default;
};

/// What a service's backups are taken from.
enum class backup_source_kind : std::uint8_t {
  redis, ///< an RDB from a healthy replica (the primary when there is none)
  exec,  ///< a command that writes {output}: a file, or a directory
};

/// A service's `backup:` section.
struct service_backup_settings {
  std::string policy; ///< a name in backups.policies
  backup_source_kind source = backup_source_kind::redis;
  std::string command;           ///< exec: run with /bin/sh -c, writes {output}
  bool directory = false;        ///< exec: {output} is a directory (incrementals by manifest)
  milliseconds timeout{600'000}; ///< for producing one backup
  source_mark mark;
  bool operator==(const service_backup_settings&) const = default;
};

/// The top-level `backups:` section.
struct backups_settings {
  std::vector<backup_policy_settings> policies;
  /// The policy for switchyardd's own SQLite state; empty: not backed up.
  std::string state_policy;
  /// Scratch space for staging artifacts and test restores (absolute after
  /// loading; default: <data_dir>/backup-work).
  std::string work_dir;
  const backup_policy_settings* find_policy(const std::string& name) const {
    for (const auto& p : policies)
      if (p.name == name)
        return &p;
    return nullptr;
  }
  bool operator==(const backups_settings&) const = default;
};

struct objectives {
  milliseconds rto{60'000}; ///< recovery time objective
  milliseconds rpo{0};      ///< recovery point objective
  /// Availability target in percent (e.g. 99.9): the error budget is the
  /// rest of the observed time.
  double sla_percent = 99.9;
  /// The declared backups; absent: not declared.
  std::optional<backup_settings> backup;
  bool operator==(const objectives&) const = default;
};

struct service_settings {
  std::string name;
  std::vector<instance_settings> instances;
  health_check_settings health_check;
  strategy_settings strategy;
  objectives objective;
  milliseconds block_period{300'000}; ///< no second automatic failover within this
  /// Services this one needs (names, validated: known, not itself, no cycle).
  /// Its primary failing while one of them is down is cascading, not failed over.
  std::vector<std::string> depends_on;
  /// Shadow mode for this service: decide and record, never act.
  bool shadow = false;
  /// Its backups; absent: none are taken.
  std::optional<service_backup_settings> backup;
  /// PostgreSQL connection settings; set (defaults or `postgres:`) when the
  /// service has a postgres check or action.
  std::optional<postgres_settings> postgres;
  /// Healthy standbys (not in maintenance), counting the one to be promoted,
  /// an automatic failover needs.
  int min_healthy_standbys = 1;
  /// How often the coordinator asks "could a failover succeed now?" with the
  /// strategy's pre-checks and readiness actions (the cheap parts are
  /// re-evaluated on every health change).
  milliseconds readiness_interval{30'000};
  /// Performance monitoring; absent: off for this service.
  std::optional<performance_settings> performance;
  source_mark mark;
  bool operator==(const service_settings&) const = default;
  /// The instance named `instance_name`, or nullptr.
  const instance_settings* find_instance(const std::string& instance_name) const;
};

/// How a returning old primary of `svc` is treated, in words for
/// --check-config and status: made a replica (configured or the safe
/// default), or left as it is (`rejoin: none`, or no actions).
std::string describe_rejoin(const service_settings& svc);

/// The gRPC API. Loopback by default: exposing it is a decision, not an accident.
struct api_settings {
  /// TLS for the API listener: off unless cert_file and key_file are set. The
  /// paths are relative to the config file when written, absolute once loaded.
  struct tls_settings {
    std::string cert_file; ///< PEM server certificate (leaf first, then intermediates)
    std::string key_file;  ///< PEM private key of cert_file (unencrypted)
    /// PEM CA certificate(s); when set, clients must present a certificate signed by it (mTLS).
    std::string client_ca_file;
    bool enabled() const { return !cert_file.empty() && !key_file.empty(); }
    bool operator==(const tls_settings&) const = default;
  };

  std::string listen = "127.0.0.1:7400"; ///< host:port; port 0 picks a free one
  std::string tokens_file;               ///< bearer tokens (hashed); relative to the config file
  tls_settings tls;
  /// WatchEvents streams served at once, in total and per token; beyond
  /// either the stream is refused (RESOURCE_EXHAUSTED). A stream costs no
  /// thread, only its queue and its connection's buffers.
  int max_watch_streams = 1024;
  int max_watch_streams_per_token = 64;
  /// Long calls in flight (RequestSwitchover, RequestFailover,
  /// SiteSwitchover, Drill: each holds a gRPC thread until it answers), in
  /// total and per token; beyond either the call is refused.
  int max_long_calls = 16;
  int max_long_calls_per_token = 4;

  /// True if `listen` names a loopback host: 127.0.0.0/8, [::1] or localhost.
  /// Anything else (0.0.0.0, [::], a name) may be reachable from the network.
  bool listens_on_loopback() const { return address_is_loopback(listen); }
  bool operator==(const api_settings&) const = default;
};

/// A site (data center, region, zone); instances name the site they run in.
struct site_settings {
  std::string name;
  std::string description;
  source_mark mark;
  bool operator==(const site_settings&) const = default;
};

/// One replica of a switchyardd cluster, as every replica's configuration lists it.
struct cluster_member {
  std::string name; ///< its id: cluster.member in its own configuration
  std::string api;  ///< host:port where its API answers (what a follower tells a client)
  bool operator==(const cluster_member&) const = default;
};

/// `cluster:` (docs/high-availability.md). Absent: a single switchyardd, as
/// before. Present: this replica campaigns for the leader key in etcd and acts
/// only while it leads (leader lease, fencing epoch in every switchover step).
struct cluster_settings {
  std::string member;                        ///< this replica's name, one of `members`
  std::vector<cluster_member> members;       ///< every replica, this one included
  std::vector<std::string> endpoints;        ///< etcd client endpoints, host:port
  std::string prefix = "/switchyard";        ///< every key under it; no trailing '/'
  std::chrono::milliseconds lease_ttl{2000}; ///< whole seconds, at least 1 s
  std::chrono::milliseconds keepalive_interval{500};
  std::chrono::milliseconds safety_margin{
      300}; ///< stop acting this long before the lease may expire
  std::chrono::milliseconds request_timeout{1000}; ///< one etcd request's deadline
  std::chrono::milliseconds election_retry{500};   ///< a follower's campaign retry
  std::optional<int> quorum; ///< vantage points that must see a primary down; nullopt: majority
  source_mark mark;          ///< where `cluster:` is written (for errors found at start)
  /// The member named `name`, or nullptr.
  const cluster_member* find(const std::string& name) const;
  bool operator==(const cluster_settings&) const = default;
};

struct switchyard_config {
  std::string source_file; ///< absolute path of the file this was loaded from
  orchestrator_settings orchestrator;
  /// The sites named in `sites:`; when that is left out, every site an
  /// instance names, in order of first use (without descriptions).
  std::vector<site_settings> sites;
  api_settings api;
  std::optional<cluster_settings> cluster; ///< absent: a single switchyardd
  backups_settings backups;
  std::vector<service_settings> services;
  /// Each service's position in `services` by name, so that find_service
  /// does not scan thousands of services on hot paths. Built by
  /// index_services() (the loader does, once `services` is final). Only a
  /// hint: an entry is checked before it is used, and a name the index lacks
  /// or maps elsewhere (a config built or changed by hand) is looked for by a
  /// scan, so a stale or empty index is slower, never wrong.
  std::unordered_map<std::string, std::size_t> service_index;

  /// Absolute path of the SQLite database (data_dir resolved against the config's folder).
  std::string database_path() const;
  /// The service named `name`, or nullptr.
  const service_settings* find_service(const std::string& name) const;
  /// Rebuilds service_index from `services`.
  void index_services();
};

} // namespace switchyard::config

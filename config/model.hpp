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

#include "config/model_backups.hpp"
#include "config/model_common.hpp"
#include "config/model_strategy.hpp"

namespace switchyard::config {

enum class log_level { trace, debug, info, warn, error };
enum class check_type { tcp, http, exec, redis, grpc, postgres };
enum class instance_role { primary, standby };
const char* to_string(log_level x);
const char* to_string(check_type x);
const char* to_string(instance_role x);

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

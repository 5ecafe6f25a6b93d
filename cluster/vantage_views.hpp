// Failure seen from several vantage points, published in etcd: every replica
// writes its own subjective view (the instances it sees down), the leader
// reads everyone's and applies rules/quorum_rules.hpp (objectively down).
//
//   <prefix>/members/<replica>                      {"replica":..,"address":..}
//   <prefix>/views/<replica>/<service>/<instance>   {"since_ms":..,"reason":..}
//
// A view key exists while its replica sees the instance down. Every key of a
// replica is bound to that replica's own lease, so a replica that dies takes
// its membership and its votes with it when the lease expires: a dead
// replica's stale "down" never counts.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <caf/expected.hpp>

#include "cluster/etcd_client.hpp"
#include "rules/quorum_rules.hpp"

namespace switchyard::cluster {

struct vantage_settings {
  std::string prefix = "/switchyard/vantage"; ///< no trailing '/'
  std::string replica_id;                     ///< no '/': it is a key segment
  std::string address;                        ///< this replica's API address; optional
  /// The lease's TTL: how long a dead replica's views outlive it.
  std::chrono::seconds ttl{2};
  /// How often the lease is renewed; with the client's request timeout it
  /// must fit in the TTL, so that one timed-out renewal does not lose it.
  std::chrono::milliseconds keepalive_interval{500};
};

/// One replica's report that it sees an instance down.
struct down_report {
  std::int64_t since_ms = 0; ///< wall clock (ms since the epoch) when it first saw it down
  std::string reason;
};

struct member_view {
  std::string address;
  std::int64_t lease = 0;
};

struct instance_key {
  std::string service;
  std::string instance;
  auto operator<=>(const instance_key&) const = default;
};

/// Everyone's views as the reader knows them.
struct vantage_snapshot {
  std::map<std::string, member_view> members; ///< live replicas, by id
  /// Per instance: the replicas that report it down, by id. Instances nobody
  /// reports down are absent.
  std::map<instance_key, std::map<std::string, down_report>> down;
  std::int64_t revision = 0; ///< the etcd revision reflected
  std::string last_error;    ///< the last failed re-read; "" when current
};

/// Publishes this replica's view. One per replica.
class vantage_publisher {
public:
  /// Validates the settings (invalid_config naming the field) and starts the
  /// lease thread: it grants the lease, publishes the membership and keeps
  /// the lease alive; when the lease is lost it grants a new one and
  /// publishes the membership and the current down set again.
  [[nodiscard]] static caf::expected<std::unique_ptr<vantage_publisher>>
  start(etcd_client client, vantage_settings settings);
  /// Stops renewing without revoking, as a crash does: the keys expire with
  /// the lease after its TTL. stop() withdraws them at once.
  ~vantage_publisher();
  vantage_publisher(const vantage_publisher&) = delete;
  vantage_publisher& operator=(const vantage_publisher&) = delete;

  /// This replica sees `instance` of `service` down (or up again). Writes to
  /// etcd only when that changes; a changed reason while still down is not a
  /// change. The view is kept even when the write fails (the error is
  /// returned) and published by the lease thread as soon as it can.
  caf::expected<void> report(const std::string& service, const std::string& instance, bool down,
                             const std::string& reason = {});

  /// Stops renewing and revokes the lease: membership and views vanish now.
  caf::expected<void> stop();

  /// The lease this replica's keys are bound to; 0 while it has none.
  [[nodiscard]] std::int64_t lease_id() const;
  /// Whether etcd holds exactly this replica's current view.
  [[nodiscard]] bool published() const;
  /// The last failed etcd call; "" after a success.
  [[nodiscard]] std::string last_error() const;

private:
  vantage_publisher(etcd_client client, vantage_settings settings);
  void lease_loop();
  /// One grant or keep-alive (and a re-publication when due); returns when
  /// the next one is due.
  std::chrono::steady_clock::time_point tick();
  /// Makes etcd hold the membership and exactly the down set under `lease`.
  /// io_mtx_ held.
  caf::expected<void> publish_all(std::int64_t lease);
  [[nodiscard]] std::string member_key() const;
  [[nodiscard]] std::string view_key(const instance_key& which) const;
  void failed(const caf::error& err);
  void stop_thread();

  etcd_client client_;
  vantage_settings settings_;

  std::mutex io_mtx_; ///< one writer at a time: report() and re-publication
  mutable std::mutex mtx_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool dirty_ = true; ///< etcd may differ from down_ (a failed write, a new lease)
  std::int64_t lease_id_ = 0;
  std::map<instance_key, down_report> down_; ///< what this replica sees down
  std::string last_error_;
  std::thread thread_;
};

/// Reads every replica's view: seeded by one read of the prefix, kept current
/// by a watch on it. Thread-safe.
class vantage_reader {
public:
  /// Reads the prefix (the error when etcd does not answer) and watches it.
  /// `on_change`, if set, is called on the watch's thread after each change
  /// was applied (snapshot() and verdict() already reflect it).
  [[nodiscard]] static caf::expected<std::unique_ptr<vantage_reader>>
  start(etcd_client client, std::string prefix = "/switchyard/vantage",
        std::function<void()> on_change = {});
  ~vantage_reader();
  vantage_reader(const vantage_reader&) = delete;
  vantage_reader& operator=(const vantage_reader&) = delete;

  [[nodiscard]] vantage_snapshot snapshot() const;
  /// The replicas that report the instance down now (live or not).
  [[nodiscard]] std::map<std::string, down_report> reports(const std::string& service,
                                                           const std::string& instance) const;
  /// judge_down() on the current views; invalid_config for unsound settings.
  [[nodiscard]] caf::expected<down_verdict> verdict(const std::string& service,
                                                    const std::string& instance,
                                                    const quorum_settings& settings) const;

private:
  vantage_reader(etcd_client client, std::string prefix);
  /// Replaces the state with one read of the prefix.
  caf::expected<void> reseed();
  void apply(const watch_event& event);
  /// A key written (present) or deleted. mtx_ held.
  void apply_change(const key_value& kv, bool present);

  etcd_client client_;
  std::string prefix_;
  mutable std::mutex mtx_;
  vantage_snapshot state_;
  std::int64_t seed_revision_ = 0; ///< the revision of the last full read
  std::function<void()> on_change_;
  std::unique_ptr<etcd_watch> watch_;
};

} // namespace switchyard::cluster

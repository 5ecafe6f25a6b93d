// A replica of a switchyardd cluster as the control authority
// (actors/control_authority.hpp): it campaigns for the leader key
// (leader_lease), may act only while it leads with its lease renewed in time
// and once it has read the replicated state of its term, and records every
// switchover's intent and steps in etcd with fenced writes under its epoch
// (replicated_state). Every replica follows the replicated topology (a watch)
// and hands it to its coordinator, so that whoever leads next starts from the
// primaries the last leader left.
//
//   follower ──wins the key──► leader, syncing ──snapshot read──► leader, may act
//      ▲                              │                               │
//      └──────── key lost / lease not renewed in time ◄───────────────┘
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "actors/control_authority.hpp"
#include "cluster/etcd_client.hpp"
#include "cluster/leader_lease.hpp"
#include "cluster/replicated_state.hpp"
#include "cluster/vantage_views.hpp"
#include "config/model.hpp"
#include "messages/maintenance.hpp"
#include "messages/records.hpp"
#include "messages/site.hpp"
#include "messages/topology.hpp"

namespace switchyard::cluster {

struct authority_callbacks {
  /// The leadership view changed (leader, may_act, leader id or epoch).
  /// Called on one of the authority's threads, one call at a time.
  std::function<void(const actors::leadership_view&)> on_change;
  /// The replicated primaries, after every change and when this replica
  /// takes the lead (before it may act). Same threads and rules.
  std::function<void(const topology_list&)> on_topology;
  /// Right after on_topology: the switchovers a former leader left in flight
  /// (from their intents; the list replaces the last one).
  std::function<void(const interrupted_list&)> on_intents;
  /// Right after on_intents: every replicated maintenance window.
  std::function<void(const maintenance_list&)> on_maintenance;
  /// Right after on_maintenance: every replicated service backup.
  std::function<void(const replicated_backup_list&)> on_backups;
  /// Right after on_backups: the site switchover in flight (leader_id
  /// empty: none); a leader that may act takes over one that is not its own.
  std::function<void(const site_takeover&)> on_site;
  /// A replica's published view changed (on the vantage watch's thread).
  std::function<void()> on_votes;
};

class cluster_authority final : public actors::control_authority {
public:
  /// Reads the leader key once (unavailable when no endpoint answers), then
  /// starts campaigning and following the replicated topology.
  /// invalid_config for unsound timings.
  [[nodiscard]] static caf::expected<std::unique_ptr<cluster_authority>>
  start(const config::cluster_settings& settings, authority_callbacks callbacks);
  /// Stops without resigning (the key expires with the lease, as after a crash).
  ~cluster_authority() override;
  cluster_authority(const cluster_authority&) = delete;
  cluster_authority& operator=(const cluster_authority&) = delete;

  bool may_act() const override;
  std::int64_t epoch() const override;
  actors::leadership_view view() const override;
  void report(const std::string& service, const std::string& instance, bool down) override;
  actors::down_confirmation confirm_down(const std::string& service,
                                         const std::string& instance) const override;
  caf::expected<void> begin(const actors::switchover_intent_info& intent) override;
  caf::expected<void> step(const service_id& service, switchover_id id, std::uint32_t sequence,
                           step_status status) override;
  caf::expected<void> end(const service_id& service, switchover_id id, bool completed,
                          const instance_id& primary, switchyard::epoch new_epoch) override;

  caf::expected<void> record_backup(const replicated_backup& b) override;
  caf::expected<void> forget_backup(const std::string& service, const std::string& node,
                                    std::int64_t id) override;
  caf::expected<void> set_maintenance(const maintenance_record& m) override;
  caf::expected<void> clear_maintenance(const service_id& service,
                                        const instance_id& instance) override;
  caf::expected<void> record_site(const site_record& r) override;
  caf::expected<void> take_over_site(const site_takeover& previous) override;

  /// Hands the leadership over at once (a clean shutdown).
  caf::expected<void> resign();

private:
  cluster_authority(config::cluster_settings settings, authority_callbacks callbacks,
                    etcd_client client);
  void lease_changed(const leadership& l);
  void sync_loop();
  /// Publishes the views report() queued (on the sync thread).
  void publish_reports();
  /// Reads the replicated state and hands its topology on; true on success.
  bool sync_once();
  /// The writer of this term, or the refusal when this replica may not act.
  caf::expected<state_writer> writer() const;
  /// Runs `write` as this term's writer; a stale refusal makes the state be read again.
  caf::expected<void>
  write_as_leader(const std::function<caf::expected<std::int64_t>(const state_writer&)>& write);
  void notify();

  config::cluster_settings settings_;
  authority_callbacks callbacks_;
  etcd_client client_;
  replicated_state state_;
  std::unique_ptr<leader_lease> lease_;
  std::unique_ptr<vantage_publisher> publisher_; ///< this replica's view
  std::unique_ptr<vantage_reader> reader_;       ///< everyone's
  std::unique_ptr<etcd_watch> watch_;

  mutable std::mutex mtx_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool dirty_ = true; ///< the replicated state should be read again
  /// Views to publish, latest per instance: (service, instance) -> down.
  std::map<std::pair<std::string, std::string>, bool> reports_;
  std::int64_t synced_epoch_ = 0;    ///< the term whose state was read while leading
  std::string sync_error_;           ///< the last failed read; "" after a success
  std::mutex notify_mtx_;            ///< one on_change at a time
  actors::leadership_view notified_; ///< the last view handed to on_change
  std::thread sync_thread_;
};

} // namespace switchyard::cluster

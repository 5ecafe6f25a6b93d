#include "apps/switchyardd/cluster_member.hpp"

#include <mutex>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/event_hub.hpp"
#include "cluster/cluster_authority.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"

namespace switchyard::app {

struct cluster_member::shared {
  actors::peers_ptr peers;
  std::mutex mtx;
  topology_list topology;         ///< the last replicated topology
  interrupted_list left;          ///< the switchovers a former leader left in flight
  maintenance_list windows;       ///< the replicated maintenance windows
  site_takeover site;             ///< the site switchover in flight in etcd
  replicated_backup_list backups; ///< the replicated service backups
  bool have_backups = false;
  caf::actor_addr backups_told; ///< the backup manager incarnation that has `backups`
  bool have_topology = false;
  caf::actor_addr told;      ///< the coordinator incarnation that has it
  caf::actor_addr site_told; ///< the site coordinator incarnation that has `site`
  metrics::gauge* leader = nullptr;
  metrics::gauge* may_act = nullptr;
  metrics::gauge* epoch = nullptr;
  metrics::gauge* lease_remaining = nullptr;
  metrics::gauge* quorum = nullptr;
  metrics::counter* changes = nullptr;
};

namespace {

std::string describe_view(const actors::leadership_view& v) {
  if (v.may_act)
    return fmt::format("{} leads (epoch {}) and may act", v.member, v.epoch);
  if (v.leader)
    return fmt::format("{} holds the leader key (epoch {}) but may not act: {}", v.member, v.epoch,
                       v.reason);
  if (v.leader_id.empty())
    return fmt::format("{} follows; no leader: {}", v.member, v.reason);
  return fmt::format("{} follows {}{} (epoch {})", v.member, v.leader_id,
                     v.leader_address.empty() ? "" : " at " + v.leader_address, v.epoch);
}

void leadership_changed(cluster_member::shared& s, const actors::leadership_view& v) {
  auto text = describe_view(v);
  if (v.may_act)
    spdlog::warn("cluster: {}", text);
  else
    spdlog::info("cluster: {}", text);
  s.changes->inc();
  actors::publish_event(*s.peers, orchestrator_event{0, 0, event_kind::leadership, service_id{},
                                                     instance_id{}, switchover_id{0}, text});
  if (auto store = s.peers->store()) {
    nlohmann::json args{{"member", v.member},
                        {"leader", v.leader_id},
                        {"epoch", v.epoch},
                        {"may_act", v.may_act},
                        {"reason", v.reason}};
    caf::anon_send(store, audit_record{0, "switchyardd/" + v.member, "system", "Leadership",
                                       args.dump(), text, 0});
  }
  if (auto coordinator = s.peers->coordinator())
    caf::anon_send(coordinator, cluster_atom::value);
  if (auto site = s.peers->site())
    caf::anon_send(site, cluster_atom::value);
}

// Keeps `value` in `slot` (tick() hands it to a coordinator started later)
// and hands it to the coordinator now.
template <class T>
void to_coordinator(cluster_member::shared& s, T cluster_member::shared::*slot, const T& value) {
  std::lock_guard lock{s.mtx};
  s.*slot = value;
  if (auto coordinator = s.peers->coordinator())
    caf::anon_send(coordinator, cluster_atom::value, value);
}

void site_replicated(cluster_member::shared& s, const site_takeover& site) {
  std::lock_guard lock{s.mtx};
  s.site = site;
  if (auto coordinator = s.peers->site()) {
    caf::anon_send(coordinator, cluster_atom::value, site);
    s.site_told = coordinator.address();
  }
}

void backups_replicated(cluster_member::shared& s, const replicated_backup_list& list) {
  std::lock_guard lock{s.mtx};
  s.backups = list;
  s.have_backups = true;
  if (auto manager = s.peers->backups()) {
    caf::anon_send(manager, cluster_atom::value, list);
    s.backups_told = manager.address();
  }
}

void topology_replicated(cluster_member::shared& s, const topology_list& topo) {
  std::lock_guard lock{s.mtx};
  s.topology = topo;
  s.have_topology = true;
  if (auto coordinator = s.peers->coordinator()) {
    caf::anon_send(coordinator, cluster_atom::value, topo);
    s.told = coordinator.address();
  }
}

} // namespace

caf::expected<std::unique_ptr<cluster_member>>
cluster_member::start(const config::switchyard_config& cfg, actors::peers_ptr peers) {
  const auto& settings = *cfg.cluster;
  std::unique_ptr<cluster_member> self{new cluster_member};
  self->shared_ = std::make_shared<shared>();
  auto& s = *self->shared_;
  s.peers = peers;
  auto& reg = peers->metrics();
  s.leader = &reg.gauge_for("switchyard_cluster_leader",
                            "1 while this replica holds the leader key in etcd.");
  s.may_act = &reg.gauge_for("switchyard_cluster_may_act",
                             "1 while this replica leads with its lease renewed in time.");
  s.epoch = &reg.gauge_for("switchyard_cluster_epoch",
                           "The leader's fencing epoch (the leader key's create revision).");
  s.lease_remaining =
      &reg.gauge_for("switchyard_cluster_lease_remaining_seconds",
                     "How long this leader may act without another renewal; 0 when it may not.");
  s.quorum = &reg.gauge_for("switchyard_cluster_quorum",
                            "Replicas that must see a primary down before it is failed over.");
  s.changes = &reg.counter_for("switchyard_cluster_leadership_changes_total",
                               "Changes of leader, epoch or of this replica's right to act.");
  std::weak_ptr<shared> weak = self->shared_;
  cluster::authority_callbacks callbacks;
  callbacks.on_change = [weak](const actors::leadership_view& v) {
    if (auto sp = weak.lock())
      leadership_changed(*sp, v);
  };
  callbacks.on_topology = [weak](const topology_list& topo) {
    if (auto sp = weak.lock())
      topology_replicated(*sp, topo);
  };
  callbacks.on_intents = [weak](const interrupted_list& left) {
    if (auto sp = weak.lock())
      to_coordinator(*sp, &cluster_member::shared::left, left);
  };
  callbacks.on_maintenance = [weak](const maintenance_list& windows) {
    if (auto sp = weak.lock())
      to_coordinator(*sp, &cluster_member::shared::windows, windows);
  };
  callbacks.on_backups = [weak](const replicated_backup_list& list) {
    if (auto sp = weak.lock())
      backups_replicated(*sp, list);
  };
  callbacks.on_site = [weak](const site_takeover& site) {
    if (auto sp = weak.lock())
      site_replicated(*sp, site);
  };
  // The replicas' views changed: the leader decides again on what it held
  // back for want of a quorum.
  callbacks.on_votes = [weak] {
    if (auto sp = weak.lock())
      if (auto coordinator = sp->peers->coordinator())
        caf::anon_send(coordinator, cluster_atom::value);
  };
  auto started = cluster::cluster_authority::start(settings, std::move(callbacks));
  if (!started) {
    auto where =
        fmt::format("{}:{}", settings.mark.file.empty() ? cfg.source_file : settings.mark.file,
                    settings.mark.line);
    if (started.error() == sy_errc::unavailable)
      return make_sy_error(sy_errc::invalid_config,
                           fmt::format("{}: cluster.endpoints: no etcd member answered ({}): {}",
                                       where, fmt::join(settings.endpoints, ", "),
                                       describe(started.error())));
    return make_sy_error(sy_errc::invalid_config,
                         fmt::format("{}: cluster: {}", where, describe(started.error())));
  }
  self->authority_ = std::shared_ptr<cluster::cluster_authority>(std::move(*started));
  peers->set_authority(self->authority_);
  spdlog::info("cluster: member {} of {}, etcd at {}, lease TTL {} ms", settings.member,
               settings.members.size(), fmt::join(settings.endpoints, ","),
               settings.lease_ttl.count());
  return self;
}

cluster_member::~cluster_member() = default;

void cluster_member::tick() {
  auto v = authority_->view();
  auto& s = *shared_;
  s.leader->set(v.leader ? 1 : 0);
  s.may_act->set(v.may_act ? 1 : 0);
  s.epoch->set(static_cast<double>(v.epoch));
  s.lease_remaining->set(v.may_act ? static_cast<double>(v.lease_remaining_ms) / 1000.0 : 0.0);
  s.quorum->set(static_cast<double>(v.quorum));
  std::lock_guard lock{s.mtx};
  auto coordinator = s.peers->coordinator();
  if (s.have_topology && coordinator && coordinator.address() != s.told) {
    caf::anon_send(coordinator, cluster_atom::value, s.topology);
    caf::anon_send(coordinator, cluster_atom::value, s.left);
    caf::anon_send(coordinator, cluster_atom::value, s.windows);
    caf::anon_send(coordinator, cluster_atom::value);
    s.told = coordinator.address();
  }
  auto site = s.peers->site();
  if (s.have_topology && site && site.address() != s.site_told) {
    caf::anon_send(site, cluster_atom::value, s.site);
    s.site_told = site.address();
  }
  auto manager = s.peers->backups();
  if (s.have_backups && manager && manager.address() != s.backups_told) {
    caf::anon_send(manager, cluster_atom::value, s.backups);
    s.backups_told = manager.address();
  }
}

void cluster_member::resign() {
  if (auto* a = dynamic_cast<cluster::cluster_authority*>(authority_.get())) {
    if (auto ok = a->resign(); !ok)
      spdlog::warn("cluster: resigning failed: {}; the leader key expires with the lease",
                   describe(ok.error()));
  }
}

} // namespace switchyard::app

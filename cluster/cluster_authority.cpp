#include "cluster/cluster_authority.hpp"

#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cluster/fencing.hpp"
#include "messages/error.hpp"
#include "rules/quorum_rules.hpp"

namespace switchyard::cluster {

namespace {

using namespace std::chrono;

/// Reads of the leader key at start before the endpoints count as unreachable.
constexpr int startup_attempts = 3;

client_settings client_of(const config::cluster_settings& s) {
  client_settings c;
  c.endpoints = s.endpoints;
  c.request_timeout = s.request_timeout;
  return c;
}

lease_timing timing_of(const config::cluster_settings& s) {
  lease_timing t;
  t.ttl = s.lease_ttl;
  t.keepalive_interval = s.keepalive_interval;
  t.safety_margin = s.safety_margin;
  t.request_timeout = s.request_timeout;
  t.retry_interval = s.election_retry;
  return t;
}

step_status status_of(step_progress p) {
  switch (p) {
  case step_progress::done:
    return step_status::done;
  case step_progress::failed:
    return step_status::failed;
  case step_progress::pending:
  case step_progress::running:
    return step_status::started;
  }
  return step_status::started;
}

// An intent as the coordinator takes a switchover over: the steps it never
// began are left out (they run as new ones).
interrupted_switchover interrupted_of(const switchover_intent& in) {
  interrupted_switchover out;
  out.switchover.id = in.id;
  out.switchover.service = in.service;
  out.switchover.kind = in.kind;
  out.switchover.from = in.from;
  out.switchover.to = in.to;
  out.switchover.run_epoch = in.new_epoch;
  out.switchover.started_at_ms = in.started_ms;
  out.switchover.reason =
      fmt::format("switchover #{} begun by {} at leader epoch {}", in.id.value,
                  in.leader_id.empty() ? "?" : in.leader_id, in.written_by.value);
  for (const auto& s : in.steps) {
    if (s.progress == step_progress::pending)
      continue;
    step_record r;
    r.switchover = in.id;
    r.sequence = s.sequence;
    r.phase = s.phase;
    r.name = s.name;
    r.status = status_of(s.progress);
    out.steps.push_back(std::move(r));
  }
  return out;
}

bool same_leadership(const actors::leadership_view& a, const actors::leadership_view& b) {
  return a.leader == b.leader && a.may_act == b.may_act && a.leader_id == b.leader_id &&
         a.epoch == b.epoch;
}

} // namespace

caf::expected<std::unique_ptr<cluster_authority>>
cluster_authority::start(const config::cluster_settings& settings, authority_callbacks callbacks) {
  if (auto ok = validate(timing_of(settings)); !ok)
    return ok.error();
  auto client = etcd_client::create(client_of(settings));
  if (!client)
    return client.error();
  // One read before anything starts: endpoints nobody answers at are a
  // start-up error, not a replica that campaigns into the void. A few
  // attempts: the first connection of a busy machine may miss one deadline.
  for (int attempt = 1;; ++attempt) {
    auto probe = read_leader(*client, settings.prefix + "/leader");
    if (probe)
      break;
    if (attempt == startup_attempts)
      return probe.error();
  }
  std::unique_ptr<cluster_authority> self{
      new cluster_authority(settings, std::move(callbacks), std::move(*client))};
  leader_settings ls;
  ls.leader_key = settings.prefix + "/leader";
  ls.candidate_id = settings.member;
  ls.timing = timing_of(settings);
  auto* raw = self.get();
  ls.on_change = [raw](const leadership& l) { raw->lease_changed(l); };
  auto lease = leader_lease::start(self->client_, std::move(ls));
  if (!lease)
    return lease.error();
  self->lease_ = std::move(*lease);
  watch_options wo;
  wo.prefix = true;
  wo.on_event = [raw](const watch_event&) {
    std::lock_guard lock{raw->mtx_};
    raw->dirty_ = true;
    raw->wake_.notify_all();
  };
  // Everything under state/: the topology, intents, maintenance windows and the site switchover.
  self->watch_ = self->client_.watch(settings.prefix + "/state/", std::move(wo));
  // Every replica's view of the fleet, for the quorum (vantage_views.hpp).
  vantage_settings vs;
  vs.prefix = settings.prefix + "/vantage";
  vs.replica_id = settings.member;
  if (const auto* me = settings.find(settings.member))
    vs.address = me->api;
  vs.ttl = duration_cast<seconds>(settings.lease_ttl);
  vs.keepalive_interval = settings.keepalive_interval;
  auto publisher = vantage_publisher::start(self->client_, vs);
  if (!publisher)
    return publisher.error();
  self->publisher_ = std::move(*publisher);
  auto reader = vantage_reader::start(self->client_, vs.prefix, [raw] {
    if (raw->callbacks_.on_votes)
      raw->callbacks_.on_votes();
  });
  if (!reader)
    return reader.error();
  self->reader_ = std::move(*reader);
  self->sync_thread_ = std::thread([raw] { raw->sync_loop(); });
  return self;
}

cluster_authority::cluster_authority(config::cluster_settings settings,
                                     authority_callbacks callbacks, etcd_client client)
    : settings_(std::move(settings)), callbacks_(std::move(callbacks)), client_(client),
      state_(client, settings_.prefix + "/state", settings_.prefix + "/leader") {}

cluster_authority::~cluster_authority() {
  {
    std::lock_guard lock{mtx_};
    stopping_ = true;
    wake_.notify_all();
  }
  if (sync_thread_.joinable())
    sync_thread_.join();
  reader_.reset();
  publisher_.reset();
  watch_.reset();
  lease_.reset();
}

void cluster_authority::lease_changed(const leadership& l) {
  std::lock_guard lock{mtx_};
  // A new term must read the replicated state before it acts.
  if (l.leader && synced_epoch_ != l.epoch.value)
    dirty_ = true;
  wake_.notify_all();
}

void cluster_authority::sync_loop() {
  for (;;) {
    bool sync = false;
    {
      std::unique_lock lock{mtx_};
      wake_.wait_for(lock, settings_.election_retry,
                     [this] { return stopping_ || dirty_ || !reports_.empty(); });
      if (stopping_)
        return;
      sync = std::exchange(dirty_, false);
    }
    publish_reports();
    if (sync && !sync_once()) {
      std::lock_guard lock{mtx_};
      dirty_ = true; // again after election_retry
    }
    notify(); // also catches may_act running out with the clock
  }
}

void cluster_authority::report(const std::string& service, const std::string& instance, bool down) {
  std::lock_guard lock{mtx_};
  reports_[{service, instance}] = down;
  wake_.notify_all();
}

void cluster_authority::publish_reports() {
  std::map<std::pair<std::string, std::string>, bool> now;
  {
    std::lock_guard lock{mtx_};
    now.swap(reports_);
  }
  // A failed write is kept by the publisher and published again as soon as
  // it can (its lease thread); nothing is lost here.
  for (const auto& [which, down] : now)
    if (auto ok = publisher_->report(which.first, which.second, down); !ok)
      spdlog::warn("cluster: publishing this replica's view of {}/{}: {}", which.first,
                   which.second, describe(ok.error()));
}

actors::down_confirmation cluster_authority::confirm_down(const std::string& service,
                                                          const std::string& instance) const {
  std::vector<std::string> members;
  for (const auto& m : settings_.members)
    members.push_back(m.name);
  auto verdict = reader_->verdict(service, instance, {members, settings_.quorum});
  if (!verdict)
    return {false, describe(verdict.error())};
  return {verdict->objectively_down, verdict->explanation};
}

bool cluster_authority::sync_once() {
  auto before = lease_->status();
  auto snap = state_.load();
  if (!snap) {
    std::lock_guard lock{mtx_};
    sync_error_ = "reading the replicated state: " + describe(snap.error());
    return false;
  }
  topology_list topo;
  for (const auto& [service, t] : snap->topology)
    topo.push_back(service_topology{service, t.primary, t.service_epoch,
                                    caf::timestamp{milliseconds(t.at_ms)}});
  // The switchovers a former leader left in flight (this term's are this
  // replica's own, running here): the coordinator carries them on once it may act.
  interrupted_list left;
  for (const auto& [service, in] : snap->intents) {
    if (before.leader && in.written_by.value >= before.epoch.value)
      continue;
    spdlog::warn("cluster: switchover {} of {} ({} -> {}, epoch {}) was left in flight by {} at "
                 "leader epoch {}",
                 in.id.value, service.value, in.from.value, in.to.value, in.new_epoch.value,
                 in.leader_id, in.written_by.value);
    left.push_back(interrupted_of(in));
  }
  if (callbacks_.on_topology)
    callbacks_.on_topology(topo);
  if (callbacks_.on_intents)
    callbacks_.on_intents(left);
  if (callbacks_.on_maintenance)
    callbacks_.on_maintenance(snap->maintenance);
  if (callbacks_.on_backups)
    callbacks_.on_backups(snap->backups);
  if (callbacks_.on_site) {
    site_takeover site;
    if (snap->site)
      site = {snap->site->record, snap->site->leader_id, snap->site->written_by.value};
    callbacks_.on_site(site);
  }
  std::lock_guard lock{mtx_};
  sync_error_.clear();
  if (before.leader)
    synced_epoch_ = before.epoch.value;
  return true;
}

void cluster_authority::notify() {
  std::lock_guard serial{notify_mtx_};
  auto now = view();
  if (same_leadership(now, notified_) && notified_.clustered)
    return;
  notified_ = now;
  if (callbacks_.on_change)
    callbacks_.on_change(now);
}

bool cluster_authority::may_act() const {
  auto l = lease_->status();
  std::lock_guard lock{mtx_};
  return l.may_act && synced_epoch_ == l.epoch.value;
}

std::int64_t cluster_authority::epoch() const {
  return lease_->status().epoch.value;
}

actors::leadership_view cluster_authority::view() const {
  auto l = lease_->status();
  actors::leadership_view v;
  v.clustered = true;
  v.member = settings_.member;
  for (const auto& m : settings_.members)
    v.members.push_back(m.name);
  v.endpoints = settings_.endpoints;
  v.leader = l.leader;
  v.leader_id = l.leader_id;
  if (const auto* m = settings_.find(l.leader_id))
    v.leader_address = m->api;
  v.epoch = l.epoch.value;
  v.lease_remaining_ms = l.act_remaining.count();
  v.lease_ttl_ms = settings_.lease_ttl.count();
  v.quorum = effective_quorum({v.members, settings_.quorum});
  for (const auto& [which, by] : reader_->snapshot().down)
    for (const auto& [member, report] : by)
      v.votes.push_back({member, which.service, which.instance, true, report.since_ms});
  std::lock_guard lock{mtx_};
  v.may_act = l.may_act && synced_epoch_ == l.epoch.value;
  if (!v.may_act) {
    if (!l.last_error.empty() && !l.may_act)
      v.reason = "etcd: " + l.last_error;
    else if (l.leader && !l.may_act)
      v.reason = "the lease was not renewed in time";
    else if (l.leader)
      v.reason = sync_error_.empty() ? "taking over: reading the replicated state" : sync_error_;
    else if (l.leader_id.empty())
      v.reason = "no leader elected";
    else
      v.reason = "follower: " + l.leader_id + " leads";
  }
  return v;
}

caf::expected<void> cluster_authority::resign() {
  return lease_->resign();
}

} // namespace switchyard::cluster

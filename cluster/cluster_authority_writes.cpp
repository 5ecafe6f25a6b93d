// The writes of a cluster_authority (cluster_authority.hpp): every one as the
// leader of this term (refused when this replica may not act), fenced by its
// epoch in etcd (replicated_state.hpp).
#include "cluster/cluster_authority.hpp"

#include "messages/error.hpp"

namespace switchyard::cluster {

namespace {

step_progress progress_of(step_status s) {
  switch (s) {
  case step_status::started:
    return step_progress::running;
  case step_status::done:
    return step_progress::done;
  case step_status::failed:
    return step_progress::failed;
  }
  return step_progress::running;
}

} // namespace

caf::expected<state_writer> cluster_authority::writer() const {
  auto l = lease_->status();
  bool synced = false;
  {
    std::lock_guard lock{mtx_};
    synced = synced_epoch_ == l.epoch.value;
  }
  if (!l.may_act || !synced) {
    auto v = view();
    return make_sy_error(sy_errc::failover_blocked, "refused: not leader: this replica (" +
                                                        settings_.member +
                                                        ") may not act: " + v.reason);
  }
  return state_writer{settings_.member, l.epoch};
}

caf::expected<void> cluster_authority::begin(const actors::switchover_intent_info& intent) {
  switchover_intent in;
  in.service = intent.service;
  in.id = intent.id;
  in.kind = intent.kind;
  in.from = intent.from;
  in.to = intent.to;
  in.new_epoch = intent.new_epoch;
  in.steps = steps_of(intent.plan.steps);
  return write_as_leader([&](const state_writer& w) {
    return intent.takeover_of.value != 0
               ? state_.take_over_intent(w, intent.service, intent.takeover_of, intent.id)
               : state_.begin_intent(w, in);
  });
}

caf::expected<void> cluster_authority::step(const service_id& service, switchover_id id,
                                            std::uint32_t sequence, step_status status) {
  return write_as_leader([&](const state_writer& w) {
    return state_.record_step(w, service, id, sequence, progress_of(status));
  });
}

caf::expected<void> cluster_authority::end(const service_id& service, switchover_id id,
                                           bool completed, const instance_id& primary,
                                           switchyard::epoch new_epoch) {
  topology_record t;
  t.service = service;
  t.primary = primary;
  t.service_epoch = new_epoch;
  t.switchover = id;
  return write_as_leader([&](const state_writer& w) {
    return completed ? state_.finish(w, service, id, t) : state_.abandon_intent(w, service, id);
  });
}

caf::expected<void> cluster_authority::write_as_leader(
    const std::function<caf::expected<std::int64_t>(const state_writer&)>& write) {
  auto w = writer();
  if (!w)
    return w.error();
  auto written = write(*w);
  if (!written) {
    if (is_stale_refusal(written.error())) { // read again: this replica's view is behind
      std::lock_guard lock{mtx_};
      dirty_ = true;
      wake_.notify_all();
    }
    return written.error();
  }
  return caf::unit;
}

caf::expected<void> cluster_authority::record_backup(const replicated_backup& b) {
  return write_as_leader([&](const state_writer& w) { return state_.record_backup(w, b); });
}

caf::expected<void> cluster_authority::forget_backup(const std::string& service,
                                                     const std::string& node, std::int64_t id) {
  return write_as_leader(
      [&](const state_writer& w) { return state_.forget_backup(w, service, node, id); });
}

caf::expected<void> cluster_authority::set_maintenance(const maintenance_record& m) {
  return write_as_leader([&](const state_writer& w) { return state_.record_maintenance(w, m); });
}

caf::expected<void> cluster_authority::clear_maintenance(const service_id& service,
                                                         const instance_id& instance) {
  return write_as_leader(
      [&](const state_writer& w) { return state_.clear_maintenance(w, service, instance); });
}

caf::expected<void> cluster_authority::record_site(const site_record& r) {
  return write_as_leader([&](const state_writer& w) { return state_.record_site(w, r); });
}

caf::expected<void> cluster_authority::take_over_site(const site_takeover& previous) {
  auto claimed = previous.record;
  claimed.id = 0; // not journaled by this replica yet
  return write_as_leader([&](const state_writer& w) {
    return state_.take_over_site(w, previous.leader_id, previous.record.id, claimed);
  });
}

} // namespace switchyard::cluster

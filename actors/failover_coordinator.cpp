// The failover coordinator's behavior: one handler per message, each handing
// it to the unit of its subject (failover_coordinator_*.cpp); and its own
// periodic timer, which also watches for TILT.
#include "actors/failover_coordinator.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/event_hub.hpp"
#include "actors/failover_coordinator_detail.hpp"
#include "messages/error.hpp"
#include "observability/metrics.hpp"

namespace switchyard::actors {

namespace coordinator {

namespace {

// The coordinator's own timer: every tick_interval. One that fires late means
// this process did not run for a while (see tilt_state).
constexpr auto tick_interval = std::chrono::milliseconds(100);

void schedule_tick(coord_ptr self) {
  self->state.tick_due = self->clock().now() + tick_interval;
  self->delayed_send(self, tick_interval, tick_atom::value);
}

// What a timer due at `due` and seen at `now` says about TILT: entering it is
// logged and streamed; its end too, and the failures it held are decided again.
void observe_timer(coord_ptr self, coord_clock::time_point due, coord_clock::time_point now) {
  auto& st = self->state;
  auto change = st.tilt.on_timer(due, now, st.safety.tilt);
  switch (change) {
  case tilt_state::change::none:
    return;
  case tilt_state::change::entered:
  case tilt_state::change::extended: {
    auto why = st.tilt.why(now).value_or(std::string{});
    st.tilt_gauge->set(1);
    spdlog::warn("coordinator: {}: {}",
                 change == tilt_state::change::entered ? "entering TILT" : "TILT goes on", why);
    if (change == tilt_state::change::entered)
      publish_event(*self->state.peers, {0, 0, event_kind::decision, service_id{}, instance_id{},
                                         switchover_id{0}, "TILT: " + why});
    return;
  }
  case tilt_state::change::ended:
    spdlog::warn("coordinator: TILT ended: timers on time again; automatic failovers resume");
    st.tilt_gauge->set(0);
    publish_event(*self->state.peers,
                  {0, 0, event_kind::decision, service_id{}, instance_id{}, switchover_id{0},
                   "TILT ended: timers on time again; automatic failovers resume"});
    retry_pending(self, hold::tilt, {});
    return;
  }
}

// Its series, in the registry of its peers; TILT shows 0 from the start.
void init_metrics(failover_coordinator_state& st) {
  auto& registry = st.peers->metrics();
  st.tilt_gauge = &registry.gauge_for("switchyard_tilt", "1 while in TILT, else 0.");
  st.tilt_gauge->set(0);
  st.mailbox_depth = &metrics::mailbox_depth(registry, "failover_coordinator");
}

// The periodic timer fired: samples the mailbox, arms the next, looks at TILT.
void on_tick(coord_ptr self) {
  self->state.mailbox_depth->set(static_cast<double>(self->mailbox().size()));
  auto due = self->state.tick_due;
  auto now = self->clock().now();
  schedule_tick(self);
  observe_timer(self, due, now);
}

} // namespace

// Before a decision: the periodic timer may be late without having fired yet
// (its message queued behind this one): that is TILT as well.
void check_timers(coord_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (tilt_state::overdue(st.tick_due, now, st.safety.tilt))
    observe_timer(self, st.tick_due, now);
}

} // namespace coordinator

coordinator_actor::behavior_type
failover_coordinator(coordinator_actor::stateful_pointer<failover_coordinator_state> self,
                     std::shared_ptr<const config::switchyard_config> cfg, peers_ptr peers) {
  using namespace coordinator;
  self->state.peers = std::move(peers);
  init_metrics(self->state);
  self->state.init(std::move(cfg));
  self->send(self, load_topo_atom::value);
  schedule_tick(self);
  return {
      [self](load_topo_atom) { start_loading(self); },
      [self](health_transition& t) { on_health_transition(self, t); },
      [self](unjournaled_detection& u) { on_unjournaled(self, u); },
      [self](failure_detection& d) { on_detection(self, d); },
      [self](switchover_request& req) -> caf::result<switchover_reply> {
        return handle_switchover_request(self, req);
      },
      [self](maintenance_request& req) -> caf::result<maintenance_reply> {
        return handle_maintenance(self, req);
      },
      [self](maintenance_expiry& e) { handle_expiry(self, e); },
      [self](adopt_atom) { check_adopted(self); },
      [self](ready_atom, service_id& service) { on_readiness_timer(self, service); },
      [self](tick_atom) { on_tick(self); },
      [self](cluster_atom, topology_list& topo) { apply_replicated(self, topo); },
      [self](cluster_atom) { on_leadership_change(self); },
      [self](cluster_atom, interrupted_list& left) { note_left_in_flight(self, left); },
      [self](cluster_atom, maintenance_list& windows) { apply_replicated_windows(self, windows); },
      [self](plan_atom, service_id& service) -> caf::result<exported_plan_list> {
        auto& st = self->state;
        if (!service.value.empty() && !st.services.count(service.value))
          return make_sy_error(sy_errc::unknown_service,
                               fmt::format("no service named '{}'", service.value));
        exported_plan_list plans;
        for (const auto& cfg_svc : st.cfg->services) // in configuration order
          if (service.value.empty() || cfg_svc.name == service.value)
            plans.push_back(export_plan(st.services[cfg_svc.name], st.strategy(cfg_svc.name)));
        return plans;
      },
      [self](config_update& update) -> caf::result<caf::ok_atom> {
        return handle_reload(self, std::move(update));
      },
      [self](reserve_request& req) -> caf::result<caf::ok_atom> {
        return handle_reserve(self, req);
      },
      [self](get_state_atom) -> service_state_list {
        return self->state.snapshot(self->clock().now());
      },
      [self](summary_atom) -> fleet_summary { return self->state.summary(); },
  };
}

} // namespace switchyard::actors

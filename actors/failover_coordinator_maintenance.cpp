// Maintenance windows of a service or one instance: set and ended by an
// operator (persisted first), ended by their expiry; a failure they held back
// is decided on again when they end.
#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/event_hub.hpp"
#include "actors/failover_coordinator_detail.hpp"
#include "messages/error.hpp"
#include "rules/coordinator_rules.hpp"

namespace switchyard::actors::coordinator {

namespace {

// "service" or "instance web-b": what a maintenance window covers, for logs and events.
std::string window_target(const instance_id& instance) {
  return instance.value.empty() ? std::string{"service"} : "instance " + instance.value;
}

} // namespace

// Makes a persisted window effective and arms its expiry timer.
void apply_maintenance(coord_ptr self, maintenance_record m) {
  auto i = self->state.services.find(m.service.value);
  if (i == self->state.services.end())
    return; // a service no longer configured
  auto& view = i->second;
  if (!m.instance.value.empty() && !view.health.count(m.instance.value))
    return;
  if (m.until_ms > 0) {
    auto left = std::chrono::milliseconds(std::max<std::int64_t>(0, m.until_ms - wall_clock_ms()));
    self->delayed_send(self, left, maintenance_expiry{m.service, m.instance, m.until_ms});
  }
  spdlog::warn("{}: {} in maintenance: {} (by {}{})", m.service.value, window_target(m.instance),
               m.reason, m.principal, m.until_ms > 0 ? ", with an expiry" : ", until turned off");
  if (m.instance.value.empty())
    view.maintenance = std::move(m);
  else
    view.instance_maintenance[m.instance.value] = std::move(m);
}

namespace {

// Ends a window in memory; a failure held back by it is looked at again.
void end_maintenance(coord_ptr self, const service_id& service, const instance_id& instance,
                     const std::string& why) {
  auto& view = self->state.services[service.value];
  if (instance.value.empty())
    view.maintenance.reset();
  else
    view.instance_maintenance.erase(instance.value);
  auto what = window_target(instance);
  spdlog::warn("{}: {} out of maintenance: {}", service.value, what, why);
  publish_event(*self->state.peers,
                {0, 0, event_kind::maintenance, service, instance, switchover_id{0},
                 fmt::format("{} out of maintenance: {}", what, why)});
  if (auto p = self->state.pending.find(service.value); p != self->state.pending.end()) {
    auto d = p->second;
    handle_detection(self, d);
  }
}

} // namespace

caf::result<maintenance_reply> handle_maintenance(coord_ptr self, maintenance_request& req) {
  auto& st = self->state;
  auto i = st.services.find(req.service.value);
  if (i == st.services.end())
    return make_sy_error(sy_errc::unknown_service,
                         fmt::format("no service named '{}'", req.service.value));
  auto& view = i->second;
  const auto& inst = req.instance;
  if (!inst.value.empty() && !view.health.count(inst.value))
    return make_sy_error(sy_errc::unknown_instance, fmt::format("service '{}' has no instance '{}'",
                                                                req.service.value, inst.value));
  auto store = self->state.peers->store();
  if (!store)
    return make_sy_error(sy_errc::storage_failure,
                         "the store is not running: maintenance not changed");
  auto what = window_target(inst);
  auto rp = self->make_response_promise<maintenance_reply>();
  if (!req.enable) {
    bool active = inst.value.empty() ? view.maintenance.has_value()
                                     : view.instance_maintenance.count(inst.value) > 0;
    if (!active) {
      rp.deliver(maintenance_reply{false, what + " was not in maintenance", 0});
      return rp;
    }
    self->request(store, std::chrono::seconds(10), maintenance_clear{req.service, inst})
        .then(
            [self, rp, req, what](caf::ok_atom) mutable {
              end_maintenance(self, req.service, req.instance, "turned off by " + req.principal);
              rp.deliver(maintenance_reply{true, what + " is out of maintenance", 0});
            },
            [rp](caf::error& err) mutable { rp.deliver(err); });
    return rp;
  }
  auto now = wall_clock_ms();
  maintenance_record m{req.service,   inst, req.reason,
                       req.principal, now,  req.duration_ms > 0 ? now + req.duration_ms : 0};
  // Persisted first: a window that would vanish with a restart is not one.
  self->request(store, std::chrono::seconds(10), m)
      .then(
          [self, rp, m, what](caf::ok_atom) mutable {
            apply_maintenance(self, m);
            publish_event(*self->state.peers,
                          {0, 0, event_kind::maintenance, m.service, m.instance, switchover_id{0},
                           fmt::format("{} in maintenance by {}: {}{}", what, m.principal, m.reason,
                                       m.until_ms > 0 ? " (expires)" : " (until turned off)")});
            rp.deliver(maintenance_reply{true, what + " is in maintenance", m.until_ms});
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

void handle_expiry(coord_ptr self, const maintenance_expiry& e) {
  auto i = self->state.services.find(e.service.value);
  if (i == self->state.services.end())
    return;
  if (!expiry_ends_window(i->second, e))
    return; // ended or replaced meanwhile
  // The row is deleted now if possible; otherwise at the next start (expired rows are dropped).
  if (auto store = self->state.peers->store())
    self->request(store, std::chrono::seconds(10), maintenance_clear{e.service, e.instance})
        .then([](caf::ok_atom) {},
              [](caf::error& err) {
                spdlog::warn("expired maintenance row not deleted yet: {}", describe(err));
              });
  end_maintenance(self, e.service, e.instance, "expired");
}

} // namespace switchyard::actors::coordinator

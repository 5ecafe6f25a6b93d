// Maintenance windows of a service or one instance: set and ended by an
// operator (persisted first), ended by their expiry; a failure they held back
// is decided on again when they end. In a cluster the leader records a window
// in etcd before anything else (control_authority::set_maintenance) and every
// replica follows the replicated windows, so that the next leader keeps them.
#include <algorithm>
#include <functional>
#include <map>

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
  self->state.unconfirmed_windows.erase({service.value, instance.value});
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

// Runs `write` (a blocking write of the control authority: etcd in a cluster)
// on a thread of its own, then `then` on the coordinator with its outcome.
void off_the_actor(coord_ptr self, std::function<caf::expected<void>()> write,
                   std::function<void(const caf::error&)> then) {
  auto worker = self->spawn<caf::detached>([write](caf::event_based_actor* me) -> caf::behavior {
    return {[me, write](caf::ok_atom) -> caf::result<caf::ok_atom> {
      me->quit();
      if (auto done = write(); !done)
        return done.error();
      return caf::ok_atom::value;
    }};
  });
  self->request(worker, std::chrono::seconds(30), caf::ok_atom::value)
      .then([then](caf::ok_atom) { then(caf::error{}); }, [then](caf::error& err) { then(err); });
}

// The same window is in force already.
bool already_in_force(coord_ptr self, const maintenance_record& m) {
  const auto* have = window_in_force(self->state.services[m.service.value], m.instance.value);
  return have != nullptr && same_window(*have, m);
}

bool clustered(coord_ptr self) {
  return self->state.peers->authority().view().clustered;
}

// Persists a window (store) and makes it effective; the operator's answer.
void persist_and_apply(coord_ptr self, caf::response_promise rp, maintenance_record m,
                       std::string what) {
  auto store = self->state.peers->store();
  self->request(store, std::chrono::seconds(10), m)
      .then(
          [self, rp, m, what](caf::ok_atom) mutable {
            if (already_in_force(self, m)) { // replicated meanwhile (a cluster)
              rp.deliver(maintenance_reply{true, what + " is in maintenance", m.until_ms});
              return;
            }
            if (clustered(self))
              self->state.unconfirmed_windows.insert({m.service.value, m.instance.value});
            apply_maintenance(self, m);
            publish_event(*self->state.peers,
                          {0, 0, event_kind::maintenance, m.service, m.instance, switchover_id{0},
                           fmt::format("{} in maintenance by {}: {}{}", what, m.principal, m.reason,
                                       m.until_ms > 0 ? " (expires)" : " (until turned off)")});
            rp.deliver(maintenance_reply{true, what + " is in maintenance", m.until_ms});
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
}

void persist_and_end(coord_ptr self, caf::response_promise rp, maintenance_request req,
                     std::string what) {
  auto store = self->state.peers->store();
  self->request(store, std::chrono::seconds(10), maintenance_clear{req.service, req.instance})
      .then(
          [self, rp, req, what](caf::ok_atom) mutable {
            // The replicated windows may have ended it already (a cluster).
            if (window_in_force(self->state.services[req.service.value], req.instance.value))
              end_maintenance(self, req.service, req.instance, "turned off by " + req.principal);
            rp.deliver(maintenance_reply{true, what + " is out of maintenance", 0});
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
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
  const bool replicate = clustered(self);
  if (!req.enable) {
    if (window_in_force(view, inst.value) == nullptr) {
      rp.deliver(maintenance_reply{false, what + " was not in maintenance", 0});
      return rp;
    }
    if (!replicate) {
      persist_and_end(self, rp, req, what);
      return rp;
    }
    auto& authority = self->state.peers->authority();
    off_the_actor(
        self, [&authority, req] { return authority.clear_maintenance(req.service, req.instance); },
        [self, rp, req, what](const caf::error& err) mutable {
          if (err)
            rp.deliver(make_sy_error(sy_errc::failover_blocked,
                                     "maintenance not changed: the cluster did not record its "
                                     "end: " +
                                         describe(err)));
          else
            persist_and_end(self, rp, req, what);
        });
    return rp;
  }
  auto now = wall_clock_ms();
  maintenance_record m{req.service,   inst, req.reason,
                       req.principal, now,  req.duration_ms > 0 ? now + req.duration_ms : 0};
  // Persisted first: a window that would vanish with a restart (or with the
  // leader, in a cluster) is not one.
  if (!replicate) {
    persist_and_apply(self, rp, m, what);
    return rp;
  }
  auto& authority = self->state.peers->authority();
  off_the_actor(
      self, [&authority, m] { return authority.set_maintenance(m); },
      [self, rp, m, what](const caf::error& err) mutable {
        if (err)
          rp.deliver(make_sy_error(sy_errc::failover_blocked,
                                   "maintenance not changed: the cluster did not record it: " +
                                       describe(err)));
        else
          persist_and_apply(self, rp, m, what);
      });
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
  // In a cluster every replica ends it on its own clock; the leader also
  // deletes its key (best effort: an expired window is ignored where read).
  auto& authority = self->state.peers->authority();
  if (clustered(self) && authority.may_act()) {
    auto service = e.service;
    auto instance = e.instance;
    off_the_actor(
        self,
        [&authority, service, instance] { return authority.clear_maintenance(service, instance); },
        [](const caf::error& err) {
          if (err)
            spdlog::warn("expired maintenance: its replicated key is not deleted yet: {}",
                         describe(err));
        });
  }
  end_maintenance(self, e.service, e.instance, "expired");
}

void apply_replicated_windows(coord_ptr self, const maintenance_list& windows) {
  auto& st = self->state;
  std::map<window_key, maintenance_record> in_force;
  for (const auto& [name, view] : st.services) {
    if (view.maintenance)
      in_force[{name, ""}] = *view.maintenance;
    for (const auto& [instance, w] : view.instance_maintenance)
      in_force[{name, instance}] = w;
  }
  auto sync = sync_windows(in_force, windows, st.unconfirmed_windows, wall_clock_ms());
  for (const auto& key : sync.confirmed)
    st.unconfirmed_windows.erase(key);
  // Ended elsewhere (by the leader, or by another leader before it).
  for (const auto& [service, instance] : sync.end)
    end_maintenance(self, service_id{service}, instance_id{instance},
                    "ended by the cluster's leader");
  for (auto& w : sync.take) {
    if (!st.services.count(w.service.value))
      continue; // not configured here
    auto what = window_target(w.instance);
    publish_event(
        *st.peers,
        {0, 0, event_kind::maintenance, w.service, w.instance, switchover_id{0},
         fmt::format("{} in maintenance by {} (replicated): {}", what, w.principal, w.reason)});
    apply_maintenance(self, std::move(w));
  }
}

} // namespace switchyard::actors::coordinator

// A configuration reload: refused while it would disturb a switchover,
// persisted, handed to the runner and classifier, then applied; what waited
// for it (or for the topology at start) is replayed afterwards.
#include <set>

#include <caf/all.hpp>

#include "actors/event_hub.hpp"
#include "actors/failover_coordinator_detail.hpp"
#include "messages/error.hpp"

namespace switchyard::actors::coordinator {

// Replays what waited for the topology or a reload, now that decisions may be made.
void replay_early(coord_ptr self) {
  auto early = std::move(self->state.early);
  self->state.early.clear();
  for (const auto& d : early)
    handle_detection(self, d);
  // Through the mailbox, answered by the switchover_request handler as usual.
  auto requests = std::move(self->state.early_requests);
  self->state.early_requests.clear();
  for (auto& [req, rp] : requests)
    rp.delegate(caf::actor_cast<coordinator_actor>(self), std::move(req));
}

// A reload: checked here (the one place that knows what is in flight), then
// persisted by the store, handed to the runner (which gets it before any job
// this coordinator sends later), then applied. Nothing changes if any step fails.
caf::result<caf::ok_atom> handle_reload(coord_ptr self, config_update update) {
  auto& st = self->state;
  if (!st.topology_loaded || st.reloading)
    return make_sy_error(sy_errc::unspecified,
                         "still starting or another reload is running; try again");
  if (auto refusal = st.reload_refusal(*update.cfg))
    return make_sy_error(sy_errc::invalid_config, *refusal);
  auto store = self->state.peers->store();
  if (!store)
    return make_sy_error(sy_errc::storage_failure, "the store is not running: nothing reloaded");
  st.reloading = true;
  auto rp = self->make_response_promise<caf::ok_atom>();
  auto fail = [self, rp](const caf::error& err) mutable {
    self->state.reloading = false;
    replay_early(self);
    rp.deliver(make_sy_error(sy_errc::storage_failure,
                             "the new configuration could not be recorded, nothing was "
                             "reloaded: " +
                                 describe(err)));
  };
  // Recorded first, then the topology is read back: a service added back keeps
  // the primary it had when it was last configured.
  self->request(store, std::chrono::seconds(10), update)
      .then(
          [self, rp, update, store, fail](caf::ok_atom) mutable {
            self->request(store, std::chrono::seconds(10), load_topo_atom::value)
                .then(
                    [self, rp, update](topology_list& topo) mutable {
                      if (auto runner = self->state.peers->runner())
                        self->send(runner, update);
                      // New services and dependencies, before their topology.
                      if (auto cls = self->state.peers->classifier())
                        self->send(cls, update);
                      std::set<std::string> known;
                      for (const auto& [name, view] : self->state.services)
                        known.insert(name);
                      self->state.apply_config(update.cfg);
                      topology_list added;
                      for (auto& t : topo)
                        if (!known.count(t.service.value))
                          added.push_back(std::move(t));
                      self->state.apply_topology(added, self->clock().now(), wall_clock_ms());
                      for (const auto& [name, view] : self->state.services)
                        if (!known.count(name)) {
                          tell_classifier(self, name);
                          self->send(self, ready_atom::value, service_id{name});
                        }
                      self->state.reloading = false;
                      replay_early(self);
                      rp.deliver(caf::ok_atom::value);
                    },
                    [fail](caf::error& err) mutable { fail(err); });
          },
          [fail](caf::error& err) mutable { fail(err); });
  return rp;
}

} // namespace switchyard::actors::coordinator

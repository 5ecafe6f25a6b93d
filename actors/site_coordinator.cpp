#include "actors/site_coordinator.hpp"

#include <utility>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/control_authority.hpp"
#include "actors/site_procedure.hpp"
#include "messages/error.hpp"

namespace switchyard::actors {

namespace {

// One operation, then it quits: requests are answered by the procedure's
// result; the recovery at start is a message without a reply.
void site_worker(caf::blocking_actor* self, std::shared_ptr<const config::switchyard_config> cfg,
                 peers_ptr peers) {
  site_procedure procedure{self, std::move(cfg), std::move(peers)};
  self->receive(
      [&](site_request& req) -> caf::result<site_record> {
        auto r = req.dry_run ? procedure.assess(req) : procedure.run(req);
        if (!r)
          return r.error();
        return std::move(*r);
      },
      [&](drill_request& req) -> caf::result<drill_report> {
        auto r = procedure.drill(req);
        if (!r)
          return r.error();
        return std::move(*r);
      },
      [&](resume_atom) { procedure.recover(); },
      [&](cluster_atom, site_takeover& t) { procedure.take_over(t); });
}

/// How long after start the recovery begins: the coordinator asks the store
/// for the topology first (a request sent later queues behind it anyway).
constexpr auto recovery_delay = std::chrono::milliseconds(200);

} // namespace

site_coordinator_actor::behavior_type
site_coordinator(site_coordinator_actor::stateful_pointer<site_coordinator_state> self,
                 std::shared_ptr<config_holder> config, peers_ptr peers) {
  self->state.config = std::move(config);
  self->state.peers = std::move(peers);
  // Cluster mode: a leader with nothing running takes over the site
  // switchover a former leader left in flight.
  auto take_over = [self] {
    auto& st = self->state;
    if (st.replicated.leader_id.empty() || st.worker || !st.checked ||
        !st.peers->authority().may_act())
      return;
    // Once: a refused claim (it ended meanwhile) is not tried again until
    // etcd says again that it is in flight.
    auto t = std::exchange(st.replicated, site_takeover{});
    auto worker =
        self->spawn<caf::detached + caf::monitored>(site_worker, st.config->get(), st.peers);
    st.worker = worker.address();
    st.running = fmt::format("the takeover of site switchover #{} of {}", t.record.id, t.leader_id);
    caf::anon_send(worker, cluster_atom::value, std::move(t));
  };
  self->set_down_handler([self, take_over](const caf::down_msg& dm) {
    if (dm.source == self->state.worker) {
      self->state.worker = caf::actor_addr{};
      self->state.running.clear();
      take_over();
    }
  });
  // Starts one worker for `what`, or refuses while another runs.
  auto start = [self](const std::string& what) -> caf::expected<site_coordinator_actor> {
    auto& st = self->state;
    if (!st.checked)
      return make_sy_error(sy_errc::already_in_progress,
                           "still starting: looking for site switchovers left unfinished by a "
                           "previous switchyardd; try again in a moment");
    if (st.worker)
      return make_sy_error(sy_errc::already_in_progress,
                           fmt::format("{} is running; one site operation at a time", st.running));
    auto worker =
        self->spawn<caf::detached + caf::monitored>(site_worker, st.config->get(), st.peers);
    st.worker = worker.address();
    st.running = what;
    return caf::actor_cast<site_coordinator_actor>(worker);
  };
  self->delayed_send(self, recovery_delay, resume_atom::value);
  return {
      [self, start](site_request& req) -> caf::result<site_record> {
        // An assessment only reads: it does not wait for a running operation.
        if (req.dry_run) {
          auto worker =
              self->spawn<caf::detached>(site_worker, self->state.config->get(), self->state.peers);
          return self->delegate(caf::actor_cast<site_coordinator_actor>(worker), std::move(req));
        }
        auto worker = start(fmt::format("a site {} {} -> {}", to_string(req.operation),
                                        req.from_site, req.to_site));
        if (!worker)
          return worker.error();
        return self->delegate(*worker, std::move(req));
      },
      [self, start](drill_request& req) -> caf::result<drill_report> {
        auto worker = start(fmt::format("a drill of site {}", req.site));
        if (!worker)
          return worker.error();
        return self->delegate(*worker, std::move(req));
      },
      [self, take_over](cluster_atom, site_takeover& t) {
        self->state.replicated = std::move(t);
        take_over();
      },
      [take_over](cluster_atom) { take_over(); },
      [self, start, take_over](resume_atom) {
        auto store = self->state.peers->store();
        auto retry = [self] { self->delayed_send(self, recovery_delay, resume_atom::value); };
        if (!store) {
          retry();
          return;
        }
        self->request(store, std::chrono::seconds(10), site_query{0, 0, true})
            .then(
                [self, start, take_over](site_record_list& unfinished) {
                  self->state.checked = true;
                  if (unfinished.empty()) {
                    take_over();
                    return;
                  }
                  auto worker = start("the recovery of unfinished site switchovers");
                  if (worker)
                    self->send(*worker, resume_atom::value);
                },
                [retry](caf::error& err) {
                  spdlog::error("site coordinator: reading unfinished site switchovers failed, "
                                "retrying: {}",
                                describe(err));
                  retry();
                });
      },
  };
}

} // namespace switchyard::actors

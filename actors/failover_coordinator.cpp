#include "actors/failover_coordinator.hpp"

#include <functional>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/directory.hpp"
#include "messages/error.hpp"

namespace switchyard::actors {

void failover_coordinator_state::init(std::shared_ptr<const config::switchyard_config> config) {
  cfg = std::move(config);
  for (const auto& svc : cfg->services) {
    auto& view = services[svc.name];
    view.settings = &svc;
    for (const auto& inst : svc.instances) {
      view.health[inst.name] = health_status::unknown;
      if (inst.role == config::instance_role::primary)
        view.primary = inst.name;
    }
    view.epoch = 1;
    strategies[svc.name] = strategies::make_strategy(svc);
  }
}

void failover_coordinator_state::apply_topology(const topology_list& topo) {
  for (const auto& t : topo) {
    auto i = services.find(t.service.value);
    if (i == services.end() || !i->second.health.count(t.primary.value))
      continue; // not configured (any more): the configured primary stands
    i->second.primary = t.primary.value;
    i->second.epoch = t.current_epoch.value;
  }
  topology_loaded = true;
}

service_state_list failover_coordinator_state::snapshot(coord_clock::time_point now) const {
  service_state_list result;
  for (const auto& [svc_name, view] : services) {
    service_state s;
    s.service = service_id{svc_name};
    s.primary = instance_id{view.primary};
    s.current_epoch = epoch{view.epoch};
    s.failover_in_flight = view.in_flight;
    s.in_block_period = view.last_failover && view.settings != nullptr &&
                        now - *view.last_failover < view.settings->block_period;
    for (const auto& [inst, status] : view.health)
      s.instances.push_back(instance_health{instance_id{inst}, status});
    if (auto d = last_decision.find(svc_name); d != last_decision.end())
      s.last_decision = d->second;
    result.push_back(std::move(s));
  }
  return result;
}

namespace {

using coord_ptr = coordinator_actor::stateful_pointer<failover_coordinator_state>;

void tell_classifier(coord_ptr self, const std::string& service) {
  const auto& view = self->state.services[service];
  if (auto cls = lookup<classifier_actor>(self->system(), names::classifier))
    self->send(cls, service_topology{service_id{service}, instance_id{view.primary},
                                     epoch{view.epoch}, caf::timestamp{}});
}

using done_fn = std::function<void(const failover_result&)>;

// Persists the plan, hands the job to the runner, and applies the outcome to
// the service's topology. `done` is called exactly once, whatever happens.
void start_switchover(coord_ptr self, switchover_kind kind, const failure_detection& d,
                      failover_plan plan, std::string reason, done_fn done) {
  const auto service = plan.service.value;
  const char* what = kind == switchover_kind::automatic_failover ? "failover" : "switchover";
  auto& view = self->state.services[service];
  view.in_flight = true;
  view.last_failover = self->clock().now();
  auto finish = [self, service, what, done](failover_result r) {
    auto& v = self->state.services[service];
    v.in_flight = false;
    if (r.success) {
      v.primary = r.new_primary.value;
      v.epoch = r.new_epoch.value;
      self->state.pending.erase(service);
      self->state.last_decision[service] =
          fmt::format("{} completed: {} is primary (epoch {})", what, v.primary, v.epoch);
      spdlog::info("{}: {} completed (switchover #{}): {} is now primary, epoch {}", service, what,
                   r.switchover.value, v.primary, v.epoch);
      tell_classifier(self, service);
    } else {
      self->state.last_decision[service] = fmt::format("{} failed: {}", what, r.detail);
      spdlog::error("{}: {} failed: {}", service, what, r.detail);
    }
    done(r);
  };
  auto fail = [finish, service](std::string why) {
    failover_result r;
    r.service = service_id{service};
    r.detail = std::move(why);
    finish(std::move(r));
  };
  auto store = lookup<store_actor>(self->system(), names::store);
  if (!store) {
    fail("store unavailable: plan could not be persisted, nothing was done");
    return;
  }
  // The plan is persisted before anything runs; the runner journals every step.
  self->request(store, std::chrono::seconds(10), plan)
      .then(
          [self, kind, d, plan, reason, service, what, finish, fail](std::int64_t version) {
            auto& v = self->state.services[service];
            failover_job job;
            job.kind = kind;
            job.detection = d;
            job.plan = plan;
            job.plan_version = version;
            job.from = instance_id{v.primary};
            job.to = plan.secondary_targets.front();
            job.new_epoch = epoch{v.epoch + 1};
            job.reason = reason;
            auto runner = lookup<runner_actor>(self->system(), names::runner);
            if (!runner) {
              fail("failover runner unavailable, nothing was done");
              return;
            }
            spdlog::info("{}: executing {} plan v{}: {} -> {} (epoch {})", service, what, version,
                         job.from.value, job.to.value, job.new_epoch.value);
            self->request(runner, caf::infinite, std::move(job))
                .then([finish](failover_result& r) { finish(std::move(r)); },
                      [fail](caf::error& err) { fail(describe(err)); });
          },
          [fail](caf::error& err) {
            fail("plan could not be persisted, nothing was done: " + describe(err));
          });
}

void handle_detection(coord_ptr self, const failure_detection& d) {
  auto& st = self->state;
  auto i = st.services.find(d.service.value);
  if (i == st.services.end()) {
    spdlog::warn("detection for unknown service {}", d.service.value);
    return;
  }
  const auto& service = d.service.value;
  auto& view = i->second;
  if (d.type == failure_type::recovered && d.instance.value == view.primary)
    st.pending.erase(service);
  auto dec = decide(view, d, self->clock().now(), *st.strategies[service]);
  st.last_decision[service] = fmt::format("{}: {}", to_string(dec.what), dec.reason);
  switch (dec.what) {
  case verdict::ignore:
    spdlog::debug("{}: detection #{} ignored: {}", service, d.id.value, dec.reason);
    return;
  case verdict::blocked:
    spdlog::warn("{}: failover blocked: {}", service, dec.reason);
    return;
  case verdict::no_target:
    st.pending[service] = d;
    spdlog::error("{}: cannot fail over yet: {} (will retry when a standby is healthy)", service,
                  dec.reason);
    return;
  case verdict::fail_over:
    st.pending.erase(service);
    spdlog::warn("{}: decision: fail over: {}", service, dec.reason);
    start_switchover(self, switchover_kind::automatic_failover, d, std::move(*dec.plan), d.evidence,
                     [](const failover_result&) {});
    return;
  }
}

} // namespace

coordinator_actor::behavior_type
failover_coordinator(coordinator_actor::stateful_pointer<failover_coordinator_state> self,
                     std::shared_ptr<const config::switchyard_config> cfg) {
  self->state.init(std::move(cfg));
  self->send(self, load_topo_atom::value);
  return {
      [self](load_topo_atom) {
        auto store = lookup<store_actor>(self->system(), names::store);
        auto retry = [self] {
          self->delayed_send(self, std::chrono::seconds(1), load_topo_atom::value);
        };
        if (!store) {
          retry();
          return;
        }
        self->request(store, std::chrono::seconds(10), load_topo_atom::value)
            .then(
                [self](topology_list& topo) {
                  self->state.apply_topology(topo);
                  for (const auto& [name, view] : self->state.services) {
                    spdlog::info("{}: primary {} (epoch {})", name, view.primary, view.epoch);
                    tell_classifier(self, name);
                  }
                  auto early = std::move(self->state.early);
                  self->state.early.clear();
                  for (const auto& d : early)
                    handle_detection(self, d);
                },
                [retry](caf::error& err) {
                  spdlog::error("coordinator: loading topology failed: {}; retrying",
                                describe(err));
                  retry();
                });
      },
      [self](health_transition& t) {
        auto& st = self->state;
        auto i = st.services.find(t.service.value);
        if (i == st.services.end())
          return;
        i->second.health[t.instance.value] = t.to;
        // A standby that turns healthy may unblock a failover that had no target.
        auto p = st.pending.find(t.service.value);
        if (p != st.pending.end() && t.to == health_status::healthy &&
            t.instance.value != i->second.primary) {
          auto d = p->second;
          handle_detection(self, d);
        }
      },
      [self](failure_detection& d) {
        if (!self->state.topology_loaded) {
          self->state.early.push_back(std::move(d));
          return;
        }
        handle_detection(self, d);
      },
      [self](switchover_request& req) -> caf::result<switchover_reply> {
        auto& st = self->state;
        if (!st.topology_loaded) // the file's primary may not be the real one yet
          return make_sy_error(sy_errc::unspecified,
                               "still starting: the topology is not loaded yet; try again");
        auto i = st.services.find(req.service.value);
        if (i == st.services.end())
          return make_sy_error(sy_errc::unknown_service,
                               fmt::format("no service named '{}'", req.service.value));
        auto dec = check_switchover(i->second, req.target.value, req.force, self->clock().now(),
                                    *st.strategies[req.service.value]);
        switchover_reply reply;
        reply.detail = dec.reason;
        if (dec.what != verdict::fail_over) {
          spdlog::warn("{}: switchover requested by {} refused: {}", req.service.value,
                       req.principal, dec.reason);
          return reply;
        }
        reply.accepted = true;
        reply.plan = *dec.plan;
        if (req.dry_run)
          return reply;
        spdlog::warn("{}: switchover requested by {}: {} ({})", req.service.value, req.principal,
                     dec.reason, req.reason);
        auto rp = self->make_response_promise<switchover_reply>();
        auto reason = fmt::format("planned by {}: {}", req.principal, req.reason);
        start_switchover(self, switchover_kind::planned_switchover, failure_detection{},
                         std::move(*dec.plan), std::move(reason),
                         [rp, reply](const failover_result& r) mutable {
                           reply.executed = r.switchover.value != 0;
                           reply.success = r.success;
                           reply.switchover = r.switchover;
                           reply.detail = r.detail;
                           rp.deliver(reply);
                         });
        return rp;
      },
      [self](get_state_atom) -> service_state_list {
        return self->state.snapshot(self->clock().now());
      },
  };
}

} // namespace switchyard::actors

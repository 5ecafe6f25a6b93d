// The execution path: an accepted plan handed to the runner as a job, its
// result applied to the service's topology, and a returning old primary made
// a replica of the new one (rejoin).
#include <functional>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/failover_coordinator_detail.hpp"
#include "actors/fault_injection.hpp"
#include "messages/error.hpp"
#include "rules/coordinator_rules.hpp"

namespace switchyard::actors::coordinator {

void tell_classifier(coord_ptr self, const std::string& service) {
  const auto& view = self->state.services[service];
  if (auto cls = self->state.peers->classifier())
    self->send(cls, service_topology{service_id{service}, instance_id{view.primary},
                                     epoch{view.epoch}, caf::timestamp{}});
}

// What happens when the runner reports the end of a switchover of `service`:
// the topology changes only on success; `done` is called exactly once.
std::function<void(failover_result)> on_switchover_end(coord_ptr self, const std::string& service,
                                                       const char* what, done_fn done) {
  return [self, service, what, done](failover_result r) {
    auto& st = self->state;
    auto& v = st.services[service];
    auto end = apply_switchover_end(v, r, what);
    st.note_busy(service);
    st.last_decision[service] = std::move(end.decision);
    if (r.success) {
      st.pending.erase(service);
      spdlog::info("{}: {} completed (switchover #{}): {} is now primary, epoch {}", service, what,
                   r.switchover.value, v.primary, v.epoch);
      tell_classifier(self, service);
      if (end.rejoin) // it came back while the failover ran: its return was not acted on then
        maybe_rejoin(self, service, *end.rejoin);
    } else {
      spdlog::error("{}: {} failed: {}", service, what, r.detail);
      if (!r.alert.empty())
        spdlog::critical("{}: ALERT: {}", service, r.alert);
    }
    done(r);
    retry_pending(self, hold::concurrency, service); // a slot is free
  };
}

// Hands the job (and its plan, persisted by the runner's first write) to the
// runner, and applies the outcome to the service's topology. `done` is called exactly once,
// whatever happens.
void start_switchover(coord_ptr self, switchover_kind kind, const failure_detection& d,
                      failover_plan plan, std::string reason, done_fn done,
                      decision_record decision) {
  const auto service = plan.service.value;
  const char* what = kind == switchover_kind::planned_switchover ? "switchover" : "failover";
  auto& view = self->state.services[service];
  view.in_flight = true;
  self->state.note_busy(service);
  view.last_failover = self->clock().now();
  self->state.started.record(*view.last_failover);
  auto finish = on_switchover_end(self, service, what, std::move(done));
  auto fail = [finish, service](std::string why) {
    failover_result r;
    r.service = service_id{service};
    r.detail = std::move(why);
    finish(std::move(r));
  };
  failover_job job;
  job.kind = kind;
  job.detection = d;
  job.plan = std::move(plan);
  job.plan_version = 0; // new: the runner persists the plan with the switchover's opening row
  job.from = instance_id{view.primary};
  job.to = job.plan.secondary_targets.front();
  job.new_epoch = epoch{view.epoch + 1};
  job.reason = std::move(reason);
  job.decision = std::move(decision);
  auto runner = self->state.peers->runner();
  if (!runner) {
    if (auto store = self->state.peers->store(); store && !job.decision.verdict.empty())
      caf::anon_send(store, std::move(job.decision)); // the decision is kept all the same
    fail("failover runner unavailable, nothing was done");
    return;
  }
  spdlog::info("{}: executing {} plan: {} -> {} (epoch {})", service, what, job.from.value,
               job.to.value, job.new_epoch.value);
  // The runner's first write, before anything runs, persists the plan and
  // opens the switchover in one transaction; then it journals every step.
  trace_hop(service, "job_sent");
  self->request(runner, caf::infinite, std::move(job))
      .then([finish](failover_result& r) { finish(std::move(r)); },
            [fail](caf::error& err) { fail(describe(err)); });
}

// An instance healthy again while another is primary (a returning old
// primary) is made a replica of the primary by the strategy's rejoin actions
// on the runner — not while a switchover of the service runs (the runner
// would race it), and once at a time per instance.
void maybe_rejoin(coord_ptr self, const std::string& service, const std::string& instance) {
  auto& st = self->state;
  auto i = st.services.find(service);
  if (i == st.services.end() || i->second.settings->strategy.rejoin.empty())
    return;
  auto& view = i->second;
  auto key = service + "/" + instance;
  if (!st.topology_loaded || view.primary.empty() || instance == view.primary || view.in_flight ||
      view.checking || st.rejoining.count(key) > 0)
    return;
  if (st.shadow(service)) {
    note_decision(self, service,
                  fmt::format("{} is healthy again while {} is primary: would make it a replica "
                              "(shadow mode: nothing was done)",
                              instance, view.primary));
    return;
  }
  if (!st.peers->authority().may_act()) { // the leader's replica rejoins it
    spdlog::info("{}: {} is healthy again: not made a replica here: {}", service, instance,
                 not_leading(st.peers->authority()));
    return;
  }
  auto runner = self->state.peers->runner();
  if (!runner) {
    spdlog::error("{}: {} returned but the runner is not running: not made a replica", service,
                  instance);
    return;
  }
  st.rejoining.insert(key);
  note_decision(self, service,
                fmt::format("{} is healthy again while {} is primary: making it a replica",
                            instance, view.primary));
  self->request(
          runner, caf::infinite,
          rejoin_request{service_id{service}, instance_id{instance}, instance_id{view.primary}})
      .then(
          [self, service, instance, key](rejoin_outcome& out) {
            self->state.rejoining.erase(key);
            auto text =
                fmt::format("{} rejoin {}: {}{}", instance, out.ok ? "done" : "FAILED", out.detail,
                            out.divergence.empty() ? "" : " (diverged: " + out.divergence + ")");
            spdlog::log(out.ok ? spdlog::level::info : spdlog::level::err, "{}: {}", service, text);
            note_decision(self, service, text);
          },
          [self, service, key](caf::error& err) {
            self->state.rejoining.erase(key);
            spdlog::error("{}: rejoin could not run: {}", service, describe(err));
          });
}

} // namespace switchyard::actors::coordinator

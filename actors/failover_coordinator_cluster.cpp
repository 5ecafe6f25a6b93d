// Cluster mode (control_authority.hpp): the replicated primaries, and what a
// change of leadership releases. Every replica's coordinator follows the
// topology the leader writes to etcd, so that the replica that leads next
// starts from the primaries the last one left, not from its own stale copy.
#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/failover_coordinator_detail.hpp"
#include "messages/error.hpp"

namespace switchyard::actors::coordinator {

void apply_replicated(coord_ptr self, const topology_list& topo) {
  auto& st = self->state;
  for (const auto& t : topo) {
    auto i = st.services.find(t.service.value);
    if (i == st.services.end())
      continue;
    auto& view = i->second;
    // This replica's own switchover of it is running: its end decides.
    if (view.in_flight)
      continue;
    if (t.current_epoch.value < view.epoch ||
        (t.current_epoch.value == view.epoch && t.primary.value == view.primary))
      continue;
    if (!view.health.count(t.primary.value)) {
      spdlog::error("{}: the replicated primary {} (epoch {}) is not configured here; keeping {}",
                    t.service.value, t.primary.value, t.current_epoch.value, view.primary);
      continue;
    }
    auto before = view.primary;
    view.primary = t.primary.value;
    view.epoch = t.current_epoch.value;
    // A failure of the former primary held here is no longer this primary's.
    if (auto p = st.pending.find(t.service.value);
        p != st.pending.end() && p->second.instance.value != view.primary) {
      st.pending.erase(p);
      st.held_by.erase(t.service.value);
    }
    spdlog::info("{}: primary {} (epoch {}) as replicated by the leader (was {})", t.service.value,
                 view.primary, view.epoch, before);
    note_decision(
        self, t.service.value,
        fmt::format("replicated topology: {} is primary (epoch {})", view.primary, view.epoch));
    tell_classifier(self, t.service.value);
  }
}

void on_leadership_change(coord_ptr self) {
  if (!self->state.peers->authority().may_act())
    return;
  spdlog::debug("coordinator: this replica may act: deciding again on failures held back");
  take_over_left(self);
  retry_pending(self, hold::leadership, {});
  retry_pending(self, hold::quorum, {}); // the replicas' views changed, perhaps
}

namespace {

// The plan of switchover `i` made again from this replica's configuration:
// the same strategy from `from` to `to` gives the same steps. "" and the plan,
// or why it cannot be carried on here.
std::pair<std::string, failover_plan> replan(coord_ptr self, const interrupted_switchover& i) {
  auto& st = self->state;
  const auto& sw = i.switchover;
  auto& view = st.services[sw.service.value];
  strategies::planning_input in;
  in.service = view.settings;
  in.current_primary = sw.from.value;
  in.health = view.health;
  in.health[sw.to.value] = health_status::healthy; // decided already: its target stands
  in.preferred_target = sw.to.value;
  in.old_primary_cooperates = sw.kind == switchover_kind::planned_switchover;
  auto plan = st.strategy(sw.service.value).plan(in);
  if (!plan)
    return {"its plan cannot be made here: " + describe(plan.error()), {}};
  if (plan->secondary_targets.empty() || plan->secondary_targets.front() != sw.to)
    return {fmt::format("its plan here would not promote {}", sw.to.value), {}};
  for (const auto& done : i.steps) {
    auto same = std::find_if(plan->steps.begin(), plan->steps.end(), [&](const plan_step& s) {
      return s.sequence == done.sequence && s.name == done.name;
    });
    if (same == plan->steps.end())
      return {fmt::format("step {} {} is not in its plan here (do the replicas' configurations "
                          "differ?)",
                          done.sequence, done.name),
              {}};
  }
  return {"", std::move(*plan)};
}

// Carries a former leader's switchover on as a new one of this replica's:
// the steps its intent records as done are not run again, a started one is
// run again (actions are idempotent), as after a restart.
void take_over(coord_ptr self, const interrupted_switchover& i) {
  const auto& sw = i.switchover;
  const auto& service = sw.service.value;
  auto& view = self->state.services[service];
  const char* what = sw.kind == switchover_kind::planned_switchover ? "switchover" : "failover";
  auto [problem, plan] = replan(self, i);
  if (problem.empty() && view.primary != sw.from.value)
    problem = fmt::format("the replicated primary is {}, not {}", view.primary, sw.from.value);
  if (!problem.empty()) {
    auto text = fmt::format("cannot carry on {} ({} -> {}): {}; no other switchover of {} may "
                            "begin until its intent is removed by hand",
                            sw.reason, sw.from.value, sw.to.value, problem, service);
    spdlog::critical("{}: {}", service, text);
    note_decision(self, service, text);
    return;
  }
  failover_job job;
  job.kind = sw.kind;
  job.plan = std::move(plan);
  job.from = sw.from;
  job.to = sw.to;
  job.new_epoch = sw.run_epoch;
  job.reason = "taken over: " + sw.reason + ", whose leader is gone";
  job.takeover = sw.id;
  for (const auto& s : i.steps)
    job.journaled.push_back(journaled_step{s.sequence, s.name, s.status});
  auto text =
      fmt::format("taking over {} ({} -> {}, epoch {}): {} of its {} steps were done", sw.reason,
                  sw.from.value, sw.to.value, sw.run_epoch.value,
                  std::count_if(i.steps.begin(), i.steps.end(),
                                [](const auto& s) { return s.status == step_status::done; }),
                  job.plan.steps.size());
  spdlog::warn("{}: {}", service, text);
  note_decision(self, service, text);
  hand_to_runner(self, service, what, std::move(job));
}

} // namespace

void note_left_in_flight(coord_ptr self, interrupted_list& left) {
  auto& st = self->state;
  st.left_in_flight.clear();
  for (auto& i : left)
    st.left_in_flight[i.switchover.service.value] = std::move(i);
  take_over_left(self);
}

void take_over_left(coord_ptr self) {
  auto& st = self->state;
  if (!st.topology_loaded || !st.peers->authority().may_act())
    return;
  auto left = std::exchange(st.left_in_flight, {});
  for (const auto& [service, i] : left) {
    auto v = st.services.find(service);
    if (v == st.services.end()) {
      spdlog::error("{}: {} was left in flight, but the service is not configured here", service,
                    i.switchover.reason);
      continue;
    }
    if (v->second.in_flight || st.peers->jobs().running(service))
      continue; // this replica's own, running here
    take_over(self, i);
  }
}

std::string not_leading(const control_authority& authority) {
  auto v = authority.view();
  if (!v.leader_id.empty() && v.leader_id != v.member)
    return fmt::format("this replica ({}) does not lead; the leader ({}) decides", v.member,
                       v.leader_id);
  return fmt::format("this replica ({}) may not act: {}", v.member,
                     v.reason.empty() ? "no leader" : v.reason);
}

} // namespace switchyard::actors::coordinator

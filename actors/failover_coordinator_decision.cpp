// The decision path: failure detections and operators' requests to a
// decision (failover_policy), the strategy's pre-checks on the runner, and the
// accepted plan handed to execution (start_switchover).
#include <algorithm>
#include <functional>

#include <caf/all.hpp>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "actors/event_hub.hpp"
#include "actors/failover_coordinator_detail.hpp"
#include "actors/fault_injection.hpp"
#include "messages/error.hpp"
#include "rules/coordinator_rules.hpp"

namespace switchyard::actors::coordinator {

void note_decision(coord_ptr self, const std::string& service, std::string text) {
  publish_event(*self->state.peers, {0, 0, event_kind::decision, service_id{service}, instance_id{},
                                     switchover_id{0}, text});
  self->state.last_decision[service] = std::move(text);
}

// Journals a decision on a detection (shadow ones too), tells watchers and
// keeps it for status queries. Sent before any request this coordinator makes
// of the store afterwards, so it is written before the plan it leads to.
void record_decision(coord_ptr self, const failure_detection& d, const std::string& verdict_text,
                     const std::string& reason, bool shadow, std::string summary) {
  const auto& service = d.service.value;
  if (summary.empty())
    summary = fmt::format("detection #{}: {}: {}{}", d.id.value, verdict_text, reason,
                          shadow ? " (shadow mode)" : "");
  note_decision(self, service, std::move(summary));
  auto store = self->state.peers->store();
  if (!store) {
    spdlog::error("{}: decision on detection #{} not journaled: the store is not running", service,
                  d.id.value);
    return;
  }
  self->request(store, std::chrono::seconds(10),
                decision_record{0, d.service, d.id, verdict_text, shadow, reason, 0})
      .then([](std::int64_t) {},
            [service](caf::error& err) {
              spdlog::error("{}: decision not journaled: {}", service, describe(err));
            });
}

namespace {

using plan_fn = std::function<void(caf::expected<failover_plan>)>;

// Runs the strategy's pre-checks (e.g. replication lag against the RPO) on
// the runner, for the plan's candidates best first (only the first when the
// operator named it), and hands `done` the plan for the first candidate that
// passed — or why none did. While they run the service counts as busy, so
// nothing else starts for it and a reload leaves it alone.
void run_prechecks(coord_ptr self, const std::string& service, failover_plan plan,
                   switchover_kind kind, bool named_target, plan_fn done) {
  auto& view = self->state.services[service];
  if (!self->state.strategy(service).has_candidate_checks()) {
    done(std::move(plan));
    return;
  }
  auto runner = self->state.peers->runner();
  if (!runner) {
    done(make_sy_error(sy_errc::unspecified,
                       "the failover runner is not running: pre-checks could not run"));
    return;
  }
  candidate_check check{service_id{service}, instance_id{view.primary}, plan.secondary_targets};
  if (named_target)
    check.candidates.resize(1);
  view.checking = true;
  self->state.note_busy(service);
  self->request(runner, caf::infinite, std::move(check))
      .then(
          [self, service, plan, kind, done](candidate_verdict& v) {
            auto i = self->state.services.find(service);
            if (i == self->state.services.end())
              return; // cannot happen: a reload is refused while checks run
            i->second.checking = false;
            self->state.note_busy(service);
            if (v.chosen.value.empty()) {
              done(make_sy_error(sy_errc::no_failover_target,
                                 fmt::format("no candidate passed the pre-checks: {}",
                                             fmt::join(v.reasons, "; "))));
              return;
            }
            if (v.chosen == plan.secondary_targets.front()) {
              done(plan);
              return;
            }
            done(plan_for_target(i->second, v.chosen.value, kind, self->state.strategy(service)));
          },
          [self, service, done](caf::error& err) {
            self->state.services[service].checking = false;
            self->state.note_busy(service);
            done(make_sy_error(sy_errc::unspecified, "pre-checks could not run: " + describe(err)));
          });
}

void shadow_failover(coord_ptr self, const failure_detection& d, failover_plan plan,
                     std::string reason);

// After the pre-checks: decides once more (the primary may have recovered
// meanwhile) and starts the failover with the checked plan, or keeps the
// failure and looks at it again later (a lagging standby may catch up).
void fail_over_after_checks(coord_ptr self, const failure_detection& d,
                            caf::expected<failover_plan> plan) {
  const auto& service = d.service.value;
  auto& st = self->state;
  auto& view = st.services[service];
  const bool shadow = st.shadow(service);
  if (!plan) {
    st.keep_pending(d, hold::none);
    auto why = describe(plan.error());
    record_decision(self, d, to_string(verdict::no_target), "cannot fail over yet: " + why, shadow);
    spdlog::error("{}: cannot fail over yet: {} (looking again)", service, why);
    self->delayed_send(self, no_candidate_retry(view.settings->health_check), d);
    retry_pending(self, hold::concurrency, service); // its pre-checks no longer count
    return;
  }
  check_timers(self);
  auto now = self->clock().now();
  auto again = decide(view, d, now, st.strategy(service), st.safety_for(service, now));
  if (again.what != verdict::fail_over) {
    record_decision(self, d, to_string(again.what), "after the pre-checks: " + again.reason,
                    shadow);
    if (again.held != hold::none)
      st.keep_pending(d, again.held);
    retry_pending(self, hold::concurrency, service);
    return;
  }
  auto reason = fmt::format("primary {} unreachable: promote {} ({} steps)", d.instance.value,
                            plan->secondary_targets.front().value, plan->steps.size());
  if (shadow) {
    shadow_failover(self, d, std::move(*plan), std::move(reason));
    retry_pending(self, hold::concurrency, service); // nothing runs: its slot is free
    return;
  }
  // Journaled with the switchover's opening, in its transaction: the
  // decision costs no commit of its own between the failure and the first step.
  auto verdict_text = to_string(verdict::fail_over);
  note_decision(self, service,
                fmt::format("detection #{}: {}: {}", d.id.value, verdict_text, reason));
  start_switchover(
      self, switchover_kind::automatic_failover, d, std::move(*plan), d.evidence,
      [](const failover_result&) {},
      decision_record{0, d.service, d.id, verdict_text, false, reason, 0});
}

// Shadow mode: the plan is persisted as a real one would be, and the decision
// journaled and streamed as what would have happened; no job is started and
// the topology stays as it is.
void shadow_failover(coord_ptr self, const failure_detection& d, failover_plan plan,
                     std::string reason) {
  auto finish = [self, d, reason](const std::string& plan_note) {
    auto text = fmt::format("{}; {}", reason, plan_note);
    spdlog::warn("{}: shadow mode: would have failed over: {}", d.service.value, text);
    record_decision(
        self, d, "would fail over", text, true,
        fmt::format("detection #{}: would have failed over: {} (shadow mode)", d.id.value, text));
  };
  auto store = self->state.peers->store();
  if (!store) {
    finish("plan not saved: the store is not running; nothing was run");
    return;
  }
  self->request(store, std::chrono::seconds(10), std::move(plan))
      .then(
          [finish](std::int64_t version) {
            finish(fmt::format("plan v{} saved, nothing was run", version));
          },
          [finish](caf::error& err) {
            finish("plan not saved: " + describe(err) + "; nothing was run");
          });
}

} // namespace

// Decides again on the failures `why` held back, of every service but
// `except`, now that it may have ended.
void retry_pending(coord_ptr self, hold why, const std::string& except) {
  auto& st = self->state;
  for (const auto& d : held_back(st.pending, st.held_by, why, except))
    if (st.pending.count(d.service.value)) // handle_detection changes `pending`
      handle_detection(self, d);
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
  check_timers(self);
  // A site switchover is moving this service: it decides where the primary
  // goes; the failure is looked at again when the service is released.
  if (auto r = st.reserved.find(service);
      r != st.reserved.end() && d.affects_primary && d.type != failure_type::recovered) {
    auto why = fmt::format("reserved by site switchover #{}", r->second);
    record_decision(self, d, "blocked", why, st.shadow(service));
    spdlog::warn("{}: failover held: {}", service, why);
    st.keep_pending(d, hold::reserved);
    return;
  }
  const bool shadow = st.shadow(service);
  auto now = self->clock().now();
  auto dec = decide(view, d, now, st.strategy(service), st.safety_for(service, now));
  // Cluster mode: a replica that does not lead decides nothing; it keeps the
  // failure and decides again if it comes to lead (the leader acts meanwhile).
  if (dec.what == verdict::fail_over && !shadow && !st.peers->authority().may_act()) {
    auto why = not_leading(st.peers->authority());
    record_decision(self, d, "blocked", why, shadow);
    spdlog::info("{}: failover not decided here: {}", service, why);
    st.keep_pending(d, hold::leadership);
    return;
  }
  // Cluster mode: a primary counts as down only when a quorum of replicas
  // sees it down; one replica cut off from it is one vote, not a failover.
  if (dec.what == verdict::fail_over && d.type != failure_type::recovered) {
    if (auto c = st.peers->authority().confirm_down(service, d.instance.value); !c.confirmed) {
      auto why = fmt::format("{} is not objectively down: {}", d.instance.value, c.explanation);
      record_decision(self, d, "blocked", why, shadow);
      spdlog::warn("{}: failover held: {}", service, why);
      st.keep_pending(d, hold::quorum);
      return;
    }
  }
  // A failover is journaled once its plan passed the pre-checks (fail_over_after_checks).
  if (dec.what != verdict::fail_over)
    record_decision(self, d, to_string(dec.what), dec.reason, shadow);
  else if (st.strategy(service).has_candidate_checks())
    note_decision(self, service,
                  fmt::format("detection #{}: {}: {}; running the pre-checks", d.id.value,
                              shadow ? "would fail over" : "fail over", dec.reason));
  switch (dec.what) {
  case verdict::ignore:
    spdlog::debug("{}: detection #{} ignored: {}", service, d.id.value, dec.reason);
    return;
  case verdict::blocked:
    spdlog::warn("{}: {}failover blocked: {}", service, shadow ? "shadow mode: " : "", dec.reason);
    // Looked at again when what holds it ends, if the primary is still down then.
    if (dec.held != hold::none)
      st.keep_pending(d, dec.held);
    return;
  case verdict::no_target:
    st.keep_pending(d, hold::none);
    spdlog::error("{}: cannot fail over yet: {} (will retry when a standby is healthy)", service,
                  dec.reason);
    return;
  case verdict::fail_over:
    st.pending.erase(service);
    if (!shadow && restart_first(self, d))
      return; // decided again when the restart ends or its deadline passes
    spdlog::warn("{}: decision: {}: {}", service,
                 shadow ? "would fail over (shadow mode)" : "fail over", dec.reason);
    run_prechecks(self, service, std::move(*dec.plan), switchover_kind::automatic_failover, false,
                  [self, d](caf::expected<failover_plan> plan) {
                    fail_over_after_checks(self, d, std::move(plan));
                  });
    return;
  }
}

void on_detection(coord_ptr self, failure_detection& d) {
  trace_hop(d.service.value, "coordinator");
  if (!self->state.topology_loaded || self->state.reloading) {
    self->state.early.push_back(std::move(d));
    return;
  }
  handle_detection(self, d);
}

caf::result<switchover_reply> handle_switchover_request(coord_ptr self, switchover_request& req) {
  auto& st = self->state;
  if (!st.topology_loaded) { // the file's primary may not be the real one yet
    auto rp = self->make_response_promise<switchover_reply>();
    st.early_requests.emplace_back(std::move(req), rp);
    return rp;
  }
  if (st.reloading)
    return make_sy_error(sy_errc::unspecified,
                         "a configuration reload is being applied; try again in a moment");
  if (!req.dry_run && !st.peers->authority().may_act())
    return make_sy_error(sy_errc::unavailable, not_leading(st.peers->authority()));
  auto i = st.services.find(req.service.value);
  if (i == st.services.end())
    return make_sy_error(sy_errc::unknown_service,
                         fmt::format("no service named '{}'", req.service.value));
  if (auto r = st.reserved.find(req.service.value);
      r != st.reserved.end() && r->second != req.site_switchover) {
    switchover_reply refused;
    refused.detail = fmt::format("reserved by site switchover #{}: wait until it ends", r->second);
    return refused;
  }
  const bool planned = req.kind == switchover_kind::planned_switchover;
  const char* what = planned ? "switchover" : "forced failover";
  auto dec = check_switchover(i->second, req.target.value, req.force, self->clock().now(),
                              st.strategy(req.service.value), req.kind);
  if (dec.what != verdict::fail_over) {
    spdlog::warn("{}: {} requested by {} refused: {}", req.service.value, what, req.principal,
                 dec.reason);
    switchover_reply refused;
    refused.detail = dec.reason;
    return refused;
  }
  auto rp = self->make_response_promise<switchover_reply>();
  // The strategy's pre-checks run for dry runs too: they only read.
  run_prechecks(self, req.service.value, std::move(*dec.plan), req.kind, !req.target.value.empty(),
                [self, rp, req, what, planned,
                 reason = dec.reason](caf::expected<failover_plan> plan) mutable {
                  switchover_reply reply;
                  if (!plan) {
                    reply.detail = describe(plan.error());
                    spdlog::warn("{}: {} requested by {} refused: {}", req.service.value, what,
                                 req.principal, reply.detail);
                    rp.deliver(reply);
                    return;
                  }
                  reply.accepted = true;
                  reply.plan = *plan;
                  reply.detail = reason;
                  if (req.dry_run) {
                    rp.deliver(reply);
                    return;
                  }
                  spdlog::warn("{}: {} requested by {}: {} ({})", req.service.value, what,
                               req.principal, reason, req.reason);
                  note_decision(self, req.service.value,
                                fmt::format("{} requested by {}: {}", what, req.principal, reason));
                  auto journal_reason = fmt::format("{} by {}: {}", planned ? "planned" : "forced",
                                                    req.principal, req.reason);
                  start_switchover(self, req.kind, failure_detection{}, std::move(*plan),
                                   std::move(journal_reason),
                                   [rp, reply](const failover_result& r) mutable {
                                     reply.executed = r.switchover.value != 0;
                                     reply.success = r.success;
                                     reply.switchover = r.switchover;
                                     reply.detail = r.detail;
                                     rp.deliver(reply);
                                   });
                });
  return rp;
}

caf::result<caf::ok_atom> handle_reserve(coord_ptr self, const reserve_request& req) {
  auto& st = self->state;
  const auto& service = req.service.value;
  auto r = st.reserved.find(service);
  if (req.release) {
    if (r != st.reserved.end() && r->second == req.site_switchover) {
      st.reserved.erase(r);
      spdlog::info("{}: released by site switchover #{}", service, req.site_switchover);
      retry_pending(self, hold::reserved, {});
    }
    return caf::ok_atom::value;
  }
  auto i = st.services.find(service);
  if (i == st.services.end())
    return make_sy_error(sy_errc::unknown_service, fmt::format("no service named '{}'", service));
  if (r != st.reserved.end() && r->second != req.site_switchover)
    return make_sy_error(sy_errc::already_in_progress,
                         fmt::format("{} is reserved by site switchover #{}", service, r->second));
  if (i->second.in_flight || st.adopted.count(service))
    return make_sy_error(sy_errc::already_in_progress,
                         fmt::format("a switchover of {} is in progress", service));
  st.reserved[service] = req.site_switchover;
  spdlog::info("{}: reserved by site switchover #{}", service, req.site_switchover);
  return caf::ok_atom::value;
}

void on_health_transition(coord_ptr self, const health_transition& t) {
  auto& st = self->state;
  auto i = st.services.find(t.service.value);
  if (i == st.services.end())
    return;
  i->second.health[t.instance.value] = t.to;
  // Cluster mode: this replica's view, for the others' quorum.
  if (t.to == health_status::unhealthy || t.to == health_status::healthy)
    st.peers->authority().report(t.service.value, t.instance.value,
                                 t.to == health_status::unhealthy);
  report_readiness(self, t.service.value);
  if (t.to == health_status::healthy && !st.readiness[t.service.value].full)
    check_readiness(self, t.service.value); // the first real check, not in 30 s
  if (t.to == health_status::healthy)
    restarted_in_place(self, t.service.value, t.instance.value);
  if (wants_rejoin(t.from, t.to, t.reason))
    maybe_rejoin(self, t.service.value, t.instance.value);
  // A standby that turns healthy may unblock a failover that had no target.
  auto p = st.pending.find(t.service.value);
  if (p != st.pending.end() && t.to == health_status::healthy &&
      t.instance.value != i->second.primary) {
    auto d = p->second;
    handle_detection(self, d);
  }
}

} // namespace switchyard::actors::coordinator

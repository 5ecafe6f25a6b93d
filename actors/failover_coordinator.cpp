#include "actors/failover_coordinator.hpp"

#include <algorithm>
#include <functional>

#include <caf/all.hpp>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "actors/directory.hpp"
#include "actors/event_hub.hpp"
#include "actors/metrics.hpp"
#include "actors/running_jobs.hpp"
#include "messages/error.hpp"
#include "strategies/active_passive.hpp"

namespace switchyard::actors {

void failover_coordinator_state::init(std::shared_ptr<const config::switchyard_config> config) {
  services.clear();
  safety = config->orchestrator.safety;
  apply_config(std::move(config));
}

std::optional<std::string>
failover_coordinator_state::reload_refusal(const config::switchyard_config& next) const {
  for (const auto& [svc_name, view] : services) {
    const auto* after = next.find_service(svc_name);
    if (after != nullptr && *after == *view.settings)
      continue; // unchanged: a switchover of it may go on
    if (view.in_flight || view.checking)
      return fmt::format("service '{}' is switching over right now and would be {} by this "
                         "reload; try again when it has ended",
                         svc_name, after == nullptr ? "removed" : "changed");
    if (after == nullptr)
      continue;
    bool kept = false;
    for (const auto& inst : after->instances)
      kept = kept || inst.name == view.primary;
    if (!kept)
      return fmt::format("the new configuration removes {}, the current primary of '{}'; "
                         "switch over to another instance first",
                         view.primary, svc_name);
  }
  return std::nullopt;
}

void failover_coordinator_state::apply_config(
    std::shared_ptr<const config::switchyard_config> next) {
  std::map<std::string, service_view> before = std::move(services);
  services.clear();
  strategies.clear();
  for (const auto& svc : next->services) {
    auto& view = services[svc.name];
    auto old = before.find(svc.name);
    const bool known = old != before.end();
    std::map<std::string, health_status> old_health;
    if (known) {
      view = std::move(old->second); // primary, epoch, in flight, block period, maintenance
      old_health = std::move(view.health);
      view.health.clear();
    } else {
      view.epoch = 1;
    }
    view.settings = &svc;
    for (const auto& inst : svc.instances) {
      auto h = old_health.find(inst.name);
      view.health[inst.name] = h != old_health.end() ? h->second : health_status::unknown;
      if (!known && inst.role == config::instance_role::primary)
        view.primary = inst.name;
    }
    std::erase_if(view.instance_maintenance,
                  [&view](const auto& w) { return !view.health.count(w.first); });
    strategies[svc.name] = strategies::make_strategy(svc);
  }
  for (const auto& [svc_name, view] : before)
    if (!services.count(svc_name)) {
      pending.erase(svc_name);
      held_by.erase(svc_name);
      last_decision.erase(svc_name);
      unjournaled.erase(svc_name);
    }
  busy.clear(); // services gone are no longer busy; those kept stay as they were
  for (const auto& [svc_name, view] : services)
    if (view.in_flight || view.checking)
      busy.insert(svc_name);
  cfg = std::move(next);
}

void failover_coordinator_state::apply_topology(const topology_list& topo,
                                                coord_clock::time_point now,
                                                std::int64_t wall_now_ms) {
  for (const auto& t : topo) {
    auto i = services.find(t.service.value);
    if (i == services.end())
      continue;
    auto& view = i->second;
    // The latest failover, from the database's wall clock to this clock: the
    // block period holds across a restart.
    auto last_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.last_failover.time_since_epoch())
            .count();
    if (last_ms > 0) {
      auto at = now - std::chrono::milliseconds(std::max<std::int64_t>(0, wall_now_ms - last_ms));
      if (!view.last_failover || *view.last_failover < at)
        view.last_failover = at;
    }
    if (!view.health.count(t.primary.value))
      continue; // not configured (any more): the configured primary stands
    view.primary = t.primary.value;
    view.epoch = t.current_epoch.value;
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
    s.in_block_period = within_block_period(view, now).has_value();
    for (const auto& [inst, status] : view.health)
      s.instances.push_back(instance_health{instance_id{inst}, status});
    if (auto d = last_decision.find(svc_name); d != last_decision.end())
      s.last_decision = d->second;
    if (view.maintenance)
      s.maintenance.push_back(*view.maintenance);
    for (const auto& [inst, window] : view.instance_maintenance)
      s.maintenance.push_back(window);
    s.shadow = shadow(svc_name);
    s.tilt = tilt.why(now).value_or(std::string{});
    s.not_ready = readiness_problems(svc_name);
    if (auto r = readiness.find(svc_name); r != readiness.end())
      s.readiness_checked_ms = r->second.checked_ms;
    s.ready = s.readiness_checked_ms != 0 && s.not_ready.empty();
    result.push_back(std::move(s));
  }
  return result;
}

fleet_summary failover_coordinator_state::summary() const {
  fleet_summary result;
  result.services = static_cast<std::int32_t>(services.size());
  for (const auto& [svc_name, view] : services) {
    result.failovers_in_flight += view.in_flight ? 1 : 0;
    if (auto u = unjournaled.find(svc_name); u != unjournaled.end())
      for (const auto& [instance, why] : u->second)
        result.unjournaled.push_back(svc_name + ": " + why);
    for (const auto& [inst, status] : view.health) {
      ++result.instances;
      result.healthy_instances += status == health_status::healthy ? 1 : 0;
    }
  }
  return result;
}

std::vector<std::string>
failover_coordinator_state::readiness_problems(const std::string& service) const {
  std::vector<std::string> problems;
  auto i = services.find(service);
  if (i == services.end())
    return problems;
  const auto& view = i->second;
  if (auto hold = view.maintenance_hold())
    problems.push_back(*hold);
  if (auto few = too_few_standbys(view))
    problems.push_back(*few);
  else if (strategies::promotion_candidates(*view.settings, view.primary, view.health,
                                            view.instances_in_maintenance())
               .empty())
    problems.push_back("no healthy standby to promote");
  if (auto r = readiness.find(service); r != readiness.end())
    problems.insert(problems.end(), r->second.found.begin(), r->second.found.end());
  if (auto u = unjournaled.find(service); u != unjournaled.end())
    for (const auto& [instance, why] : u->second)
      problems.push_back(why);
  return problems;
}

void failover_coordinator_state::keep_pending(const failure_detection& d, hold why) {
  pending[d.service.value] = d;
  held_by[d.service.value] = why;
}

bool failover_coordinator_state::shadow(const std::string& service) const {
  auto i = services.find(service);
  return safety.shadow || (i != services.end() && i->second.settings->shadow);
}

void failover_coordinator_state::note_busy(const std::string& service) {
  auto i = services.find(service);
  if (i != services.end() && (i->second.in_flight || i->second.checking))
    busy.insert(service);
  else
    busy.erase(service);
}

safety_view failover_coordinator_state::safety_for(const std::string& service,
                                                   coord_clock::time_point now) {
  safety_view v;
  v.settings = &safety;
  for (const auto& svc_name : busy)
    if (svc_name != service)
      v.in_progress.push_back(svc_name);
  v.started_last_hour = started.count(now);
  v.tilt = tilt.why(now);
  return v;
}

namespace {

using coord_ptr = coordinator_actor::stateful_pointer<failover_coordinator_state>;

// Records the latest decision for status queries and tells live watchers.
void note_decision(coord_ptr self, const std::string& service, std::string text) {
  publish_event(self->system(), {0, 0, event_kind::decision, service_id{service}, instance_id{},
                                 switchover_id{0}, text});
  self->state.last_decision[service] = std::move(text);
}

// Journals a decision on a detection (shadow ones too), tells watchers and
// keeps it for status queries. Sent before any request this coordinator makes
// of the store afterwards, so it is written before the plan it leads to.
void record_decision(coord_ptr self, const failure_detection& d, const std::string& verdict_text,
                     const std::string& reason, bool shadow, std::string summary = {}) {
  const auto& service = d.service.value;
  if (summary.empty())
    summary = fmt::format("detection #{}: {}: {}{}", d.id.value, verdict_text, reason,
                          shadow ? " (shadow mode)" : "");
  note_decision(self, service, std::move(summary));
  auto store = lookup<store_actor>(self->system(), names::store);
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

// The coordinator's own timer: every tick_interval. One that fires late means
// this process did not run for a while (see tilt_state).
constexpr auto tick_interval = std::chrono::milliseconds(100);

void schedule_tick(coord_ptr self) {
  self->state.tick_due = self->clock().now() + tick_interval;
  self->delayed_send(self, tick_interval, tick_atom::value);
}

void retry_pending(coord_ptr self, hold why, const std::string& except);

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
    metrics::registry::global().gauge_for("switchyard_tilt", "1 while in TILT, else 0.").set(1);
    spdlog::warn("coordinator: {}: {}",
                 change == tilt_state::change::entered ? "entering TILT" : "TILT goes on", why);
    if (change == tilt_state::change::entered)
      publish_event(self->system(), {0, 0, event_kind::decision, service_id{}, instance_id{},
                                     switchover_id{0}, "TILT: " + why});
    return;
  }
  case tilt_state::change::ended:
    spdlog::warn("coordinator: TILT ended: timers on time again; automatic failovers resume");
    metrics::registry::global().gauge_for("switchyard_tilt", "1 while in TILT, else 0.").set(0);
    publish_event(self->system(),
                  {0, 0, event_kind::decision, service_id{}, instance_id{}, switchover_id{0},
                   "TILT ended: timers on time again; automatic failovers resume"});
    retry_pending(self, hold::tilt, {});
    return;
  }
}

// Before a decision: the periodic timer may be late without having fired yet
// (its message queued behind this one): that is TILT as well.
void check_timers(coord_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (tilt_state::overdue(st.tick_due, now, st.safety.tilt))
    observe_timer(self, st.tick_due, now);
}

void tell_classifier(coord_ptr self, const std::string& service) {
  const auto& view = self->state.services[service];
  if (auto cls = lookup<classifier_actor>(self->system(), names::classifier))
    self->send(cls, service_topology{service_id{service}, instance_id{view.primary},
                                     epoch{view.epoch}, caf::timestamp{}});
}

void maybe_rejoin(coord_ptr self, const std::string& service, const std::string& instance);

using done_fn = std::function<void(const failover_result&)>;

// What happens when the runner reports the end of a switchover of `service`:
// the topology changes only on success; `done` is called exactly once.
std::function<void(failover_result)> on_switchover_end(coord_ptr self, const std::string& service,
                                                       const char* what, done_fn done) {
  return [self, service, what, done](failover_result r) {
    auto& v = self->state.services[service];
    v.in_flight = false;
    self->state.note_busy(service);
    if (r.success) {
      auto old_primary = v.primary;
      v.primary = r.new_primary.value;
      v.epoch = r.new_epoch.value;
      self->state.pending.erase(service);
      self->state.last_decision[service] =
          fmt::format("{} completed: {} is primary (epoch {})", what, v.primary, v.epoch);
      spdlog::info("{}: {} completed (switchover #{}): {} is now primary, epoch {}", service, what,
                   r.switchover.value, v.primary, v.epoch);
      tell_classifier(self, service);
      // It came back while the failover ran: its return was not acted on then.
      auto h = v.health.find(old_primary);
      if (std::string_view{what} == "failover" && h != v.health.end() &&
          h->second == health_status::healthy)
        maybe_rejoin(self, service, old_primary);
    } else {
      self->state.last_decision[service] = r.alert.empty()
                                               ? fmt::format("{} failed: {}", what, r.detail)
                                               : fmt::format("{} failed: ALERT: {}", what, r.alert);
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
                      failover_plan plan, std::string reason, done_fn done) {
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
  auto runner = lookup<runner_actor>(self->system(), names::runner);
  if (!runner) {
    fail("failover runner unavailable, nothing was done");
    return;
  }
  spdlog::info("{}: executing {} plan: {} -> {} (epoch {})", service, what, job.from.value,
               job.to.value, job.new_epoch.value);
  // The runner's first write, before anything runs, persists the plan and
  // opens the switchover in one transaction; then it journals every step.
  self->request(runner, caf::infinite, std::move(job))
      .then([finish](failover_result& r) { finish(std::move(r)); },
            [fail](caf::error& err) { fail(describe(err)); });
}

// Resumes a switchover a stopped switchyardd left running: the same id, epoch
// and persisted plan; steps journaled as done are not run again, a started
// one is re-run. One that cannot go on is closed as failed, saying why.
void resume_switchover(coord_ptr self, const interrupted_switchover& i) {
  const auto& sw = i.switchover;
  const auto& service = sw.service.value;
  auto it = self->state.services.find(service);
  std::string problem = i.problem;
  if (problem.empty() && it == self->state.services.end())
    problem = "the service is no longer configured";
  else if (problem.empty() && it->second.primary != sw.from.value)
    problem =
        fmt::format("its primary is recorded as {} now, not {}", it->second.primary, sw.from.value);
  if (!problem.empty()) {
    auto detail = fmt::format("interrupted by a restart of switchyardd and not resumed: {}; the "
                              "service keeps its previous primary; check it by hand",
                              problem);
    spdlog::error("{}: switchover #{} {}", service, sw.id.value, detail);
    if (auto store = lookup<store_actor>(self->system(), names::store))
      self->request(store, std::chrono::seconds(10),
                    switchover_finish{sw.id, sw.service, switchover_status::failed, sw.from,
                                      sw.run_epoch, detail})
          .then([](caf::ok_atom) {},
                [service](caf::error& err) {
                  spdlog::error("{}: closing an interrupted switchover failed: {}", service,
                                describe(err));
                });
    return;
  }
  auto& view = it->second;
  const char* what = sw.kind == switchover_kind::planned_switchover ? "switchover" : "failover";
  view.in_flight = true;
  self->state.note_busy(service);
  view.last_failover = self->clock().now();
  failover_job job;
  job.kind = sw.kind;
  job.plan = i.plan;
  job.plan_version = sw.plan_version;
  job.from = sw.from;
  job.to = sw.to;
  job.new_epoch = sw.run_epoch;
  job.reason = sw.reason;
  job.resume = sw.id;
  for (const auto& st : i.steps)
    job.journaled.push_back(journaled_step{st.sequence, st.name, st.status});
  note_decision(self, service,
                fmt::format("resuming {} #{} ({} -> {}) after a restart of switchyardd", what,
                            sw.id.value, sw.from.value, sw.to.value));
  auto finish = on_switchover_end(self, service, what, [](const failover_result&) {});
  auto runner = lookup<runner_actor>(self->system(), names::runner);
  if (!runner) { // the supervisor starts the runner before the coordinator
    failover_result r;
    r.service = sw.service;
    r.detail = "failover runner unavailable: switchover not resumed";
    finish(std::move(r));
    return;
  }
  self->request(runner, caf::infinite, std::move(job))
      .then([finish](failover_result& r) { finish(std::move(r)); },
            [finish, service](caf::error& err) {
              failover_result r;
              r.service = service_id{service};
              r.detail = describe(err);
              finish(std::move(r));
            });
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
  if (instance == view.primary || view.in_flight || view.checking || st.rejoining.count(key) > 0)
    return;
  if (st.shadow(service)) {
    note_decision(self, service,
                  fmt::format("{} is healthy again while {} is primary: would make it a replica "
                              "(shadow mode: nothing was done)",
                              instance, view.primary));
    return;
  }
  auto runner = lookup<runner_actor>(self->system(), names::runner);
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

// Logs and streams a change of a service's readiness (not every check): a
// service that could not fail over is flagged before it is needed.
void report_readiness(coord_ptr self, const std::string& service) {
  auto& st = self->state;
  auto& r = st.readiness[service];
  if (r.checked_ms == 0)
    return; // not checked yet: nothing to say
  auto problems = st.readiness_problems(service);
  auto text = problems.empty() ? std::string{} : fmt::format("{}", fmt::join(problems, "; "));
  if (r.reported && *r.reported == text)
    return;
  bool first = !r.reported.has_value();
  r.reported = text;
  if (text.empty()) {
    if (!first)
      spdlog::info("{}: ready: a failover could succeed again", service);
    if (!first)
      publish_event(self->system(), {0, 0, event_kind::decision, service_id{service}, instance_id{},
                                     switchover_id{0}, "ready again"});
    return;
  }
  spdlog::warn("{}: NOT READY: a failover could not succeed now: {}", service, text);
  publish_event(self->system(), {0, 0, event_kind::decision, service_id{service}, instance_id{},
                                 switchover_id{0}, "NOT READY: " + text});
}

// The periodic full readiness check of `service`: the strategy's pre-checks
// (e.g. replication within the RPO) and readiness actions on the runner,
// read-only, against the candidates an automatic failover would try now.
void check_readiness(coord_ptr self, const std::string& service) {
  auto& st = self->state;
  auto i = st.services.find(service);
  if (i == st.services.end())
    return;
  auto& view = i->second;
  auto& r = st.readiness[service];
  if (r.running || view.in_flight || view.checking)
    return; // busy: the next round looks again
  auto candidates = strategies::promotion_candidates(*view.settings, view.primary, view.health,
                                                     view.instances_in_maintenance());
  const auto& strategy = *st.strategies[service];
  bool needs_runner = !candidates.empty() && (strategy.has_candidate_checks() ||
                                              !view.settings->strategy.readiness.empty());
  auto runner = lookup<runner_actor>(self->system(), names::runner);
  r.full = !candidates.empty();
  if (!needs_runner || !runner) {
    r.found.clear();
    if (needs_runner)
      r.found.push_back("the failover runner is not running");
    r.checked_ms = wall_clock_ms();
    report_readiness(self, service);
    return;
  }
  candidate_check check{service_id{service}, instance_id{view.primary}, {}, true};
  for (const auto* c : candidates)
    check.candidates.push_back(instance_id{c->name});
  r.running = true;
  self->request(runner, caf::infinite, std::move(check))
      .then(
          [self, service](candidate_verdict& v) {
            auto& rs = self->state.readiness[service];
            rs.running = false;
            rs.found.clear();
            if (v.chosen.value.empty())
              rs.found.push_back(
                  fmt::format("no standby passes the pre-checks: {}", fmt::join(v.reasons, "; ")));
            rs.found.insert(rs.found.end(), v.readiness_problems.begin(),
                            v.readiness_problems.end());
            rs.checked_ms = wall_clock_ms();
            report_readiness(self, service);
          },
          [self, service](caf::error& err) {
            auto& rs = self->state.readiness[service];
            rs.running = false;
            rs.found = {"the readiness check could not run: " + describe(err)};
            rs.checked_ms = wall_clock_ms();
            report_readiness(self, service);
          });
}

void replay_early(coord_ptr self);
void apply_maintenance(coord_ptr self, maintenance_record m);

// At start: the persisted topology, then maintenance windows, then the
// switchovers a stopped switchyardd left running (resumed before any new
// detection is decided on, so none is started beside them).
void load_state(coord_ptr self, store_actor store, std::function<void()> retry) {
  auto failed = [retry](const char* what) {
    return [retry, what](caf::error& err) {
      spdlog::error("coordinator: loading {} failed: {}; retrying", what, describe(err));
      retry();
    };
  };
  // The hour's switchovers count against max_failovers_per_hour across
  // restarts. Answered before the topology (the store answers in order), so
  // before any decision; the newest max_failovers_per_hour are all it takes.
  auto per_hour = static_cast<std::uint32_t>(self->state.safety.max_failovers_per_hour);
  self->request(store, std::chrono::seconds(10), switchovers_query{std::string{}, per_hour})
      .then(
          [self](switchover_record_list& rows) {
            auto now = self->clock().now();
            auto wall = wall_clock_ms();
            self->state.started.clear();
            for (const auto& row : rows) {
              auto age =
                  std::chrono::milliseconds(std::max<std::int64_t>(0, wall - row.started_at_ms));
              if (age < std::chrono::hours(1))
                self->state.started.record(now - age);
            }
          },
          [](caf::error& err) {
            spdlog::error("coordinator: reading the last hour's switchovers failed: {}; "
                          "max_failovers_per_hour counts from now",
                          describe(err));
          });
  self->request(store, std::chrono::seconds(10), load_topo_atom::value)
      .then(
          [self, store, failed](topology_list& topo) {
            self->request(store, std::chrono::seconds(10), maint_atom::value)
                .then(
                    [self, store, topo, failed](maintenance_list& windows) {
                      self->request(store, std::chrono::seconds(10), resume_atom::value)
                          .then(
                              [self, topo, windows](interrupted_list& interrupted) {
                                self->state.apply_topology(topo, self->clock().now(),
                                                           wall_clock_ms());
                                for (auto w : windows)
                                  apply_maintenance(self, std::move(w));
                                for (auto& [name, view] : self->state.services) {
                                  spdlog::info("{}: primary {} (epoch {})", name, view.primary,
                                               view.epoch);
                                  tell_classifier(self, name);
                                  if (running_jobs::running(name)) {
                                    // This coordinator was restarted, not the process: the
                                    // switchover goes on in the runner; wait for its end.
                                    view.in_flight = true;
                                    self->state.note_busy(name);
                                    self->state.adopted.insert(name);
                                    spdlog::warn("{}: a switchover is still running: waiting "
                                                 "for it to end",
                                                 name);
                                  }
                                }
                                for (const auto& [name, view] : self->state.services)
                                  self->send(self, ready_atom::value, service_id{name});
                                for (const auto& i : interrupted)
                                  if (!self->state.adopted.count(i.switchover.service.value))
                                    resume_switchover(self, i);
                                if (!self->state.adopted.empty())
                                  self->delayed_send(self, std::chrono::milliseconds(500),
                                                     adopt_atom::value);
                                replay_early(self);
                              },
                              failed("interrupted switchovers"));
                    },
                    failed("maintenance"));
          },
          failed("the topology"));
}

using plan_fn = std::function<void(caf::expected<failover_plan>)>;

// Runs the strategy's pre-checks (e.g. replication lag against the RPO) on
// the runner, for the plan's candidates best first (only the first when the
// operator named it), and hands `done` the plan for the first candidate that
// passed — or why none did. While they run the service counts as busy, so
// nothing else starts for it and a reload leaves it alone.
void run_prechecks(coord_ptr self, const std::string& service, failover_plan plan,
                   switchover_kind kind, bool named_target, plan_fn done) {
  auto& view = self->state.services[service];
  if (!self->state.strategies[service]->has_candidate_checks()) {
    done(std::move(plan));
    return;
  }
  auto runner = lookup<runner_actor>(self->system(), names::runner);
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
            done(
                plan_for_target(i->second, v.chosen.value, kind, *self->state.strategies[service]));
          },
          [self, service, done](caf::error& err) {
            self->state.services[service].checking = false;
            self->state.note_busy(service);
            done(make_sy_error(sy_errc::unspecified, "pre-checks could not run: " + describe(err)));
          });
}

void handle_detection(coord_ptr self, const failure_detection& d);
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
    const auto& check = view.settings->health_check;
    auto retry = std::max<caf::timespan>(check.interval * check.fall, std::chrono::seconds(2));
    self->delayed_send(self, retry, d);
    retry_pending(self, hold::concurrency, service); // its pre-checks no longer count
    return;
  }
  check_timers(self);
  auto now = self->clock().now();
  auto again = decide(view, d, now, *st.strategies[service], st.safety_for(service, now));
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
  record_decision(self, d, to_string(verdict::fail_over), reason, false);
  start_switchover(self, switchover_kind::automatic_failover, d, std::move(*plan), d.evidence,
                   [](const failover_result&) {});
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
  auto store = lookup<store_actor>(self->system(), names::store);
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

// Decides again on the failures `why` held back, of every service but
// `except`, now that it may have ended.
void retry_pending(coord_ptr self, hold why, const std::string& except) {
  auto& st = self->state;
  std::vector<failure_detection> again;
  for (const auto& [service, d] : st.pending)
    if (service != except && st.held_by[service] == why)
      again.push_back(d);
  for (const auto& d : again) // handle_detection changes `pending`
    if (st.pending.count(d.service.value))
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
  auto dec = decide(view, d, now, *st.strategies[service], st.safety_for(service, now));
  // A failover is journaled once its plan passed the pre-checks (fail_over_after_checks).
  if (dec.what != verdict::fail_over)
    record_decision(self, d, to_string(dec.what), dec.reason, shadow);
  else if (st.strategies[service]->has_candidate_checks())
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
    spdlog::warn("{}: decision: {}: {}", service,
                 shadow ? "would fail over (shadow mode)" : "fail over", dec.reason);
    run_prechecks(self, service, std::move(*dec.plan), switchover_kind::automatic_failover, false,
                  [self, d](caf::expected<failover_plan> plan) {
                    fail_over_after_checks(self, d, std::move(plan));
                  });
    return;
  }
}

// "service" or "instance web-b": what a maintenance window covers, for logs and events.
std::string window_target(const instance_id& instance) {
  return instance.value.empty() ? std::string{"service"} : "instance " + instance.value;
}

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
  publish_event(self->system(), {0, 0, event_kind::maintenance, service, instance, switchover_id{0},
                                 fmt::format("{} out of maintenance: {}", what, why)});
  if (auto p = self->state.pending.find(service.value); p != self->state.pending.end()) {
    auto d = p->second;
    handle_detection(self, d);
  }
}

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
  auto store = lookup<store_actor>(self->system(), names::store);
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
            publish_event(self->system(),
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
  auto& view = i->second;
  const maintenance_record* current = nullptr;
  if (e.instance.value.empty())
    current = view.maintenance ? &*view.maintenance : nullptr;
  else if (auto m = view.instance_maintenance.find(e.instance.value);
           m != view.instance_maintenance.end())
    current = &m->second;
  if (current == nullptr || current->until_ms != e.until_ms)
    return; // ended or replaced meanwhile
  // The row is deleted now if possible; otherwise at the next start (expired rows are dropped).
  if (auto store = lookup<store_actor>(self->system(), names::store))
    self->request(store, std::chrono::seconds(10), maintenance_clear{e.service, e.instance})
        .then([](caf::ok_atom) {},
              [](caf::error& err) {
                spdlog::warn("expired maintenance row not deleted yet: {}", describe(err));
              });
  end_maintenance(self, e.service, e.instance, "expired");
}

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
  auto store = lookup<store_actor>(self->system(), names::store);
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
                      if (auto runner = lookup<runner_actor>(self->system(), names::runner))
                        self->send(runner, update);
                      // New services and dependencies, before their topology.
                      if (auto cls =
                              lookup<classifier_full_actor>(self->system(), names::classifier))
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

} // namespace

coordinator_actor::behavior_type
failover_coordinator(coordinator_actor::stateful_pointer<failover_coordinator_state> self,
                     std::shared_ptr<const config::switchyard_config> cfg) {
  self->state.init(std::move(cfg));
  self->send(self, load_topo_atom::value);
  schedule_tick(self);
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
        load_state(self, store, retry);
      },
      [self](health_transition& t) {
        auto& st = self->state;
        auto i = st.services.find(t.service.value);
        if (i == st.services.end())
          return;
        i->second.health[t.instance.value] = t.to;
        report_readiness(self, t.service.value);
        if (t.to == health_status::healthy && !st.readiness[t.service.value].full)
          check_readiness(self, t.service.value); // the first real check, not in 30 s
        if (t.from == health_status::unhealthy && t.to == health_status::healthy)
          maybe_rejoin(self, t.service.value, t.instance.value);
        // A standby that turns healthy may unblock a failover that had no target.
        auto p = st.pending.find(t.service.value);
        if (p != st.pending.end() && t.to == health_status::healthy &&
            t.instance.value != i->second.primary) {
          auto d = p->second;
          handle_detection(self, d);
        }
      },
      [self](unjournaled_detection& u) {
        auto& of_service = self->state.unjournaled[u.service.value];
        if (u.problem.empty())
          of_service.erase(u.instance.value);
        else
          of_service[u.instance.value] = std::move(u.problem);
        if (of_service.empty())
          self->state.unjournaled.erase(u.service.value);
      },
      [self](failure_detection& d) {
        if (!self->state.topology_loaded || self->state.reloading) {
          self->state.early.push_back(std::move(d));
          return;
        }
        handle_detection(self, d);
      },
      [self](switchover_request& req) -> caf::result<switchover_reply> {
        auto& st = self->state;
        if (!st.topology_loaded) { // the file's primary may not be the real one yet
          auto rp = self->make_response_promise<switchover_reply>();
          st.early_requests.emplace_back(std::move(req), rp);
          return rp;
        }
        if (st.reloading)
          return make_sy_error(sy_errc::unspecified,
                               "a configuration reload is being applied; try again in a moment");
        auto i = st.services.find(req.service.value);
        if (i == st.services.end())
          return make_sy_error(sy_errc::unknown_service,
                               fmt::format("no service named '{}'", req.service.value));
        if (auto r = st.reserved.find(req.service.value);
            r != st.reserved.end() && r->second != req.site_switchover) {
          switchover_reply refused;
          refused.detail =
              fmt::format("reserved by site switchover #{}: wait until it ends", r->second);
          return refused;
        }
        const bool planned = req.kind == switchover_kind::planned_switchover;
        const char* what = planned ? "switchover" : "forced failover";
        auto dec = check_switchover(i->second, req.target.value, req.force, self->clock().now(),
                                    *st.strategies[req.service.value], req.kind);
        if (dec.what != verdict::fail_over) {
          spdlog::warn("{}: {} requested by {} refused: {}", req.service.value, what, req.principal,
                       dec.reason);
          switchover_reply refused;
          refused.detail = dec.reason;
          return refused;
        }
        auto rp = self->make_response_promise<switchover_reply>();
        // The strategy's pre-checks run for dry runs too: they only read.
        run_prechecks(
            self, req.service.value, std::move(*dec.plan), req.kind, !req.target.value.empty(),
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
      },
      [self](maintenance_request& req) -> caf::result<maintenance_reply> {
        return handle_maintenance(self, req);
      },
      [self](maintenance_expiry& e) { handle_expiry(self, e); },
      [self](adopt_atom) {
        // An adopted switchover has ended when the runner no longer runs it:
        // its outcome is in the database; take primary and epoch from there.
        auto& st = self->state;
        std::set<std::string> ended;
        for (const auto& name : st.adopted)
          if (!running_jobs::running(name))
            ended.insert(name);
        for (const auto& name : ended)
          st.adopted.erase(name);
        if (!st.adopted.empty())
          self->delayed_send(self, std::chrono::milliseconds(500), adopt_atom::value);
        if (ended.empty())
          return;
        auto store = lookup<store_actor>(self->system(), names::store);
        if (!store) { // try again shortly: they stay busy meanwhile
          st.adopted.insert(ended.begin(), ended.end());
          self->delayed_send(self, std::chrono::milliseconds(500), adopt_atom::value);
          return;
        }
        self->request(store, std::chrono::seconds(10), load_topo_atom::value)
            .then(
                [self, ended](topology_list& topo) {
                  topology_list mine;
                  for (auto& t : topo)
                    if (ended.count(t.service.value))
                      mine.push_back(std::move(t));
                  self->state.apply_topology(mine, self->clock().now(), wall_clock_ms());
                  for (const auto& name : ended) {
                    auto& view = self->state.services[name];
                    view.in_flight = false;
                    self->state.note_busy(name);
                    note_decision(self, name,
                                  fmt::format("the switchover that was running ended: {} is "
                                              "primary (epoch {})",
                                              view.primary, view.epoch));
                    tell_classifier(self, name);
                  }
                  retry_pending(self, hold::concurrency, {});
                },
                [self, ended](caf::error& err) {
                  spdlog::error("coordinator: reading the outcome of running switchovers: {}",
                                describe(err));
                  self->state.adopted.insert(ended.begin(), ended.end());
                  self->delayed_send(self, std::chrono::milliseconds(500), adopt_atom::value);
                });
      },
      [self](ready_atom, service_id& service) {
        auto i = self->state.services.find(service.value);
        if (i == self->state.services.end())
          return; // removed by a reload: its timer ends here
        self->delayed_send(self, i->second.settings->readiness_interval, ready_atom::value,
                           service);
        check_readiness(self, service.value);
      },
      [self](tick_atom) {
        static auto& depth = metrics::registry::global().gauge_for(
            "switchyard_mailbox_depth", "Messages waiting in an actor's mailbox when last sampled.",
            {{"actor", "failover_coordinator"}});
        depth.set(static_cast<double>(self->mailbox().size()));
        auto due = self->state.tick_due;
        auto now = self->clock().now();
        schedule_tick(self);
        observe_timer(self, due, now);
      },
      [self](plan_atom, service_id& service) -> caf::result<exported_plan_list> {
        auto& st = self->state;
        if (!service.value.empty() && !st.services.count(service.value))
          return make_sy_error(sy_errc::unknown_service,
                               fmt::format("no service named '{}'", service.value));
        exported_plan_list plans;
        for (const auto& cfg_svc : st.cfg->services) // in configuration order
          if (service.value.empty() || cfg_svc.name == service.value)
            plans.push_back(export_plan(st.services[cfg_svc.name], *st.strategies[cfg_svc.name]));
        return plans;
      },
      [self](config_update& update) -> caf::result<caf::ok_atom> {
        return handle_reload(self, std::move(update));
      },
      [self](reserve_request& req) -> caf::result<caf::ok_atom> {
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
          return make_sy_error(sy_errc::unknown_service,
                               fmt::format("no service named '{}'", service));
        if (r != st.reserved.end() && r->second != req.site_switchover)
          return make_sy_error(
              sy_errc::already_in_progress,
              fmt::format("{} is reserved by site switchover #{}", service, r->second));
        if (i->second.in_flight || st.adopted.count(service))
          return make_sy_error(sy_errc::already_in_progress,
                               fmt::format("a switchover of {} is in progress", service));
        st.reserved[service] = req.site_switchover;
        spdlog::info("{}: reserved by site switchover #{}", service, req.site_switchover);
        return caf::ok_atom::value;
      },
      [self](get_state_atom) -> service_state_list {
        return self->state.snapshot(self->clock().now());
      },
      [self](summary_atom) -> fleet_summary { return self->state.summary(); },
  };
}

} // namespace switchyard::actors

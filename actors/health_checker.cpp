#include "actors/health_checker.hpp"

#include <utility>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace switchyard::actors {

bool health_checker_state::confirm_at_once(caf::actor_clock::time_point now) {
  if (confirmations == 0 || now - confirm_window >= check.interval) {
    confirm_window = now;
    confirmations = 0;
  }
  return ++confirmations <= max_confirmations_per_interval;
}

void health_checker_state::settle() {
  if (gate && engine_timed && tracker->status() == health_status::healthy && tracker->last_ok() &&
      !in_flight && !loss_unconfirmed && !lost_while_busy)
    gate->arm(disarms_handled);
}

health_checker_state::verdict health_checker_state::judge(probe_outcome got, probe_cause cause,
                                                          caf::actor_clock::time_point now) {
  verdict r;
  r.outcome = std::move(got);
  const auto& outcome = r.outcome;
  spdlog::debug("{}/{}: probe {} in {} us: {}", service.value, instance.value,
                outcome.ok ? "ok" : "FAILED", outcome.latency.count(), outcome.detail);
  bool confirming = cause != probe_cause::timer;
  if (confirming)
    spdlog::warn("{}/{}: held connection lost, probe {}: {}: {}", service.value, instance.value,
                 cause == probe_cause::connection_lost ? "at once" : "now",
                 outcome.ok ? "ok" : "FAILED", outcome.detail);
  auto before = tracker->status();
  // phi-accrual: successes are heartbeats; a failure is judged by how unusual
  // the silence since the last success is. The gap an outage leaves is not
  // an interval between heartbeats.
  std::string phi_reason;
  if (phi && outcome.ok) {
    if (before == health_status::unhealthy)
      phi->restart(now);
    else
      phi->heartbeat(now);
  } else if (phi) {
    if (double p = phi->phi(now); p > *check.phi_threshold)
      phi_reason = fmt::format("phi {:.1f} > {:g} (no answer for {:.1f} s, mean interval {:.1f} s)",
                               p, *check.phi_threshold, phi->silence_s(now), phi->mean_s());
  }
  // A dropped connection that the next probe cannot replace is a crash seen
  // early: there is no point in waiting for `fall` more probes.
  bool fast = confirming && !outcome.ok;
  // When this probe was sent: the tracker keeps it for the first probe of a
  // streak, where an outage's downtime starts (availability).
  auto reported = caf::make_timestamp();
  auto sent = reported - std::chrono::duration_cast<caf::timespan>(outcome.latency);
  auto changed =
      fast || !phi_reason.empty() ? tracker->force_down(sent) : tracker->observe(outcome.ok, sent);
  if (!changed)
    return r;
  r.transition = health_transition{
      service,
      instance,
      before,
      *changed,
      phi_reason.empty() ? outcome.detail : phi_reason + "; last probe: " + outcome.detail,
      tracker->streak(),
      reported,
      outcome.refused,
      fast,
      tracker->streak_since()};
  auto lvl = *changed == health_status::healthy ? spdlog::level::info : spdlog::level::warn;
  spdlog::log(lvl, "{}/{}: {} -> {} after {} probes ({}){}", service.value, instance.value,
              to_string(before), to_string(*changed), tracker->streak(), r.transition->reason,
              fast ? ", held connection lost" : "");
  return r;
}

health_checker_actor::behavior_type
health_checker(health_checker_actor::stateful_pointer<health_checker_state> self,
               std::string service, config::instance_settings instance,
               config::health_check_settings check, probe_factory factory, peers_ptr peers,
               bool report_samples) {
  using probe_cause = health_checker_state::probe_cause;
  auto& st = self->state;
  st.peers = std::move(peers);
  st.report_samples = report_samples;
  st.service = service_id{std::move(service)};
  st.instance = instance_id{instance.name};
  st.check = check;
  st.prober = factory();
  st.tracker.emplace(check.rise, check.fall);
  if (check.phi_threshold)
    st.phi.emplace(health_checker_state::phi_window,
                   check.interval / health_checker_state::phi_std_dev_divisor);
  else if (!report_samples && !spdlog::should_log(spdlog::level::debug))
    st.gate = std::make_shared<quiet_gate>(); // at debug, every probe is logged: no quiet path
  {
    auto& reg = st.peers->metrics();
    metrics::labels type{{"type", config::to_string(check.type)}};
    st.probes_sent = &reg.counter_for("switchyard_probes_sent_total", "Health probes run.", type);
    st.probes_failed = &reg.counter_for("switchyard_probes_failed_total",
                                        "Health probes that failed (or timed out).", type);
    st.probe_duration =
        &reg.histogram_for("switchyard_probe_duration_seconds", "Duration of health probes.", type);
    st.healthy_gauge = &reg.gauge_for(
        "switchyard_instance_healthy", "1 while the instance is healthy, 0 while it is unhealthy.",
        {{"service", st.service.value}, {"instance", st.instance.value}});
  }
  // Engine callbacks run on the engine's threads: only a message, to a weak
  // handle (a probe must not keep the checker alive, nor fail when it is gone).
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
  st.prober->on_connection_lost([weak, gate = st.gate] {
    if (gate)
      gate->disarm();
    if (auto strong = weak.lock())
      caf::anon_send(caf::actor_cast<health_checker_actor>(strong), conn_lost_atom::value);
  });
  auto start_probe = [self, weak](probe_cause cause) {
    auto& s = self->state;
    s.in_flight = cause;
    s.started = self->clock().now();
    auto seq = ++s.seq;
    s.probes_sent->inc();
    s.prober->start([weak, seq](probe_outcome out) {
      if (auto strong = weak.lock())
        caf::anon_send(caf::actor_cast<health_checker_actor>(strong),
                       probe_result{seq, std::move(out)});
    });
  };
  auto report = [self](health_checker_state::verdict& r) {
    const auto& to = *self->state.peers;
    // Every outcome, for response times and error rates, when the service's
    // performance is monitored (10,000 messages a second for nothing otherwise).
    if (auto perf = to.performance(); perf && self->state.report_samples)
      self->send(perf, probe_sample{self->state.service, self->state.instance, r.outcome.ok,
                                    r.outcome.latency, r.outcome.detail, caf::make_timestamp()});
    auto& t = r.transition;
    if (!t)
      return;
    self->state.healthy_gauge->set(t->to == health_status::healthy ? 1.0 : 0.0);
    if (auto cls = to.classifier())
      self->send(cls, std::move(*t));
    else
      spdlog::error("{}: classifier unavailable, transition not reported",
                    self->state.instance.value);
  };
  // The held connection is gone: probe at once, unless this interval's
  // confirmations are used up (then the next periodic probe confirms).
  auto connection_lost = [self, start_probe] {
    auto& s = self->state;
    if (!s.confirm_at_once(self->clock().now())) {
      s.loss_unconfirmed = true;
      spdlog::debug("{}/{}: held connection lost again, the next probe confirms", s.service.value,
                    s.instance.value);
      return;
    }
    s.loss_unconfirmed = false; // confirmed now
    start_probe(probe_cause::connection_lost);
  };
  auto judge_and_report = [self, report](probe_outcome outcome, probe_cause cause) {
    auto& s = self->state;
    if (!outcome.ok)
      s.probes_failed->inc();
    s.probe_duration->observe(std::chrono::duration<double>(outcome.latency).count());
    auto r = s.judge(std::move(outcome), cause, self->clock().now());
    report(r);
  };
  // The end of the probe the checker started (in flight).
  auto complete = [self, judge_and_report, connection_lost](probe_outcome outcome) {
    auto& s = self->state;
    auto cause = *s.in_flight;
    s.in_flight.reset();
    judge_and_report(std::move(outcome), cause);
    if (std::exchange(s.lost_while_busy, false))
      connection_lost();
  };
  // Seeded per instance so checkers started together spread out.
  async_probe::periodic_settings periodic{
      check.interval, check.jitter, static_cast<unsigned>(std::hash<std::string>{}(instance.name))};
  st.engine_timed =
      st.prober->run_periodically(periodic, [weak, gate = st.gate, sent = st.probes_sent,
                                             duration = st.probe_duration](probe_outcome out) {
        if (gate && out.ok && gate->quiet()) {
          // Counted as the checker would count it; its judgement would change nothing.
          if (weak.lock()) { // the registry outlives a live checker
            sent->inc();
            duration->observe(std::chrono::duration<double>(out.latency).count());
          }
          return;
        }
        if (gate && !out.ok)
          gate->disarm();
        if (auto strong = weak.lock())
          caf::anon_send(caf::actor_cast<health_checker_actor>(strong),
                         probe_result{0, std::move(out), true});
      });
  if (!st.engine_timed) {
    st.schedule.emplace(periodic.interval, periodic.jitter, periodic.seed, false);
    self->send(self, probe_atom::value);
  }
  return {
      [self, start_probe, complete](probe_atom) {
        auto& s = self->state;
        if (s.engine_timed)
          return; // the probe keeps its own schedule
        self->delayed_send(self, s.schedule->next(self->clock().now()), probe_atom::value);
        if (s.in_flight) {
          auto limit = caf::timespan{s.check.timeout} + health_checker_state::overdue_grace;
          if (self->clock().now() - s.started < limit)
            return; // still within its timeout: this beat is skipped
          // Never answered: failed, and its result (if it comes) is stale.
          spdlog::warn("{}/{}: probe {} gave no result within {} ms", s.service.value,
                       s.instance.value, s.seq,
                       std::chrono::duration_cast<std::chrono::milliseconds>(limit).count());
          complete(probe_outcome{
              false, std::chrono::duration_cast<std::chrono::microseconds>(limit),
              fmt::format("no result within {} ms",
                          std::chrono::duration_cast<std::chrono::milliseconds>(limit).count()),
              false});
          if (s.in_flight)
            return; // the completion started a confirmation
        }
        start_probe(std::exchange(s.loss_unconfirmed, false) ? probe_cause::connection_lost_earlier
                                                             : probe_cause::timer);
      },
      // An extra probe: the periodic timer keeps its schedule.
      [self, connection_lost](conn_lost_atom) {
        auto& s = self->state;
        if (s.gate)
          ++s.disarms_handled;
        if (s.in_flight) {
          s.lost_while_busy = true; // handled when the probe in flight ends
          return;
        }
        connection_lost();
        s.settle();
      },
      [self, complete, judge_and_report](probe_result& r) {
        auto& s = self->state;
        if (r.periodic && s.engine_timed) {
          if (s.gate && !r.outcome.ok)
            ++s.disarms_handled;
          // A loss left to the next periodic probe is confirmed by this one.
          s.probes_sent->inc();
          judge_and_report(std::move(r.outcome), std::exchange(s.loss_unconfirmed, false)
                                                     ? probe_cause::connection_lost_earlier
                                                     : probe_cause::timer);
          s.settle();
          return;
        }
        if (r.periodic || !s.in_flight || r.seq != s.seq) {
          spdlog::debug("{}/{}: stale result of probe {} ignored (current {})", s.service.value,
                        s.instance.value, r.seq, s.seq);
          return;
        }
        complete(std::move(r.outcome));
        s.settle();
      },
  };
}

std::string health_checker_name(const std::string& service, const std::string& instance) {
  return "health_checker " + service + "/" + instance;
}

std::vector<child_spec> health_checker_specs(const config::service_settings& service,
                                             const peers_ptr& peers) {
  std::vector<child_spec> specs;
  for (const auto& inst : service.instances)
    specs.push_back({health_checker_name(service.name, inst.name),
                     [name = service.name, inst, check = service.health_check, peers,
                      monitored = service.performance.has_value()](caf::actor_system& sys) {
                       probe_factory factory = [name, inst, check] {
                         return make_probe(name, check, inst);
                       };
                       // Cooperative: the probe runs in the probe engine, never in the actor.
                       return caf::actor_cast<caf::actor>(
                           sys.spawn(health_checker, name, inst, check, factory, peers, monitored));
                     }});
  return specs;
}

} // namespace switchyard::actors

#include "actors/health_checker.hpp"

#include <utility>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/directory.hpp"

namespace switchyard::actors {

caf::timespan health_checker_state::next_delay() {
  caf::timespan delay = check.interval;
  if (check.jitter.count() > 0) {
    std::uniform_int_distribution<long long> dist(0, check.jitter.count());
    delay += std::chrono::milliseconds(dist(rng));
  }
  return delay;
}

health_checker_state::~health_checker_state() {
  held.reset();
}

bool health_checker_state::confirm_at_once(caf::actor_clock::time_point now) {
  if (confirmations == 0 || now - confirm_window >= check.interval) {
    confirm_window = now;
    confirmations = 0;
  }
  return ++confirmations <= max_confirmations_per_interval;
}

health_checker_state::probe_result
health_checker_state::probe_once(probe_cause cause, caf::actor_clock::time_point now) {
  held.reset(); // the probe may close or replace its connection
  probe_result r;
  r.outcome = prober->check();
  const auto& outcome = r.outcome;
  if (int fd = prober->held_fd(); fd >= 0 && on_connection_lost) {
    if (auto err = watch->watch(fd, on_connection_lost); err.empty())
      held.emplace(*watch, fd);
    else
      spdlog::warn("{}/{}: held connection not watched, lost connections are seen at the next "
                   "probe: {}",
                   service.value, instance.value, err);
  }
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
  auto changed = fast || !phi_reason.empty() ? tracker->force_down() : tracker->observe(outcome.ok);
  if (!changed)
    return r;
  r.transition = health_transition{
      service,
      instance,
      before,
      *changed,
      phi_reason.empty() ? outcome.detail : phi_reason + "; last probe: " + outcome.detail,
      tracker->streak(),
      caf::make_timestamp(),
      outcome.refused,
      fast};
  auto lvl = *changed == health_status::healthy ? spdlog::level::info : spdlog::level::warn;
  spdlog::log(lvl, "{}/{}: {} -> {} after {} probes ({}){}", service.value, instance.value,
              to_string(before), to_string(*changed), tracker->streak(), r.transition->reason,
              fast ? ", held connection lost" : "");
  return r;
}

health_checker_actor::behavior_type
health_checker(health_checker_actor::stateful_pointer<health_checker_state> self,
               std::string service, config::instance_settings instance,
               config::health_check_settings check, probe_factory factory) {
  auto& st = self->state;
  st.service = service_id{std::move(service)};
  st.instance = instance_id{instance.name};
  st.check = check;
  st.prober = factory();
  st.tracker.emplace(check.rise, check.fall);
  if (check.phi_threshold)
    st.phi.emplace(health_checker_state::phi_window,
                   check.interval / health_checker_state::phi_std_dev_divisor);
  // Seeded per instance so checkers started together spread out.
  st.rng.seed(static_cast<unsigned>(std::hash<std::string>{}(instance.name)));
  // Runs on the watch thread: only a message, to a weak handle (the watch
  // must not keep the checker alive).
  st.on_connection_lost = [weak = caf::actor_cast<caf::weak_actor_ptr>(self)] {
    if (auto strong = weak.lock())
      caf::anon_send(caf::actor_cast<health_checker_actor>(strong), conn_lost_atom::value);
  };
  auto report = [self](health_checker_state::probe_result& r) {
    auto& sys = self->system();
    // Every outcome, for response times and error rates (if anyone listens).
    if (auto perf = lookup<performance_monitor_actor>(sys, names::performance))
      self->send(perf, probe_sample{self->state.service, self->state.instance, r.outcome.ok,
                                    r.outcome.latency, r.outcome.detail, caf::make_timestamp()});
    auto& t = r.transition;
    if (!t)
      return;
    if (auto cls = lookup<classifier_actor>(sys, names::classifier))
      self->send(cls, std::move(*t));
    else
      spdlog::error("{}: classifier unavailable, transition not reported",
                    self->state.instance.value);
  };
  self->send(self, probe_atom::value);
  return {
      [self, report](probe_atom) {
        auto& s = self->state;
        auto r = s.probe_once(std::exchange(s.loss_unconfirmed, false)
                                  ? health_checker_state::probe_cause::connection_lost_earlier
                                  : health_checker_state::probe_cause::timer,
                              self->clock().now());
        report(r);
        self->delayed_send(self, s.next_delay(), probe_atom::value);
      },
      // An extra probe: the periodic timer keeps its schedule.
      [self, report](conn_lost_atom) {
        auto& s = self->state;
        if (!s.confirm_at_once(self->clock().now())) {
          s.loss_unconfirmed = true;
          spdlog::debug("{}/{}: held connection lost again, the next probe confirms",
                        s.service.value, s.instance.value);
          return;
        }
        s.loss_unconfirmed = false; // confirmed now
        auto r =
            s.probe_once(health_checker_state::probe_cause::connection_lost, self->clock().now());
        report(r);
      },
  };
}

std::string health_checker_name(const std::string& service, const std::string& instance) {
  return "health_checker " + service + "/" + instance;
}

std::vector<child_spec> health_checker_specs(const config::service_settings& service) {
  std::vector<child_spec> specs;
  for (const auto& inst : service.instances)
    specs.push_back(
        {health_checker_name(service.name, inst.name), std::nullopt,
         [name = service.name, inst, check = service.health_check](caf::actor_system& sys) {
           probe_factory factory = [name, inst, check] { return make_probe(name, check, inst); };
           // Detached: a probe blocks for up to its timeout.
           return caf::actor_cast<caf::actor>(
               sys.spawn<caf::detached>(health_checker, name, inst, check, factory));
         }});
  return specs;
}

} // namespace switchyard::actors

#include "actors/health_checker.hpp"

#include <caf/all.hpp>
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
  // Seeded per instance so checkers started together spread out.
  st.rng.seed(static_cast<unsigned>(std::hash<std::string>{}(instance.name)));
  self->send(self, probe_atom::value);
  return {
      [self](probe_atom) {
        auto& s = self->state;
        auto outcome = s.prober->check();
        spdlog::debug("{}/{}: probe {} in {} us: {}", s.service.value, s.instance.value,
                      outcome.ok ? "ok" : "FAILED", outcome.latency.count(), outcome.detail);
        auto before = s.tracker->status();
        if (auto changed = s.tracker->observe(outcome.ok)) {
          health_transition t{
              s.service,           s.instance,           before, *changed, outcome.detail,
              s.tracker->streak(), caf::make_timestamp()};
          auto lvl = *changed == health_status::healthy ? spdlog::level::info : spdlog::level::warn;
          spdlog::log(lvl, "{}/{}: {} -> {} after {} probes ({})", s.service.value,
                      s.instance.value, to_string(before), to_string(*changed), t.streak,
                      outcome.detail);
          if (auto cls = lookup<classifier_actor>(self->system(), names::classifier))
            self->send(cls, std::move(t));
          else
            spdlog::error("{}: classifier unavailable, transition not reported", s.instance.value);
        }
        self->delayed_send(self, s.next_delay(), probe_atom::value);
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

#include "actors/failure_classifier.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/directory.hpp"
#include "actors/event_hub.hpp"
#include "messages/error.hpp"

namespace switchyard::actors {

classifier_actor::behavior_type
failure_classifier(classifier_actor::stateful_pointer<failure_classifier_state> self) {
  return {
      [self](health_transition& t) {
        auto& sys = self->system();
        if (auto store = lookup<store_actor>(sys, names::store))
          caf::anon_send(store, t);
        if (auto coord = lookup<coordinator_actor>(sys, names::coordinator))
          caf::anon_send(coord, t);
        publish_event(sys,
                      {0, 0, event_kind::health, t.service, t.instance, switchover_id{0},
                       fmt::format("{} -> {}: {}", to_string(t.from), to_string(t.to), t.reason)});
        auto detection = self->state.rules.classify(t);
        if (!detection)
          return;
        auto store = lookup<store_actor>(sys, names::store);
        if (!store) {
          spdlog::error("detection for {} not persisted (store unavailable): not acting on it",
                        t.instance.value);
          return;
        }
        // Persist first: nobody acts on a detection that is not in the database.
        self->request(store, std::chrono::seconds(10), *detection)
            .then(
                [self, d = *detection](detection_id id) mutable {
                  d.id = id;
                  spdlog::log(d.level == severity::critical ? spdlog::level::warn
                                                            : spdlog::level::info,
                              "detection #{} [{}/{}] {}", id.value, to_string(d.type),
                              to_string(d.level), d.evidence);
                  publish_event(self->system(),
                                {0, 0, event_kind::detection, d.service, d.instance,
                                 switchover_id{0},
                                 fmt::format("detection #{} [{}/{}{}] {}", id.value,
                                             to_string(d.type), to_string(d.level),
                                             d.affects_primary ? ", primary" : "", d.evidence)});
                  if (auto coord = lookup<coordinator_actor>(self->system(), names::coordinator))
                    self->send(coord, std::move(d));
                },
                [d = *detection](caf::error& err) {
                  spdlog::error("detection for {} could not be persisted ({}): not acting on it",
                                d.instance.value, describe(err));
                });
      },
      [self](service_topology& topo) {
        self->state.rules.set_primary(topo.service.value, topo.primary.value);
      },
  };
}

} // namespace switchyard::actors

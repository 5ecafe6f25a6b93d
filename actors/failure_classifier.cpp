#include "actors/failure_classifier.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/directory.hpp"
#include "actors/event_hub.hpp"
#include "actors/metrics.hpp"
#include "messages/error.hpp"

namespace switchyard::actors {

namespace {

using classifier_ptr = classifier_full_actor::stateful_pointer<failure_classifier_state>;

// Persists each detection in order; only what is persisted is published and,
// if marked so, handed to the coordinator: nobody acts on a detection that
// is not in the database.
void persist(classifier_ptr self, classification out) {
  if (out.wake_after)
    self->delayed_send(self, *out.wake_after, hold_atom::value);
  if (out.detections.empty())
    return;
  auto store = lookup<store_actor>(self->system(), names::store);
  if (!store) {
    for (const auto& c : out.detections)
      spdlog::error("{} detection for {} not persisted (store unavailable): not acting on it",
                    to_string(c.detection.type), c.detection.instance.value);
    return;
  }
  for (auto& c : out.detections) {
    self->request(store, std::chrono::seconds(10), c.detection)
        .then(
            [self, c](detection_id id) mutable {
              auto& d = c.detection;
              d.id = id;
              self->state.rules.persisted(d, id);
              spdlog::log(d.level == severity::critical ? spdlog::level::warn : spdlog::level::info,
                          "detection #{} [{}/{}] {}", id.value, to_string(d.type),
                          to_string(d.level), d.evidence);
              publish_event(self->system(),
                            {0, 0, event_kind::detection, d.service, d.instance, switchover_id{0},
                             fmt::format("detection #{} [{}/{}{}] {}", id.value, to_string(d.type),
                                         to_string(d.level), d.affects_primary ? ", primary" : "",
                                         d.evidence)});
              if (!c.forward)
                return;
              if (auto coord = lookup<coordinator_actor>(self->system(), names::coordinator))
                self->send(coord, std::move(d));
            },
            [d = c.detection](caf::error& err) {
              spdlog::error("{} detection for {} could not be persisted ({}): not acting on it",
                            to_string(d.type), d.instance.value, describe(err));
            });
  }
}

} // namespace

classifier_full_actor::behavior_type
failure_classifier(classifier_full_actor::stateful_pointer<failure_classifier_state> self) {
  return {
      [self](health_transition& t) {
        static auto& depth = metrics::registry::global().gauge_for(
            "switchyard_mailbox_depth", "Messages waiting in an actor's mailbox when last sampled.",
            {{"actor", "failure_classifier"}});
        depth.set(static_cast<double>(self->mailbox().size()));
        auto& sys = self->system();
        if (auto store = lookup<store_actor>(sys, names::store))
          caf::anon_send(store, t);
        if (auto coord = lookup<coordinator_actor>(sys, names::coordinator))
          caf::anon_send(coord, t);
        publish_event(sys,
                      {0, 0, event_kind::health, t.service, t.instance, switchover_id{0},
                       fmt::format("{} -> {}: {}", to_string(t.from), to_string(t.to), t.reason)});
        persist(self, self->state.rules.classify(t, self->clock().now()));
      },
      [self](service_topology& topo) {
        if (auto perf = lookup<performance_monitor_actor>(self->system(), names::performance))
          self->send(perf, topo); // it names the primary in degraded detections
        self->state.rules.set_primary(topo.service.value, topo.primary.value, self->clock().now());
      },
      [self](hold_atom) { persist(self, self->state.rules.release_due(self->clock().now())); },
      // Recorded, never handed to the coordinator: a degraded instance is not failed over.
      [self](performance_verdict& v) {
        failure_detection d;
        d.service = v.service;
        d.instance = v.instance;
        d.type = v.degraded ? failure_type::degraded : failure_type::recovered;
        d.level = v.degraded ? severity::warning : severity::info;
        d.affects_primary = v.primary;
        d.evidence = std::move(v.evidence);
        d.at = v.at;
        classification out;
        out.detections.push_back({std::move(d), false});
        persist(self, std::move(out));
      },
      [self](config_update& update) {
        if (!update.cfg)
          return;
        if (auto perf = lookup<performance_monitor_actor>(self->system(), names::performance))
          self->send(perf, update); // reloaded services
        auto& st = self->state;
        if (!st.configured)
          st.rules.set_settings(update.cfg->orchestrator.detection);
        st.configured = true;
        st.rules.configure(update.cfg->services);
      },
  };
}

} // namespace switchyard::actors

#include "actors/failure_classifier.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/event_hub.hpp"
#include "actors/fault_injection.hpp"
#include "messages/error.hpp"
#include "observability/metrics.hpp"

namespace switchyard::actors {

namespace {

using classifier_ptr = classifier_full_actor::stateful_pointer<failure_classifier_state>;

void write_detection(classifier_ptr self, classified c);

// Tells the coordinator that a failure of `d`'s instance could not be
// journaled (why), or that it no longer waits for a write (why empty).
void tell_coordinator(classifier_ptr self, const failure_detection& d, std::string why) {
  if (auto coord = self->state.peers->coordinator())
    self->send(coord, unjournaled_detection{d.service, d.instance, std::move(why)});
}

// Arms the retry of unwritten detections (on the hold timer), backing off.
void arm_retry(classifier_ptr self) {
  auto& st = self->state;
  if (st.retry_armed)
    return;
  st.retry_armed = true;
  self->delayed_send(self, st.retry_delay, hold_atom::value);
  st.retry_delay = std::min(st.retry_delay * 2, failure_classifier_state::last_retry);
}

// Writes the unwritten detections again, for failures that still last.
void retry_unwritten(classifier_ptr self) {
  auto& st = self->state;
  st.retry_armed = false;
  auto due = std::move(st.unwritten);
  st.unwritten.clear();
  for (auto& [instance, c] : due) {
    if (!st.rules.has_open_failure(instance)) {
      spdlog::info("{}: recovered before its detection could be written: not retried", instance);
      if (st.announced.erase(instance) > 0)
        tell_coordinator(self, c.detection, {});
      continue;
    }
    write_detection(self, std::move(c));
  }
}

// A detection the coordinator would act on could not be written: a failure
// is kept to be written again while it lasts (what a full disk needs: it is
// acted on once space is freed), said once in an alert and to the coordinator.
void keep_unwritten(classifier_ptr self, classified c, const std::string& why) {
  auto& st = self->state;
  const auto& d = c.detection;
  const auto& instance = d.instance.value;
  if (d.type == failure_type::recovered || !st.rules.has_open_failure(instance)) {
    if (st.announced.erase(instance) > 0) // nothing to act on any more
      tell_coordinator(self, d, {});
    return;
  }
  if (st.announced.insert(instance).second) {
    publish_event(
        *st.peers,
        {0, 0, event_kind::alert, d.service, d.instance, switchover_id{0},
         fmt::format("ALERT: {} detection of {}{} could not be journaled ({}): no "
                     "failover until it is written; switchyardd retries while it lasts",
                     to_string(d.type), instance, d.affects_primary ? " (primary)" : "", why)});
    tell_coordinator(self, d,
                     fmt::format("a failure of {} could not be journaled ({}): nothing acts on "
                                 "it until it is; retrying",
                                 instance, why));
  }
  st.unwritten[instance] = std::move(c);
  arm_retry(self);
}

// Persists one detection; only what is persisted is published and, if marked
// so, handed to the coordinator: nobody acts on a detection that is not in
// the database. The store hands a marked one to the coordinator itself once
// it is committed (detection_to_act_on), a hop shorter than through here.
void write_detection(classifier_ptr self, classified c) {
  auto store = self->state.peers->store();
  if (!store) {
    spdlog::error("{} detection for {} not persisted (store unavailable): not acting on it yet",
                  to_string(c.detection.type), c.detection.instance.value);
    if (c.forward)
      keep_unwritten(self, std::move(c), "the store is not running");
    return;
  }
  // The coordinator was told this failure could not be journaled: the store
  // tells it that it is, before the detection itself.
  const bool clears = c.forward && self->state.announced.count(c.detection.instance.value) > 0;
  auto written = [self, c, clears](detection_id id) mutable {
    auto& d = c.detection;
    d.id = id;
    self->state.rules.persisted(d, id);
    spdlog::log(d.level == severity::critical ? spdlog::level::warn : spdlog::level::info,
                "detection #{} [{}/{}] {}", id.value, to_string(d.type), to_string(d.level),
                d.evidence);
    if (!c.forward) {
      publish_event(*self->state.peers, detection_event(d));
      return; // the store published one it handed on, before the coordinator had it
    }
    auto& st = self->state;
    if (st.unwritten.empty())
      st.retry_delay = failure_classifier_state::first_retry;
    // Announced while this write was on its way (an earlier one failed): the
    // store did not know to say it is over.
    if (st.announced.erase(d.instance.value) > 0 && !clears)
      tell_coordinator(self, d, {});
  };
  auto failed = [self, c](caf::error& err) mutable {
    auto why = describe(err);
    spdlog::error("{} detection for {} could not be persisted ({}): not acting on it{}",
                  to_string(c.detection.type), c.detection.instance.value, why,
                  c.forward ? " until it is" : "");
    if (c.forward)
      keep_unwritten(self, std::move(c), why);
  };
  if (c.forward)
    self->request(store, std::chrono::seconds(10), detection_to_act_on{c.detection, clears})
        .then(std::move(written), std::move(failed));
  else
    self->request(store, std::chrono::seconds(10), c.detection)
        .then(std::move(written), std::move(failed));
}

// At start: the health transitions an earlier switchyardd recorded within the
// flapping window count towards flapping here too.
void load_flapping_history(classifier_ptr self, caf::timespan window) {
  auto store = self->state.peers->store();
  if (!store)
    return;
  auto wall_now = wall_clock_ms();
  auto since = wall_now - std::chrono::duration_cast<std::chrono::milliseconds>(window).count();
  self->request(store, std::chrono::seconds(10), health_history_query{since})
      .then(
          [self, wall_now](health_event_list& events) {
            auto now = self->clock().now();
            for (const auto& e : events)
              self->state.rules.remember_transition(
                  e.service.value, e.instance.value,
                  now - std::chrono::milliseconds(std::max<std::int64_t>(0, wall_now - e.at_ms)),
                  now);
          },
          [](caf::error& err) {
            spdlog::warn("classifier: the health history could not be read ({}): flapping "
                         "counts from now",
                         describe(err));
          });
}

// A service's primary, from the coordinator or the journal: applied unless a
// newer epoch is already known (the two may arrive in either order).
void apply_primary(classifier_ptr self, service_topology topo) {
  auto& known = self->state.primary_epochs[topo.service.value];
  if (topo.current_epoch.value < known)
    return;
  known = topo.current_epoch.value;
  self->state.rules.set_primary(topo.service.value, topo.primary.value, self->clock().now());
  if (auto perf = self->state.peers->performance())
    self->send(perf, std::move(topo)); // it names the primary in degraded detections
}

// At start: the primaries from the journal. The coordinator tells a classifier
// the primaries when it loads them and after each failover; a classifier
// restarted alone (by its supervisor) would otherwise take the configured
// primaries for the real ones until the next failover, and rate a failure of
// a promoted primary as a standby's: no failover.
void load_primaries(classifier_ptr self) {
  auto store = self->state.peers->store();
  if (!store)
    return;
  self->request(store, std::chrono::seconds(10), load_topo_atom::value)
      .then(
          [self](topology_list& topo) {
            for (auto& t : topo)
              if (!t.primary.value.empty())
                apply_primary(self, std::move(t));
          },
          [](caf::error& err) {
            spdlog::warn("classifier: the primaries could not be read from the journal ({}): "
                         "until the coordinator says, the configured ones are assumed",
                         describe(err));
          });
}

// Persists each detection in order (see write_detection).
void persist(classifier_ptr self, classification out) {
  if (out.wake_after)
    self->delayed_send(self, *out.wake_after, hold_atom::value);
  for (auto& c : out.detections)
    write_detection(self, std::move(c));
}

} // namespace

classifier_full_actor::behavior_type
failure_classifier(classifier_full_actor::stateful_pointer<failure_classifier_state> self,
                   peers_ptr peers) {
  self->state.peers = std::move(peers);
  self->state.mailbox_depth =
      &metrics::mailbox_depth(self->state.peers->metrics(), "failure_classifier");
  return {
      [self](health_transition& t) {
        trace_hop(t.service.value, "classifier");
        self->state.mailbox_depth->set(static_cast<double>(self->mailbox().size()));
        const auto& to = *self->state.peers;
        if (auto store = to.store())
          caf::anon_send(store, t);
        if (auto coord = to.coordinator())
          caf::anon_send(coord, t);
        publish_event(to,
                      {0, 0, event_kind::health, t.service, t.instance, switchover_id{0},
                       fmt::format("{} -> {}: {}", to_string(t.from), to_string(t.to), t.reason)});
        persist(self, self->state.rules.classify(t, self->clock().now()));
      },
      [self](service_topology& topo) { apply_primary(self, std::move(topo)); },
      // Held failures due, and detections whose write failed (both on this timer).
      [self](hold_atom) {
        persist(self, self->state.rules.release_due(self->clock().now()));
        if (self->state.retry_armed)
          retry_unwritten(self);
      },
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
        auto& st = self->state;
        if (auto perf = st.peers->performance())
          self->send(perf, update); // reloaded services
        const bool first = !st.configured;
        if (first) {
          st.rules.set_settings(update.cfg->orchestrator.detection);
          load_flapping_history(self,
                                caf::timespan{update.cfg->orchestrator.detection.flapping.window});
        }
        st.configured = true;
        st.rules.configure(update.cfg->services);
        if (first) // after configure(): its services are known
          load_primaries(self);
      },
  };
}

} // namespace switchyard::actors

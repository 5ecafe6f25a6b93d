#include "actors/store.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/event_hub.hpp"
#include "messages/error.hpp"

namespace switchyard::actors {

namespace {

// Logs a failed write; the error still goes back to the requester, which
// must not act on what was not recorded.
template <class T> caf::result<T> reply(caf::expected<T> x, const char* what) {
  if (!x)
    spdlog::error("store: {} failed: {}", what, describe(x.error()));
  return x;
}

caf::result<caf::ok_atom> reply_ok(caf::expected<void> x, const char* what) {
  if (!x) {
    spdlog::error("store: {} failed: {}", what, describe(x.error()));
    return x.error();
  }
  return caf::ok_atom::value;
}

} // namespace

store_actor::behavior_type store(store_actor::stateful_pointer<store_state> self,
                                 std::shared_ptr<const config::switchyard_config> cfg) {
  // On failure the actor quits right after this function returns (the handlers
  // below never run without a database); the supervisor restarts it with backoff.
  auto path = cfg->database_path();
  auto opened = persistence::sqlite_store::open(path);
  if (!opened) {
    spdlog::error("store: cannot open {}: {}", path, describe(opened.error()));
    self->quit(opened.error());
  } else if (auto synced = (*opened)->sync_config(*cfg); !synced) {
    spdlog::error("store: recording the configured services failed: {}", describe(synced.error()));
    self->quit(synced.error());
  } else {
    // Switchovers a stopped switchyardd left running are resumed by the coordinator.
    self->state.db = std::move(*opened);
    spdlog::info("store: {} (schema v{}, journal {})", path, self->state.db->schema_version(),
                 self->state.db->journal_mode());
  }
  return {
      [self](health_transition& t) {
        if (auto r = self->state.db->record_health(t); !r)
          spdlog::warn("store: health history row lost: {}", describe(r.error()));
      },
      [self](failure_detection& d) -> caf::result<detection_id> {
        return reply(self->state.db->record_detection(d), "recording a detection");
      },
      [self](failover_plan& p) -> caf::result<std::int64_t> {
        return reply(self->state.db->save_plan(p), "saving a plan");
      },
      [self](switchover_start& s) -> caf::result<switchover_id> {
        return reply(self->state.db->begin_switchover(s), "opening a switchover");
      },
      [self](step_start& s) -> caf::result<step_id> {
        return reply(self->state.db->begin_step(s), "journaling a step start");
      },
      [self](step_finish& s) -> caf::result<caf::ok_atom> {
        return reply_ok(self->state.db->finish_step(s), "journaling a step end");
      },
      [self](switchover_finish& s) -> caf::result<caf::ok_atom> {
        return reply_ok(self->state.db->finish_switchover(s), "closing a switchover");
      },
      [self](load_topo_atom) -> caf::result<topology_list> {
        return reply(self->state.db->load_topology(), "loading the topology");
      },
      [self](switchovers_query& q) -> caf::result<switchover_record_list> {
        auto rows = self->state.db->list_switchovers(q.service);
        if (rows && q.limit > 0 && rows->size() > q.limit)
          rows->resize(q.limit);
        return reply(std::move(rows), "listing switchovers");
      },
      [self](switchover_id id) -> caf::result<switchover_detail> {
        return reply(self->state.db->get_switchover(id), "reading a switchover");
      },
      [self](detections_query& q) -> caf::result<detection_record_list> {
        auto rows = self->state.db->list_detections(q.service);
        if (rows && q.limit > 0 && rows->size() > q.limit)
          rows->resize(q.limit);
        return reply(std::move(rows), "listing detections");
      },
      [self](decision_record& d) -> caf::result<std::int64_t> {
        return reply(self->state.db->record_decision(d), "journaling a decision");
      },
      [self](decisions_query& q) -> caf::result<decision_record_list> {
        return reply(self->state.db->list_decisions(q.service, q.limit), "listing decisions");
      },
      [self](availability_query& q) -> caf::result<availability_list> {
        return reply(self->state.db->availability(q.service.value, q.now_ms),
                     "computing availability");
      },
      [self](plan_atom, service_id& service) -> caf::result<plan_record> {
        auto plan = self->state.db->latest_plan(service.value);
        if (!plan)
          return reply<plan_record>(plan.error(), "reading a plan");
        return *plan ? **plan : plan_record{service, 0, {}, 0};
      },
      [self](audit_record& a) -> caf::result<std::int64_t> {
        return reply(self->state.db->record_audit(a), "writing the audit trail");
      },
      [self](audit_query& q) -> caf::result<audit_record_list> {
        return reply(self->state.db->list_audit(q.limit), "reading the audit trail");
      },
      [self](maintenance_record& m) -> caf::result<caf::ok_atom> {
        return reply_ok(self->state.db->set_maintenance(m), "recording maintenance");
      },
      [self](maintenance_clear& m) -> caf::result<caf::ok_atom> {
        return reply_ok(self->state.db->clear_maintenance(m), "ending maintenance");
      },
      [self](config_update& update) -> caf::result<caf::ok_atom> {
        return reply_ok(self->state.db->sync_config(*update.cfg),
                        "recording the reloaded configuration");
      },
      [self](resume_atom) -> caf::result<interrupted_list> {
        return reply(self->state.db->interrupted_switchovers(), "reading interrupted switchovers");
      },
      [self](maint_atom) -> caf::result<maintenance_list> {
        return reply(self->state.db->list_maintenance(wall_clock_ms()), "loading maintenance");
      },
  };
}

} // namespace switchyard::actors

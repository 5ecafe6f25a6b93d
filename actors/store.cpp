#include "actors/store.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/event_hub.hpp"
#include "actors/fault_injection.hpp"
#include "messages/error.hpp"
#include "observability/metrics.hpp"

namespace switchyard::actors {

namespace {

// Logs a failed write; the error still goes back to the requester, which
// must not act on what was not recorded.
template <class T> caf::result<T> reply(caf::expected<T> x, const char* what) {
  if (!x)
    spdlog::error("store: {} failed: {}", what, describe(x.error()));
  return x;
}

using store_self = store_actor::stateful_pointer<store_state>;
using steady = std::chrono::steady_clock;

// What a journal write records, as the label of
// switchyard_journal_write_failures_total (each is shown at 0 from the start).
constexpr const char* journal_records[] = {"health",   "detection", "switchover", "step",
                                           "decision", "plan",      "audit",      "maintenance",
                                           "config",   "site",      "drill",      "backup"};

metrics::counter& write_failures(metrics::registry& registry, const char* record) {
  return registry.counter_for(
      "switchyard_journal_write_failures_total",
      "Journal writes that failed (nothing of them was written), by what they record.",
      {{"record", record}});
}

// A failed write: counted, and an alert when writes start failing (not for
// every one while they do); the requester gets the error and must not act.
void write_failed(store_self self, const char* record, const caf::error& err) {
  write_failures(self->state.metrics->registry, record).inc();
  auto& st = self->state;
  if (st.failed_writes++ == 0)
    publish_event(*self->state.peers,
                  {0, 0, event_kind::alert, service_id{}, instance_id{}, switchover_id{0},
                   fmt::format("ALERT: journal writes are failing ({} write: {}): nothing that "
                               "needs a journal row is done until they succeed",
                               record, describe(err))});
}

// A write succeeded: if writes had been failing, say that they work again.
void write_succeeded(store_self self) {
  auto& st = self->state;
  if (st.failed_writes == 0)
    return;
  spdlog::info("store: journal writes succeed again after {} failed", st.failed_writes);
  publish_event(*self->state.peers,
                {0, 0, event_kind::alert, service_id{}, instance_id{}, switchover_id{0},
                 fmt::format("journal writes succeed again (after {} failed)", st.failed_writes)});
  st.failed_writes = 0;
}

// A write answered at once (outside the group commit): counted when it failed.
template <class T>
caf::result<T> written(store_self self, caf::expected<T> x, const char* what, const char* record) {
  if (!x) {
    spdlog::error("store: {} failed: {}", what, describe(x.error()));
    write_failed(self, record, x.error());
  } else {
    write_succeeded(self);
  }
  return x;
}

caf::result<caf::ok_atom> written_ok(store_self self, caf::expected<void> x, const char* what,
                                     const char* record) {
  if (!x)
    return written<caf::ok_atom>(self, x.error(), what, record);
  return written<caf::ok_atom>(self, caf::ok_atom::value, what, record);
}

} // namespace

store_metrics::store_metrics(metrics::registry& r)
    : registry(r),
      write_seconds(r.histogram_for(
          "switchyard_journal_write_duration_seconds",
          "Duration of one SQLite transaction of the store (a group commit of journal writes).")),
      rows(r.counter_for("switchyard_journal_rows_total",
                         "Journal rows written by the store (committed).")),
      mailbox(metrics::mailbox_depth(r, "store")) {}

namespace {

// Commits every pending write in one transaction, then answers each: its own
// result when the commit succeeded, the commit's error otherwise (none of the
// batch was written). Nobody is answered before their row is durable.
void flush(store_self self) {
  auto& st = self->state;
  if (st.batch.empty())
    return;
  auto batch = std::move(st.batch);
  st.batch.clear();
  auto& m = *st.metrics;
  m.mailbox.set(static_cast<double>(self->mailbox().size()));
  auto started = steady::now();
  caf::error failure;
  std::size_t rows = 0;
  if (auto b = st.db->begin_batch(); !b) {
    failure = b.error();
  } else {
    if (st.options.after_begin)
      st.options.after_begin(*st.db);
    for (auto& w : batch) {
      if (!st.db->batch_intact()) {
        // SQLite rolled the transaction back after an error: the writes so
        // far are gone and the rest must not commit one by one.
        failure = make_sy_error(sy_errc::storage_failure,
                                "the group commit's transaction was rolled back by SQLite");
        break;
      }
      if (w.run())
        ++rows;
    }
    if (failure)
      st.db->rollback_batch();
    else if (auto c = st.db->commit_batch(); !c)
      failure = c.error();
  }
  ++st.commits;
  m.write_seconds.observe(std::chrono::duration<double>(steady::now() - started).count());
  if (failure) {
    spdlog::error("store: committing {} journal write(s) failed, none was written: {}",
                  batch.size(), describe(failure));
  } else {
    m.rows.inc(static_cast<double>(rows));
  }
  for (auto& w : batch)
    w.settle(failure);
}

// Queues a write for the next group commit. The first write of a batch sends
// the store a flush to itself: everything already in the mailbox before it
// joins the batch.
void enqueue(store_self self, pending_write w) {
  auto& st = self->state;
  st.batch.push_back(std::move(w));
  if (st.batch.size() >= st.options.max_batch) {
    flush(self);
  } else if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->send(self, flush_atom::value);
  }
}

// A journal write answered with T after the commit; `on_commit` runs (e.g. to
// count it) only when it was written.
template <class T, class Write, class OnCommit>
caf::result<T> journal(store_self self, const char* what, const char* record, Write write,
                       OnCommit on_commit) {
  auto rp = self->make_response_promise<T>();
  auto result = std::make_shared<caf::expected<T>>(caf::error{});
  enqueue(self, {[result, write, what]() mutable {
                   *result = write();
                   if (!*result)
                     spdlog::error("store: {} failed: {}", what, describe(result->error()));
                   return static_cast<bool>(*result);
                 },
                 [self, rp, result, on_commit, record](const caf::error& commit_error) mutable {
                   if (commit_error || !*result) {
                     auto err = commit_error ? commit_error : result->error();
                     write_failed(self, record, err);
                     rp.deliver(err);
                   } else {
                     write_succeeded(self);
                     on_commit(**result);
                     rp.deliver(std::move(**result));
                   }
                 }});
  return rp;
}

void count_detection(store_self self, failure_type type, severity level) {
  self->state.metrics->registry
      .counter_for("switchyard_detections_total", "Failure detections persisted.",
                   {{"type", to_string(type)}, {"severity", to_string(level)}})
      .inc();
}

} // namespace

store_actor::behavior_type store(store_actor::stateful_pointer<store_state> self,
                                 std::shared_ptr<const config::switchyard_config> cfg,
                                 peers_ptr peers) {
  return store_with(self, std::move(cfg), std::move(peers), store_options{});
}

store_actor::behavior_type store_with(store_actor::stateful_pointer<store_state> self,
                                      std::shared_ptr<const config::switchyard_config> cfg,
                                      peers_ptr peers, store_options options) {
  if (options.max_batch == 0)
    options.max_batch = 1;
  self->state.options = std::move(options);
  self->state.peers = std::move(peers);
  self->state.metrics.emplace(self->state.peers->metrics());
  // On failure the actor quits right after this function returns (the handlers
  // below never run without a database); the supervisor restarts it with backoff.
  auto path = cfg->database_path();
  auto opened = persistence::sqlite_store::open(path, self->state.peers->switchover_ids());
  if (!opened) {
    spdlog::error("store: cannot open {}: {}", path, describe(opened.error()));
    self->quit(opened.error());
  } else if (auto synced = (*opened)->sync_config(*cfg); !synced) {
    spdlog::error("store: recording the configured services failed: {}", describe(synced.error()));
    self->quit(synced.error());
  } else {
    // Switchovers a stopped switchyardd left running are resumed by the coordinator.
    self->state.db = std::move(*opened);
    self->state.database_path = path;
    // A backup that was running when switchyardd stopped never reached its
    // artifact's final name: failed, never listed as restorable.
    if (auto n = self->state.db->fail_interrupted_backups(
            "interrupted: switchyardd stopped while it ran");
        n && *n > 0)
      spdlog::warn("store: {} backup(s) interrupted by a stop marked failed", *n);
    for (const auto* record : journal_records)
      write_failures(self->state.metrics->registry, record); // every series from the start, at 0
    spdlog::info("store: {} (schema v{}, journal {})", path, self->state.db->schema_version(),
                 self->state.db->journal_mode());
  }
  return {
      [self](health_transition& t) {
        auto lost = std::make_shared<caf::error>();
        enqueue(self, {[self, t, lost] {
                         auto r = self->state.db->record_health(t);
                         if (!r)
                           *lost = r.error();
                         return static_cast<bool>(r);
                       },
                       [self, lost](const caf::error& commit_error) {
                         if (commit_error || *lost) {
                           auto err = commit_error ? commit_error : *lost;
                           spdlog::warn("store: health history row lost: {}", describe(err));
                           write_failed(self, "health", err);
                         } else {
                           write_succeeded(self);
                         }
                       }});
      },
      [self](failure_detection& d) -> caf::result<detection_id> {
        return journal<detection_id>(
            self, "recording a detection", "detection",
            [self, d] { return self->state.db->record_detection(d); },
            [self, type = d.type, level = d.level](const detection_id&) {
              count_detection(self, type, level);
            });
      },
      [self](detection_to_act_on& a) -> caf::result<detection_id> {
        trace_hop(a.detection.service.value, "store_has_detection");
        return journal<detection_id>(
            self, "recording a detection", "detection",
            [self, d = a.detection] { return self->state.db->record_detection(d); },
            [self, a](const detection_id& id) mutable {
              trace_hop(a.detection.service.value, "detection_committed");
              count_detection(self, a.detection.type, a.detection.level);
              a.detection.id = id;
              // Watchers see the detection before any decision on it.
              publish_event(*self->state.peers, detection_event(a.detection));
              auto coord = self->state.peers->coordinator();
              if (!coord)
                return; // restarting: as through the classifier, nobody to tell
              if (a.clears_unjournaled)
                caf::anon_send(
                    coord, unjournaled_detection{a.detection.service, a.detection.instance, {}});
              caf::anon_send(coord, std::move(a.detection));
            });
      },
      [self](flush_atom) {
        self->state.flush_scheduled = false;
        flush(self);
      },
      [self](failover_plan& p) -> caf::result<std::int64_t> {
        flush(self); // answer in order: after the writes received before
        return written(self, self->state.db->save_plan(p), "saving a plan", "plan");
      },
      [self](switchover_start& s) -> caf::result<switchover_id> {
        return journal<switchover_id>(
            self, "opening a switchover", "switchover",
            [self, s] { return self->state.db->open_switchover(s); }, [](const switchover_id&) {});
      },
      [self](switchover_opening& o) -> caf::result<step_id> {
        trace_hop(o.start.service.value, "store_has_opening");
        return journal<step_id>(
            self, "opening a switchover with its first step", "switchover",
            [self, o] {
              auto r = self->state.db->open_switchover_with_step(o.start, o.first_step);
              trace_hop(o.start.service.value, "opening_written");
              return r;
            },
            [self, phase = o.first_step.step.phase,
             svc = o.start.service.value](const step_id& id) {
              trace_hop(svc, "opening_committed");
              self->state.steps_running[id.value] = {phase, steady::now()};
            });
      },
      [self](step_start& s) -> caf::result<step_id> {
        return journal<step_id>(
            self, "journaling a step start", "step",
            [self, s] { return self->state.db->begin_step(s); },
            [self, phase = s.step.phase](const step_id& id) {
              self->state.steps_running[id.value] = {phase, steady::now()};
            });
      },
      [self](step_finish& s) -> caf::result<caf::ok_atom> {
        return journal<caf::ok_atom>(
            self, "journaling a step end", "step",
            [self, s]() -> caf::expected<caf::ok_atom> {
              if (auto r = self->state.db->finish_step(s); !r)
                return r.error();
              return caf::ok_atom::value;
            },
            [self, step = s.step.value](const caf::ok_atom&) {
              auto& running = self->state.steps_running;
              if (auto i = running.find(step); i != running.end()) {
                self->state.metrics->registry
                    .histogram_for("switchyard_step_duration_seconds",
                                   "Duration of a failover step, journaled start to end.",
                                   {{"phase", to_string(i->second.first)}})
                    .observe(
                        std::chrono::duration<double>(steady::now() - i->second.second).count());
                running.erase(i);
              }
            });
      },
      [self](switchover_finish& s) -> caf::result<caf::ok_atom> {
        auto kind = std::make_shared<switchover_kind>(switchover_kind::automatic_failover);
        return journal<caf::ok_atom>(
            self, "closing a switchover", "switchover",
            [self, s, kind]() -> caf::expected<caf::ok_atom> {
              if (auto k = self->state.db->switchover_kind_of(s.switchover); k)
                *kind = *k;
              if (auto r = self->state.db->finish_switchover(s); !r)
                return r.error();
              return caf::ok_atom::value;
            },
            [self, kind, status = s.status](const caf::ok_atom&) {
              self->state.metrics->registry
                  .counter_for("switchyard_switchovers_total",
                               "Switchovers closed, by kind and outcome.",
                               {{"kind", to_string(*kind)},
                                {"outcome",
                                 status == switchover_status::completed ? "completed" : "failed"}})
                  .inc();
            });
      },
      [self](load_topo_atom) -> caf::result<topology_list> {
        flush(self); // answer in order: after the writes received before
        return reply(self->state.db->load_topology(), "loading the topology");
      },
      [self](switchovers_query& q) -> caf::result<switchover_record_list> {
        flush(self); // answer in order: after the writes received before
        auto rows = self->state.db->list_switchovers(q.service);
        if (rows && q.limit > 0 && rows->size() > q.limit)
          rows->resize(q.limit);
        return reply(std::move(rows), "listing switchovers");
      },
      [self](switchover_id id) -> caf::result<switchover_detail> {
        flush(self); // answer in order: after the writes received before
        return reply(self->state.db->get_switchover(id), "reading a switchover");
      },
      [self](detections_query& q) -> caf::result<detection_record_list> {
        flush(self); // answer in order: after the writes received before
        auto rows = self->state.db->list_detections(q.service);
        if (rows && q.limit > 0 && rows->size() > q.limit)
          rows->resize(q.limit);
        return reply(std::move(rows), "listing detections");
      },
      [self](health_history_query& q) -> caf::result<health_event_list> {
        flush(self); // answer in order: after the writes received before
        return reply(self->state.db->health_since(q.since_ms), "reading the health history");
      },
      [self](decision_record& d) -> caf::result<std::int64_t> {
        flush(self); // answer in order: after the writes received before
        return written(self, self->state.db->record_decision(d), "journaling a decision",
                       "decision");
      },
      [self](decisions_query& q) -> caf::result<decision_record_list> {
        flush(self); // answer in order: after the writes received before
        return reply(self->state.db->list_decisions(q.service, q.limit), "listing decisions");
      },
      [self](availability_query& q) -> caf::result<availability_list> {
        flush(self); // answer in order: after the writes received before
        return reply(self->state.db->availability(q.service.value, q.now_ms),
                     "computing availability");
      },
      [self](plan_atom, service_id& service) -> caf::result<plan_record> {
        flush(self); // answer in order: after the writes received before
        auto plan = self->state.db->latest_plan(service.value);
        if (!plan)
          return reply<plan_record>(plan.error(), "reading a plan");
        return *plan ? **plan : plan_record{service, 0, {}, 0};
      },
      [self](audit_record& a) -> caf::result<std::int64_t> {
        flush(self); // answer in order: after the writes received before
        return written(self, self->state.db->record_audit(a), "writing the audit trail", "audit");
      },
      [self](audit_query& q) -> caf::result<audit_record_list> {
        flush(self); // answer in order: after the writes received before
        return reply(self->state.db->list_audit(q.limit), "reading the audit trail");
      },
      [self](maintenance_record& m) -> caf::result<caf::ok_atom> {
        flush(self); // answer in order: after the writes received before
        return written_ok(self, self->state.db->set_maintenance(m), "recording maintenance",
                          "maintenance");
      },
      [self](maintenance_clear& m) -> caf::result<caf::ok_atom> {
        flush(self); // answer in order: after the writes received before
        return written_ok(self, self->state.db->clear_maintenance(m), "ending maintenance",
                          "maintenance");
      },
      [self](config_update& update) -> caf::result<caf::ok_atom> {
        flush(self); // answer in order: after the writes received before
        return written_ok(self, self->state.db->sync_config(*update.cfg),
                          "recording the reloaded configuration", "config");
      },
      [self](resume_atom) -> caf::result<interrupted_list> {
        flush(self); // answer in order: after the writes received before
        return reply(self->state.db->interrupted_switchovers(), "reading interrupted switchovers");
      },
      [self](maint_atom) -> caf::result<maintenance_list> {
        flush(self); // answer in order: after the writes received before
        return reply(self->state.db->list_maintenance(wall_clock_ms()), "loading maintenance");
      },
      [self](site_save& x) -> caf::result<std::int64_t> {
        flush(self); // answer in order: after the writes received before
        return written(self, self->state.db->save_site(x.record), "journaling a site switchover",
                       "site");
      },
      [self](site_query& q) -> caf::result<site_record_list> {
        flush(self); // answer in order: after the writes received before
        return reply(self->state.db->list_sites(q), "reading site switchovers");
      },
      [self](drill_save& x) -> caf::result<std::int64_t> {
        flush(self); // answer in order: after the writes received before
        return written(self, self->state.db->save_drill(x.report), "recording a drill", "drill");
      },
      [self](drill_query& q) -> caf::result<drill_report_list> {
        flush(self); // answer in order: after the writes received before
        return reply(self->state.db->list_drills(q), "reading drills");
      },
      [self](drill_atom) -> caf::result<service_drill_list> {
        flush(self); // answer in order: after the writes received before
        return reply(self->state.db->last_drills(), "reading the last drills");
      },
      [self](backup_begin& b) -> caf::result<std::int64_t> {
        flush(self); // answer in order: after the writes received before
        return written(self, self->state.db->begin_backup(b.record), "cataloguing a backup",
                       "backup");
      },
      [self](backup_finish& b) -> caf::result<caf::ok_atom> {
        flush(self); // answer in order: after the writes received before
        return written_ok(self, self->state.db->finish_backup(b.record),
                          "recording a backup's outcome", "backup");
      },
      [self](backup_verification& v) -> caf::result<caf::ok_atom> {
        flush(self); // answer in order: after the writes received before
        return written_ok(self,
                          self->state.db->record_verification(v.id, v.passed, v.at_ms, v.error),
                          "recording a verification", "backup");
      },
      [self](backups_query& q) -> caf::result<backup_list> {
        flush(self); // answer in order: after the writes received before
        return reply(self->state.db->list_backups(q.service, q.id), "reading the backup catalog");
      },
      [self](backup_forget& f) -> caf::result<caf::ok_atom> {
        flush(self); // answer in order: after the writes received before
        return written_ok(self, self->state.db->forget_backups(f.ids), "forgetting backups",
                          "backup");
      },
      [self](backup_import& i) -> caf::result<caf::ok_atom> {
        flush(self); // answer in order: after the writes received before
        return written_ok(self, self->state.db->import_backups(i.self, i.backups),
                          "merging replicated backups", "backup");
      },
      [self](state_recorder_query& q) -> caf::result<std::int64_t> {
        return self->state.recorder_base(q.tier);
      },
      [self](state_capture_request& r) -> caf::result<state_capture> {
        // Committed first: a changeset holds only what is durable, and a
        // snapshot must not start inside the batch's transaction.
        flush(self);
        return reply(self->state.capture_state(r), "capturing switchyardd's state for a backup");
      },
  };
}

} // namespace switchyard::actors

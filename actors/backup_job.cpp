// A backup job: one blocking actor (a thread of its own) that takes, verifies
// or restores one service's backups, cataloguing each step through the store
// before and after the I/O, and tells the manager how it went.
#include <filesystem>
#include <set>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/backup_job_detail.hpp"
#include "actors/event_hub.hpp"
#include "backups/backup_jobs.hpp"
#include "backups/backup_source.hpp"
#include "backups/destination.hpp"
#include "backups/record_json.hpp"
#include "messages/error.hpp"
#include "observability/metrics.hpp"
#include "rules/backup_rules.hpp"

namespace switchyard::actors {

namespace detail {

// Healthy standbys first (the primary does not fork for a backup), the
// primary last; the configured order when the coordinator does not answer.
std::vector<std::pair<std::string, std::string>> backup_job::redis_candidates() {
  const auto* svc = spec.cfg->find_service(spec.service);
  std::map<std::string, health_status> health;
  std::string primary;
  if (auto states = ask<service_state_list>(peers->coordinator(), get_state_atom::value))
    for (const auto& s : *states)
      if (s.service.value == spec.service) {
        primary = s.primary.value;
        for (const auto& i : s.instances)
          health[i.instance.value] = i.status;
      }
  std::vector<std::pair<std::string, std::string>> first, last;
  for (const auto& inst : svc->instances) {
    auto address = fmt::format("{}:{}", inst.host, inst.port);
    bool is_primary =
        primary.empty() ? inst.role == config::instance_role::primary : inst.name == primary;
    auto it = health.find(inst.name);
    bool healthy = it == health.end() || it->second == health_status::healthy;
    (!is_primary && healthy ? first : last).emplace_back(inst.name, address);
  }
  first.insert(first.end(), last.begin(), last.end());
  return first;
}

std::unique_ptr<backups::backup_source> backup_job::source(const std::string& tier_name) {
  if (spec.service == state_backup_service)
    return backups::make_state_source(
        [this](const state_capture_request& r) { return ask<state_capture>(peers->store(), r); },
        tier_name);
  const auto& b = *spec.cfg->find_service(spec.service)->backup;
  if (b.source == config::backup_source_kind::exec)
    return backups::make_exec_source(b);
  return backups::make_redis_source(redis_candidates(), b.timeout);
}

void backup_job::event(bool alert, std::string text) {
  publish_event(*peers, {0, 0, alert ? event_kind::alert : event_kind::backup,
                         service_id{spec.service == state_backup_service ? "" : spec.service},
                         instance_id{}, switchover_id{0}, std::move(text)});
}

void backup_job::line(std::string text) {
  spdlog::info("backups: {}: {}", spec.service, text);
  out.lines.push_back(std::move(text));
}

void backup_job::count(const backup_record& b) {
  auto& m = peers->metrics();
  m.counter_for("switchyard_backups_total", "Backups taken, by service, tier and outcome.",
                {{"service", b.service}, {"tier", b.tier}, {"status", to_string(b.status)}})
      .inc();
  if (b.status != backup_status::complete)
    return;
  m.counter_for("switchyard_backup_bytes_total", "Bytes backed up, before and after compression.",
                {{"service", b.service}, {"tier", b.tier}, {"size", "raw"}})
      .inc(static_cast<double>(b.raw_bytes));
  m.counter_for("switchyard_backup_bytes_total", "Bytes backed up, before and after compression.",
                {{"service", b.service}, {"tier", b.tier}, {"size", "stored"}})
      .inc(static_cast<double>(b.stored_bytes));
  m.gauge_for("switchyard_backup_last_success_timestamp_seconds",
              "When the newest complete backup of a tier was taken (unix time).",
              {{"service", b.service}, {"tier", b.tier}})
      .set(static_cast<double>(b.point_ms) / 1000.0);
}

// One backup of one tier; false if it failed.
bool backup_job::take_one(const config::backup_tier_settings& t, bool force_full,
                          std::string& why) {
  backup_list history;
  for (const auto& b : spec.catalog)
    if (b.tier == t.name)
      history.push_back(b);
  auto src = source(t.name);
  std::int64_t base = -1;
  if (src->records_changes()) {
    auto recorded = ask<std::int64_t>(peers->store(), state_recorder_query{t.name});
    base = recorded ? *recorded : 0;
  }
  auto next = rules::choose_next(history, t.full_every, spec.full || force_full,
                                 src->takes_incrementals(), base);
  auto dest = backups::make_destination(t.destination);
  backup_record rec;
  rec.service = spec.service;
  rec.policy = policy().name;
  rec.tier = t.name;
  rec.destination = dest->describe();
  rec.site = t.site;
  rec.medium = t.medium;
  rec.kind = next.kind;
  rec.parent = next.parent;
  rec.trigger = spec.trigger;
  rec.leader_epoch = spec.leader_epoch;
  rec.started_ms = wall_clock_ms();
  // Catalogued before anything is written anywhere: no row, no backup.
  auto id = ask<std::int64_t>(peers->store(), backup_begin{rec});
  if (!id) {
    why = "not catalogued, not taken: " + describe(id.error());
    line(fmt::format("tier {}: {}", t.name, why));
    return false;
  }
  rec.id = *id;
  auto taken = backups::take_backup({src.get(), dest.get(), rec, policy().compression_level,
                                     spec.cfg->backups.work_dir, spec.node});
  if (taken) {
    rec = std::move(*taken);
  } else {
    rec.status = backup_status::failed;
    rec.error = describe(taken.error());
  }
  rec.finished_ms = wall_clock_ms();
  if (auto f = ask<caf::ok_atom>(peers->store(), backup_finish{rec}); !f && taken) {
    // Stored, but the catalog does not say so: it is not listed as
    // restorable, and the next backup does not build on it.
    rec.status = backup_status::failed;
    rec.error = "stored, but its outcome could not be catalogued: " + describe(f.error());
  }
  count(rec);
  replicate(rec);
  spec.catalog.push_back(rec);
  out.used.push_back(rec);
  if (rec.status != backup_status::complete) {
    why = rec.error;
    line(fmt::format("backup #{} ({}, tier {}) failed: {}", rec.id, to_string(rec.kind), t.name,
                     rec.error));
    event(true, fmt::format("ALERT: backup #{} of {} to tier {} failed: {}", rec.id, spec.service,
                            t.name, rec.error));
    return false;
  }
  auto text = fmt::format(
      "backup #{} ({}{}; {}) to tier {}: {} bytes -> {} stored ({:.1f}x) in {} ms", rec.id,
      to_string(rec.kind), rec.parent != 0 ? fmt::format(" on #{}", rec.parent) : "", next.reason,
      t.name, rec.raw_bytes, rec.stored_bytes, rec.ratio(), rec.finished_ms - rec.started_ms);
  line(text);
  event(false, text);
  retain(t, *dest);
  return true;
}

// Retention: the artifacts first, then the rows (a row without its
// artifact would be listed as restorable).
void backup_job::retain(const config::backup_tier_settings& t, backups::destination& dest) {
  backup_list tier;
  for (const auto& b : spec.catalog)
    if (b.tier == t.name)
      tier.push_back(b);
  auto drop = rules::retention_drop(tier, t.keep, t.keep_for, wall_clock_ms());
  std::vector<std::int64_t> gone;
  for (const auto& b : tier) {
    if (std::find(drop.begin(), drop.end(), b.id) == drop.end())
      continue;
    if (b.status == backup_status::complete || b.status == backup_status::corrupt) {
      if (auto r = dest.remove(b.artifact); !r) {
        line(fmt::format("retention: could not remove #{} ({}): {}", b.id, b.artifact,
                         describe(r.error())));
        continue;
      }
      (void)dest.remove(backups::sidecar_name(b.artifact));
    }
    gone.push_back(b.id);
    // Replicated ones are forgotten in etcd too, under the replica that
    // took them: another leader's backups are this leader's to retain now.
    if (spec.service != state_backup_service)
      if (auto f =
              peers->authority().forget_backup(b.service, b.origin.empty() ? spec.node : b.origin,
                                               b.origin.empty() ? b.id : b.origin_id);
          !f)
        line(fmt::format("retention: #{} is still replicated: {}", b.id, describe(f.error())));
  }
  if (gone.empty())
    return;
  if (auto f = ask<caf::ok_atom>(peers->store(), backup_forget{gone}); !f) {
    line("retention: removed artifacts are still catalogued: " + describe(f.error()));
    return;
  }
  line(fmt::format("retention (tier {}: keep {}, keep_for {} ms): dropped {} backup(s)", t.name,
                   t.keep, t.keep_for.count(), gone.size()));
}

void backup_job::replicate(const backup_record& b) {
  // A service backup of this leader's own: the next leader must know it.
  // Switchyardd's own state is every replica's own: not replicated.
  if (spec.service == state_backup_service || !b.origin.empty())
    return;
  if (auto r = peers->authority().record_backup({spec.node, b}); !r)
    line(fmt::format("#{} is not replicated (the next leader will not list it): {}", b.id,
                     describe(r.error())));
}

void backup_job::take() {
  int failed = 0;
  for (const auto& name : spec.tiers) {
    const auto* t = tier(name);
    if (t == nullptr)
      continue;
    std::string why;
    bool ok = take_one(*t, false, why);
    // A failed incremental (its parent's data missing here, say) is
    // followed by a full one: the chain must not stall.
    if (!ok && !out.used.empty() && out.used.back().tier == name &&
        out.used.back().kind == backup_kind::incremental) {
      line(fmt::format("tier {}: taking a full backup instead", name));
      ok = take_one(*t, true, why);
    }
    failed += ok ? 0 : 1;
  }
  out.ok = failed == 0;
  out.detail = failed == 0 ? fmt::format("{} backup(s) taken", spec.tiers.size())
                           : fmt::format("{} of {} tier(s) failed", failed, spec.tiers.size());
}

} // namespace detail

namespace {

void backup_job_actor(caf::blocking_actor* self, backup_job_spec spec, peers_ptr peers,
                      backup_manager_actor manager) {
  struct counted {
    std::atomic<int>& n;
    ~counted() { --n; }
  } running{peers->backup_jobs()};
  detail::backup_job job{self, std::move(peers), spec, {}};
  switch (spec.what) {
  case backup_job_spec::kind::take:
    job.take();
    break;
  case backup_job_spec::kind::verify:
    job.verify();
    break;
  case backup_job_spec::kind::restore:
    job.restore();
    break;
  }
  self->send(manager, backup_job_done{spec.job, std::move(job.out)});
}

} // namespace

void run_backup_job(caf::actor_system& sys, backup_job_spec spec, peers_ptr peers,
                    backup_manager_actor manager) {
  // A blocking actor: a thread of its own for the job's I/O.
  ++peers->backup_jobs();
  sys.spawn(backup_job_actor, std::move(spec), std::move(peers), std::move(manager));
}

} // namespace switchyard::actors

// The backup manager's schedule, requests and compliance (see backup_manager.hpp).
#include "actors/backup_manager.hpp"

#include <algorithm>
#include <chrono>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/event_hub.hpp"
#include "messages/error.hpp"
#include "observability/metrics.hpp"
#include "rules/backup_rules.hpp"

namespace switchyard::actors {

namespace {

using self_ptr = backup_manager_actor::stateful_pointer<backup_manager_state>;
constexpr auto tick_every = std::chrono::seconds(1);
// A restore or verification of a large chain takes as long as its I/O.
constexpr auto default_verify_every = std::chrono::hours(24);

// The site of a service's data: its configured primary's.
std::string site_of(const config::switchyard_config& cfg, const std::string& service) {
  if (const auto* svc = cfg.find_service(service))
    for (const auto& inst : svc->instances)
      if (inst.role == config::instance_role::primary)
        return inst.site;
  return {};
}

void publish_metrics(self_ptr self, const backup_compliance_row& row) {
  auto& m = self->state.peers->metrics();
  metrics::labels l{{"service", row.service}};
  m.gauge_for("switchyard_backup_copies",
              "Tiers holding a verified restorable backup of the service (3-2-1: 3).", l)
      .set(row.copies);
  m.gauge_for("switchyard_backup_media", "Distinct media among those tiers (3-2-1: 2).", l)
      .set(row.media);
  m.gauge_for("switchyard_backup_offsite", "Those tiers off the service's site (3-2-1: 1).", l)
      .set(row.offsite);
  m.gauge_for("switchyard_backup_compliant", "1 when the service's backups meet 3-2-1.", l)
      .set(row.meets_3_2_1 ? 1 : 0);
  m.gauge_for("switchyard_backup_rpo_met",
              "1 when the newest verified backup is within the service's RPO.", l)
      .set(row.rpo_met ? 1 : 0);
  m.gauge_for("switchyard_backup_newest_verified_age_seconds",
              "Age of the newest verified restorable point (-1: none).", l)
      .set(row.age_ms < 0 ? -1.0 : static_cast<double>(row.age_ms) / 1000.0);
}

// Alerts once when a service stops meeting 3-2-1 or its RPO (and says when it
// meets them again); at start only when it has verified backups that do not.
void judge(self_ptr self, const std::string& service, std::int64_t now) {
  auto row = self->state.compliance(service, now);
  publish_metrics(self, row);
  bool ok = row.meets_3_2_1 && row.rpo_met;
  auto [it, fresh] = self->state.compliant.emplace(service, ok);
  if (!fresh && it->second == ok)
    return;
  it->second = ok;
  // At start: only a breach of backups that exist (old ones past the RPO,
  // too few verified copies); a service not backed up yet is about to be.
  if (fresh && (ok || row.age_ms < 0))
    return;
  std::string gaps;
  for (const auto& g : row.gaps)
    gaps += (gaps.empty() ? "" : "; ") + g;
  publish_event(*self->state.peers,
                {0, 0, ok ? event_kind::backup : event_kind::alert,
                 service_id{service == state_backup_service ? "" : service}, instance_id{},
                 switchover_id{0},
                 ok ? fmt::format("backups of {} meet 3-2-1 and RPO again", service)
                    : fmt::format("ALERT: backups of {} do not meet {}: {}", service,
                                  row.meets_3_2_1 ? "RPO" : "3-2-1", gaps)});
}

// Starts a job for `spec.service` (busy until it reports).
std::int64_t start(self_ptr self, backup_job_spec spec) {
  auto& st = self->state;
  spec.job = st.next_job++;
  spec.cfg = st.cfg;
  spec.node = st.node;
  spec.catalog = st.catalog[spec.service];
  spec.leader_epoch = st.peers->authority().epoch();
  st.busy[spec.service] = spec.job;
  st.job_service[spec.job] = spec.service;
  auto job = spec.job;
  run_backup_job(self->system(), std::move(spec), st.peers, self);
  return job;
}

caf::error refuse_busy(self_ptr self, const std::string& service) {
  return make_sy_error(sy_errc::already_in_progress,
                       fmt::format("a backup job of {} is running (job {}): try again when it "
                                   "ends",
                                   service, self->state.busy[service]));
}

caf::expected<void> check_backed_up(self_ptr self, const std::string& service) {
  if (self->state.policy_of(service) != nullptr)
    return {};
  if (service != state_backup_service && self->state.cfg->find_service(service) == nullptr)
    return make_sy_error(sy_errc::unknown_service, "no service " + service);
  return make_sy_error(
      sy_errc::not_found,
      service == state_backup_service
          ? std::string{"switchyardd's state has no backup policy "
                        "(backups.state.policy)"}
          : fmt::format("{} has no backup policy (services[].backup.policy)", service));
}

void tick(self_ptr self) {
  auto& st = self->state;
  auto now = wall_clock_ms();
  for (const auto& service : st.backed_up()) {
    judge(self, service, now);
    if (st.busy.count(service) > 0)
      continue;
    // Only the leader backs the services up (the state is every replica's own).
    if (service != state_backup_service && !st.peers->authority().may_act())
      continue;
    if (auto tiers = st.due_tiers(service, now); !tiers.empty()) {
      backup_job_spec spec;
      spec.service = service;
      spec.tiers = std::move(tiers);
      spec.trigger = "schedule";
      start(self, std::move(spec));
    } else if (auto points = st.due_verifications(service, now); !points.empty()) {
      backup_job_spec spec;
      spec.what = backup_job_spec::kind::verify;
      spec.service = service;
      spec.points = std::move(points);
      spec.trigger = "schedule";
      start(self, std::move(spec));
    }
  }
}

} // namespace

// -- state --------------------------------------------------------------------

const config::backup_policy_settings*
backup_manager_state::policy_of(const std::string& service) const {
  if (service == state_backup_service)
    return cfg->backups.state_policy.empty() ? nullptr
                                             : cfg->backups.find_policy(cfg->backups.state_policy);
  const auto* svc = cfg->find_service(service);
  if (svc == nullptr || !svc->backup)
    return nullptr;
  return cfg->backups.find_policy(svc->backup->policy);
}

std::vector<std::string> backup_manager_state::backed_up() const {
  std::vector<std::string> out;
  if (policy_of(state_backup_service) != nullptr)
    out.push_back(state_backup_service);
  for (const auto& svc : cfg->services)
    if (policy_of(svc.name) != nullptr)
      out.push_back(svc.name);
  return out;
}

std::vector<std::string> backup_manager_state::due_tiers(const std::string& service,
                                                         std::int64_t now_ms) const {
  std::vector<std::string> out;
  const auto* policy = policy_of(service);
  if (policy == nullptr)
    return out;
  auto it = catalog.find(service);
  for (const auto& tier : policy->tiers) {
    std::int64_t last = 0;
    if (it != catalog.end())
      for (const auto& b : it->second)
        if (b.tier == tier.name)
          last = std::max(last, b.started_ms);
    if (rules::next_due_ms(last, tier.every, now_ms) <= now_ms)
      out.push_back(tier.name);
  }
  return out;
}

std::vector<std::int64_t> backup_manager_state::due_verifications(const std::string& service,
                                                                  std::int64_t now_ms) const {
  std::vector<std::int64_t> out;
  const auto* policy = policy_of(service);
  auto it = catalog.find(service);
  if (policy == nullptr || it == catalog.end())
    return out;
  auto every = policy->verify_every.count() > 0
                   ? policy->verify_every
                   : std::chrono::duration_cast<config::milliseconds>(default_verify_every);
  for (const auto& tier : policy->tiers) {
    const backup_record* newest = nullptr;
    for (const auto& b : it->second)
      if (b.tier == tier.name && b.restorable() && (newest == nullptr || b.id > newest->id))
        newest = &b;
    if (newest != nullptr &&
        (newest->verified_ms == 0 || now_ms - newest->verified_ms >= every.count()))
      out.push_back(newest->id);
  }
  return out;
}

backup_compliance_row backup_manager_state::compliance(const std::string& service,
                                                       std::int64_t now_ms) const {
  backup_compliance_row row;
  row.service = service;
  const auto* policy = policy_of(service);
  row.policy = policy != nullptr ? policy->name : "";
  config::milliseconds rpo{0};
  if (const auto* svc = cfg->find_service(service))
    rpo = svc->objective.rpo;
  row.rpo_ms = rpo.count();
  auto it = catalog.find(service);
  auto verdict = rules::assess_compliance(it == catalog.end() ? backup_list{} : it->second,
                                          site_of(*cfg, service), rpo, now_ms);
  row.copies = verdict.copies;
  row.media = verdict.media;
  row.offsite = verdict.offsite;
  row.meets_3_2_1 = verdict.meets_3_2_1;
  row.newest_verified_ms = verdict.newest_verified_ms;
  row.age_ms = verdict.age_ms;
  row.rpo_met = verdict.rpo_met;
  row.gaps = verdict.gaps;
  return row;
}

// -- behavior -------------------------------------------------------------------

backup_manager_actor::behavior_type
backup_manager(backup_manager_actor::stateful_pointer<backup_manager_state> self,
               std::shared_ptr<const config::switchyard_config> cfg, peers_ptr peers,
               std::string node) {
  self->state.cfg = std::move(cfg);
  self->state.peers = std::move(peers);
  self->state.node = std::move(node);
  // The catalog first; the schedule starts once it is here (a store that is
  // not up yet is asked again at the next tick).
  auto load = [self] {
    auto store = self->state.peers->store();
    if (!store)
      return;
    self->request(store, std::chrono::seconds(30), backups_query{})
        .then(
            [self](backup_list& all) {
              self->state.catalog.clear();
              for (auto& b : all)
                self->state.catalog[b.service].push_back(std::move(b));
              self->state.loaded = true;
            },
            [](const caf::error& err) {
              spdlog::warn("backups: reading the catalog failed (retrying): {}", describe(err));
            });
  };
  load();
  self->send(self, tick_atom::value);
  return {
      [self, load](tick_atom) {
        if (self->state.loaded)
          tick(self);
        else
          load();
        self->delayed_send(self, tick_every, tick_atom::value);
      },
      [self](backup_create_request& r) -> caf::result<backup_list> {
        if (auto ok = check_backed_up(self, r.service); !ok)
          return ok.error();
        const auto* policy = self->state.policy_of(r.service);
        std::vector<std::string> tiers;
        for (const auto& t : policy->tiers)
          if (r.tier.empty() || t.name == r.tier)
            tiers.push_back(t.name);
        if (tiers.empty())
          return make_sy_error(sy_errc::not_found,
                               fmt::format("policy {} has no tier {}", policy->name, r.tier));
        if (self->state.busy.count(r.service) > 0)
          return refuse_busy(self, r.service);
        backup_job_spec spec;
        spec.service = r.service;
        spec.tiers = std::move(tiers);
        spec.full = r.full;
        spec.trigger = r.principal.empty() ? "operator" : r.principal;
        auto job = start(self, std::move(spec));
        auto rp = self->make_response_promise<backup_list>();
        self->state.creations.emplace(job, rp);
        return rp;
      },
      [self](backup_verify_request& r) -> caf::result<backup_outcome> {
        std::string service = r.service;
        std::vector<std::int64_t> points;
        if (r.id != 0) {
          for (const auto& [name, list] : self->state.catalog)
            for (const auto& b : list)
              if (b.id == r.id)
                service = name;
          if (service.empty())
            return make_sy_error(sy_errc::not_found, fmt::format("no backup #{}", r.id));
          points.push_back(r.id);
        }
        if (auto ok = check_backed_up(self, service); !ok)
          return ok.error();
        if (points.empty())
          points = self->state.due_verifications(service, std::numeric_limits<std::int64_t>::max());
        if (points.empty())
          return make_sy_error(sy_errc::not_found,
                               fmt::format("{} has no restorable backup to verify", service));
        if (self->state.busy.count(service) > 0)
          return refuse_busy(self, service);
        backup_job_spec spec;
        spec.what = backup_job_spec::kind::verify;
        spec.service = service;
        spec.points = std::move(points);
        spec.trigger = r.principal;
        auto job = start(self, std::move(spec));
        auto rp = self->make_response_promise<backup_outcome>();
        self->state.outcomes.emplace(job, rp);
        return rp;
      },
      [self](backup_restore_request& r) -> caf::result<backup_outcome> {
        if (auto ok = check_backed_up(self, r.service); !ok)
          return ok.error();
        if (r.target.empty())
          return make_sy_error(sy_errc::invalid_config,
                               "a restore needs a target (--to): where to write the data");
        if (self->state.busy.count(r.service) > 0)
          return refuse_busy(self, r.service);
        if (r.prefer.empty())
          for (const auto& t : self->state.policy_of(r.service)->tiers)
            r.prefer.push_back(t.name);
        backup_job_spec spec;
        spec.what = backup_job_spec::kind::restore;
        spec.service = r.service;
        spec.restore = std::move(r);
        spec.trigger = spec.restore.principal;
        auto job = start(self, std::move(spec));
        auto rp = self->make_response_promise<backup_outcome>();
        self->state.outcomes.emplace(job, rp);
        return rp;
      },
      [self](backup_compliance_query& q) -> caf::result<backup_compliance_list> {
        backup_compliance_list rows;
        auto now = wall_clock_ms();
        if (!q.service.empty()) {
          if (auto ok = check_backed_up(self, q.service); !ok)
            return ok.error();
          rows.push_back(self->state.compliance(q.service, now));
          return rows;
        }
        for (const auto& service : self->state.backed_up())
          rows.push_back(self->state.compliance(service, now));
        return rows;
      },
      [self](backups_query& q) -> caf::result<backup_list> {
        backup_list out;
        for (const auto& [service, list] : self->state.catalog)
          if (q.service.empty() || service == q.service)
            for (const auto& b : list)
              if (q.id == 0 || b.id == q.id)
                out.push_back(b);
        std::sort(out.begin(), out.end(),
                  [](const backup_record& a, const backup_record& b) { return a.id < b.id; });
        return out;
      },
      [self](backup_job_done& done) {
        auto& st = self->state;
        auto service = st.job_service[done.job];
        st.job_service.erase(done.job);
        // The catalog of that service again, from the store, before anything
        // else is decided on it.
        auto finish = [self, service, done]() mutable {
          auto& s = self->state;
          s.busy.erase(service);
          if (auto it = s.creations.find(done.job); it != s.creations.end()) {
            if (done.outcome.ok || !done.outcome.used.empty())
              it->second.deliver(done.outcome.used);
            else
              it->second.deliver(make_sy_error(sy_errc::backup_failed, done.outcome.detail));
            s.creations.erase(it);
          }
          if (auto it = s.outcomes.find(done.job); it != s.outcomes.end()) {
            it->second.deliver(done.outcome);
            s.outcomes.erase(it);
          }
          judge(self, service, wall_clock_ms());
        };
        auto store = st.peers->store();
        if (!store) {
          finish();
          return;
        }
        self->request(store, std::chrono::seconds(30), backups_query{service, 0})
            .then(
                [self, service, finish](backup_list& list) mutable {
                  self->state.catalog[service] = std::move(list);
                  finish();
                },
                [finish](const caf::error& err) mutable {
                  spdlog::warn("backups: reading the catalog failed: {}", describe(err));
                  finish();
                });
      },
      [self](config_update& u) { self->state.cfg = u.cfg; },
      [self](cluster_atom, replicated_backup_list& list) {
        // Another leader's service backups: into the catalog, so that this
        // replica, leading next, lists and restores them and builds on them.
        auto store = self->state.peers->store();
        if (!store)
          return;
        self->request(store, std::chrono::seconds(30), backup_import{self->state.node, list})
            .then(
                [self](caf::ok_atom) {
                  auto again = self->state.peers->store();
                  if (!again)
                    return;
                  self->request(again, std::chrono::seconds(30), backups_query{})
                      .then(
                          [self](backup_list& all) {
                            std::map<std::string, backup_list> next;
                            for (auto& b : all)
                              next[b.service].push_back(std::move(b));
                            // A service with a job running keeps its view:
                            // the job's result refreshes it.
                            for (auto& [service, rows] : next)
                              if (self->state.busy.count(service) == 0)
                                self->state.catalog[service] = std::move(rows);
                          },
                          [](const caf::error&) {});
                },
                [](const caf::error& err) {
                  spdlog::warn("backups: merging the replicated catalog failed: {}", describe(err));
                });
      },
  };
}

} // namespace switchyard::actors

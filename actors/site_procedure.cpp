// Whole-site switchovers, phase one: the assessment, reserving and preparing
// every participant (or aborting), and run(), which journals the commit
// decision before phase two (site_commit.cpp) switches anything.
#include "actors/site_procedure.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "actors/event_hub.hpp"
#include "actors/fault_injection.hpp"
#include "actors/site_procedure_detail.hpp"
#include "messages/error.hpp"
#include "rules/site_assessment.hpp"

namespace switchyard::actors {

using namespace site_detail;

std::chrono::milliseconds site_procedure::patience() const {
  return recovering_ ? std::chrono::milliseconds{recovery_patience}
                     : cfg_->orchestrator.site_switchover.prepare_timeout;
}

caf::expected<service_state_list> site_procedure::coordinator_state() {
  return ask<service_state_list>(self_, peers_->coordinator(), caf::timespan{ask_timeout},
                                 get_state_atom::value);
}

caf::expected<std::int64_t> site_procedure::save(site_record& r, bool replicate) {
  auto id = ask<std::int64_t>(self_, peers_->store(), caf::timespan{ask_timeout}, site_save{r});
  if (!id) {
    spdlog::error("site switchover #{}: journal write failed: {}", r.id, describe(id.error()));
    return id;
  }
  r.id = *id;
  if (replicate)
    if (auto recorded = peers_->authority().record_site(r); !recorded) {
      spdlog::error("site switchover #{}: not recorded in the cluster: {}", r.id,
                    describe(recorded.error()));
      return recorded.error();
    }
  return id;
}

void site_procedure::announce(const site_record& r, const std::string& summary, bool alert) {
  auto text = fmt::format("site {} #{} {} -> {}: {}", to_string(r.operation), r.id, r.from_site,
                          r.to_site, summary);
  if (alert)
    spdlog::critical("{}", text);
  else
    spdlog::warn("{}", text);
  publish_event(*peers_, {0, 0, alert ? event_kind::alert : event_kind::decision, service_id{},
                          instance_id{}, switchover_id{0}, text});
}

caf::expected<site_record> site_procedure::assess(const site_request& req, const leg_scope& scope) {
  auto known = [&](const std::string& s) {
    return std::any_of(cfg_->sites.begin(), cfg_->sites.end(),
                       [&](const config::site_settings& x) { return x.name == s; });
  };
  for (const auto* site : {&req.from_site, &req.to_site})
    if (!known(*site)) {
      std::vector<std::string> names;
      for (const auto& s : cfg_->sites)
        names.push_back(s.name);
      return make_sy_error(sy_errc::unknown_site, fmt::format("no site named '{}' (sites: {})",
                                                              *site, fmt::join(names, ", ")));
    }
  if (req.from_site == req.to_site)
    return make_sy_error(sy_errc::invalid_config,
                         fmt::format("--from and --to name the same site ('{}')", req.from_site));
  auto states = coordinator_state();
  if (!states)
    return states.error();
  auto r = assess_site({cfg_.get(), *states, req.from_site, req.to_site, req.operation,
                        scope.preferred, scope.only, scope.then_failback});
  r.principal = req.principal;
  r.reason = req.reason;
  // Each participant's own plan and pre-checks, as a dry run of its
  // switchover to the chosen target (read-only), and its position gap.
  auto coord = peers_->coordinator();
  auto runner = peers_->runner();
  for (auto& p : r.participants) {
    if (!p.blocker.empty())
      continue;
    const auto* st = find_state(*states, p.service.value);
    switchover_request dry;
    dry.service = p.service;
    dry.target = p.to;
    dry.principal = req.principal;
    dry.reason = "site switchover assessment";
    dry.dry_run = true;
    dry.force = true; // a recent failover's block period does not stop an operator's site move
    dry.kind = st != nullptr && health_in(*st, p.from.value) == health_status::healthy
                   ? switchover_kind::planned_switchover
                   : switchover_kind::forced_failover;
    auto reply = ask<switchover_reply>(
        self_, coord, caf::timespan{cfg_->orchestrator.site_switchover.prepare_timeout}, dry);
    if (!reply)
      p.blocker = "no plan: " + describe(reply.error());
    else if (!reply->accepted)
      p.blocker = reply->detail;
    else
      p.estimated_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(reply->plan.estimated_failover_time)
              .count();
    if (!p.blocker.empty()) {
      r.blockers.push_back(fmt::format("{}: {}", p.service.value, p.blocker));
      continue;
    }
    auto gap = ask<site_prepare_outcome>(
        self_, runner, caf::timespan{cfg_->orchestrator.site_switchover.prepare_timeout},
        site_prepare{p.service, p.from, p.to, site_work::gap});
    if (gap)
      p.gap = gap->gap;
  }
  const bool back =
      req.operation == site_operation::failback || req.operation == site_operation::drill_failback;
  if (back && !req.accept_divergence)
    block_on_divergence(r);
  r.estimated_rto_ms = estimate_rto(r);
  return r;
}

void site_procedure::block_on_divergence(site_record& r) {
  auto store = peers_->store();
  // Since when: the newest completed site switchover that left the site we
  // return to (its instances may have diverged after that).
  std::int64_t since = 0;
  if (auto past = ask<site_record_list>(self_, store, caf::timespan{ask_timeout},
                                        site_query{0, 100, false}))
    for (const auto& s : *past)
      if (s.from_site == r.to_site && s.state == site_state::completed) {
        since = s.started_ms;
        break; // newest first
      }
  for (auto& p : r.participants) {
    const auto* svc = cfg_->find_service(p.service.value);
    if (svc == nullptr || !p.blocker.empty())
      continue;
    auto rows = ask<detection_record_list>(self_, store, caf::timespan{ask_timeout},
                                           detections_query{p.service.value, 200});
    if (!rows) {
      p.blocker = "cannot tell whether data diverged: " + describe(rows.error());
    } else {
      for (const auto& d : *rows) {
        const auto* inst = svc->find_instance(d.instance.value);
        if (d.type != failure_type::diverged || d.at_ms < since || inst == nullptr ||
            inst->site != r.to_site)
          continue;
        p.blocker = fmt::format("site {} is not ready: {} holds data that diverged (detection "
                                "#{}: {}); resolve it, then fail back with --accept-divergence",
                                r.to_site, d.instance.value, d.id.value, d.evidence);
        break;
      }
    }
    if (!p.blocker.empty())
      r.blockers.push_back(fmt::format("{}: {}", p.service.value, p.blocker));
  }
}

bool site_procedure::reserve(site_record& r, bool wait) {
  auto deadline = std::chrono::steady_clock::now() + recovery_patience;
  for (auto& p : r.participants) {
    if (p.state == participant_state::committed || p.state == participant_state::prepare_failed ||
        p.state == participant_state::aborted || p.state == participant_state::failed)
      continue;
    while (true) {
      auto ok = ask<caf::ok_atom>(self_, peers_->coordinator(), caf::timespan{ask_timeout},
                                  reserve_request{p.service, r.id, false});
      if (ok)
        break;
      if (!wait || std::chrono::steady_clock::now() > deadline) {
        p.detail = "not reserved: " + describe(ok.error());
        return false;
      }
      std::this_thread::sleep_for(5 * poll_interval);
    }
  }
  return true;
}

void site_procedure::release(const site_record& r) {
  auto coord = peers_->coordinator();
  for (const auto& p : r.participants)
    if (auto ok = ask<caf::ok_atom>(self_, coord, caf::timespan{ask_timeout},
                                    reserve_request{p.service, r.id, true});
        !ok)
      spdlog::error("site switchover #{}: releasing {} failed: {}", r.id, p.service.value,
                    describe(ok.error()));
}

bool site_procedure::prepare(site_record& r) {
  const auto timeout = caf::timespan{cfg_->orchestrator.site_switchover.prepare_timeout};
  if (!reserve(r, false)) {
    for (auto& p : r.participants)
      if (!p.detail.empty() && p.state == participant_state::pending)
        p.state = participant_state::prepare_failed;
    return false;
  }
  auto coord = peers_->coordinator();
  auto runner = peers_->runner();
  auto states = coordinator_state();
  // Pre-checks of all participants at once, then their prepare actions at once.
  std::vector<std::optional<std::string>> refused(r.participants.size());
  {
    std::vector<decltype(self_->request(coord, timeout, switchover_request{}))> pending;
    for (auto& p : r.participants) {
      switchover_request dry;
      dry.service = p.service;
      dry.target = p.to;
      dry.principal = r.principal;
      dry.reason = fmt::format("site switchover #{} prepare", r.id);
      dry.dry_run = true;
      dry.force = true;
      const auto* st = states ? find_state(*states, p.service.value) : nullptr;
      dry.kind = st != nullptr && health_in(*st, p.from.value) == health_status::healthy
                     ? switchover_kind::planned_switchover
                     : switchover_kind::forced_failover;
      dry.site_switchover = r.id;
      pending.push_back(self_->request(coord, timeout, std::move(dry)));
    }
    for (std::size_t i = 0; i < pending.size(); ++i)
      pending[i].receive(
          [&](switchover_reply& reply) {
            if (!reply.accepted)
              refused[i] = "pre-checks refused it: " + reply.detail;
          },
          [&](caf::error& err) { refused[i] = "pre-checks: " + describe(err); });
  }
  std::vector<std::size_t> to_prepare;
  for (std::size_t i = 0; i < r.participants.size(); ++i) {
    if (refused[i]) {
      r.participants[i].state = participant_state::prepare_failed;
      r.participants[i].detail = *refused[i];
    } else {
      to_prepare.push_back(i);
    }
  }
  // Nothing has changed yet: with a refusal, the prepare actions do not run.
  if (to_prepare.size() == r.participants.size()) {
    std::vector<decltype(self_->request(runner, timeout, site_prepare{}))> pending;
    for (auto i : to_prepare) {
      const auto& p = r.participants[i];
      pending.push_back(self_->request(runner, timeout,
                                       site_prepare{p.service, p.from, p.to, site_work::prepare}));
    }
    for (std::size_t k = 0; k < pending.size(); ++k) {
      auto& p = r.participants[to_prepare[k]];
      pending[k].receive(
          [&](site_prepare_outcome& out) {
            p.detail = out.detail;
            p.gap = out.gap;
            p.state = out.ok ? participant_state::prepared : participant_state::prepare_failed;
            p.prepared_ms = out.ok ? wall_clock_ms() : 0;
          },
          [&](caf::error& err) {
            p.state = participant_state::prepare_failed;
            p.detail = "prepare: " + describe(err);
          });
    }
  }
  return std::all_of(r.participants.begin(), r.participants.end(),
                     [](const auto& p) { return p.state == participant_state::prepared; });
}

void site_procedure::abort(site_record& r, const std::string& why) {
  auto runner = peers_->runner();
  const auto timeout = caf::timespan{cfg_->orchestrator.site_switchover.prepare_timeout};
  for (auto& p : r.participants) {
    if (p.state != participant_state::prepared && p.state != participant_state::pending)
      continue;
    // After a crash a pending participant may have run its prepare actions
    // without being recorded as prepared: their rollback commands (which must
    // be idempotent) run for it too. In a live abort it never ran them.
    if (p.state == participant_state::prepared || recovering_) {
      auto undone = ask<site_prepare_outcome>(
          self_, runner, timeout, site_prepare{p.service, p.from, p.to, site_work::undo});
      p.detail =
          undone ? undone->detail : "rollback of its prepare failed: " + describe(undone.error());
    } else {
      p.detail = "not prepared: another participant was refused first";
    }
    p.state = participant_state::aborted;
  }
  release(r);
  r.state = site_state::aborted;
  r.finished_ms = wall_clock_ms();
  r.detail = "aborted, nothing was switched: " + why;
  (void)save(r);
  announce(r, r.detail);
}

caf::expected<site_record> site_procedure::run(const site_request& req, std::int64_t drill,
                                               const leg_scope& scope) {
  auto assessed = assess(req, scope);
  if (!assessed)
    return assessed.error();
  auto r = std::move(*assessed);
  r.drill = drill;
  if (req.dry_run)
    return r;
  if (!r.blockers.empty()) {
    r.state = site_state::aborted;
    r.detail = fmt::format("refused, nothing was changed: {}", fmt::join(r.blockers, "; "));
    spdlog::warn("site {} {} -> {} requested by {} refused: {}", to_string(r.operation),
                 r.from_site, r.to_site, r.principal, r.detail);
    return r;
  }
  r.state = site_state::preparing;
  r.started_ms = wall_clock_ms();
  if (auto id = save(r); !id) {
    if (r.id == 0)
      return make_sy_error(sy_errc::storage_failure,
                           "the site switchover could not be journaled, nothing was done: " +
                               describe(id.error()));
    // Journaled here, refused by the cluster (not the leader, or a former
    // leader's site switchover is still in flight).
    r.state = site_state::aborted;
    r.finished_ms = wall_clock_ms();
    r.detail = "refused, nothing was done: " + describe(id.error());
    (void)save(r, false);
    return make_sy_error(sy_errc::failover_blocked, r.detail);
  }
  announce(r, fmt::format("started by {}: {} service(s), estimated RTO {} ms", r.principal,
                          r.participants.size(), r.estimated_rto_ms));
  crash_point("site_opened");
  if (!prepare(r)) {
    std::vector<std::string> why;
    for (const auto& p : r.participants)
      if (p.state == participant_state::prepare_failed || !p.detail.empty())
        if (p.state == participant_state::prepare_failed)
          why.push_back(fmt::format("{}: {}", p.service.value, p.detail));
    abort(r, fmt::format("prepare failed: {}", fmt::join(why, "; ")));
    return r;
  }
  (void)save(r);
  crash_point("site_prepared");
  // The decision: durable before anything is switched.
  r.state = site_state::committed;
  r.decided_ms = wall_clock_ms();
  if (auto id = save(r); !id) {
    r.state = site_state::preparing;
    abort(r, "the commit decision could not be journaled: " + describe(id.error()));
    return r;
  }
  announce(r, "all participants prepared: committed");
  crash_point("site_committed");
  carry_through(r);
  return r;
}

} // namespace switchyard::actors

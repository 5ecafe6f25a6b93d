// DR drills: a site switchover to the drilled site and, by default, a
// failback of what it moved, reported against each service's RTO/RPO
// objectives.
#include "actors/site_procedure.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "actors/event_hub.hpp"
#include "actors/site_procedure_detail.hpp"
#include "messages/error.hpp"
#include "rules/drill_outcome.hpp"
#include "rules/site_assessment.hpp"

namespace switchyard::actors {

using namespace site_detail;

namespace {

// A test restore waits for the I/O of every tier's newest chain.
constexpr auto backup_check_timeout = std::chrono::hours(1);

} // namespace

// A moved service's backups in the drill: the newest verified point's age
// against its RPO (measured from the catalog), and with req.restore_backups
// a test restore of each tier's newest point. Each is a check of the
// service's result; one that fails fails the service. Services without a
// backup policy have neither.
void site_procedure::backup_checks(const drill_request& req, drill_service_result& s,
                                   std::vector<std::string>& why) {
  const auto* svc = cfg_->find_service(s.service.value);
  if (svc == nullptr || !svc->backup)
    return;
  auto backups = peers_->backups();
  auto rows = ask<backup_compliance_list>(self_, backups, caf::timespan{ask_timeout},
                                          backup_compliance_query{s.service.value});
  if (!rows || rows->empty()) {
    s.checks.push_back({"backups", false,
                        "the backup manager did not answer: " +
                            (rows ? std::string{"no row"} : describe(rows.error()))});
    why.push_back("backups unknown");
  } else {
    const auto& r = rows->front();
    bool ok = r.age_ms >= 0 && r.rpo_met;
    auto detail =
        r.age_ms < 0
            ? std::string{"no verified backup"}
            : fmt::format("newest verified backup {} s old{}; {} verified copies, {} media, {} "
                          "offsite{}",
                          r.age_ms / 1000,
                          r.rpo_ms > 0 ? fmt::format(" (RPO {} s)", r.rpo_ms / 1000) : "", r.copies,
                          r.media, r.offsite,
                          r.meets_3_2_1 ? " (meets 3-2-1)" : " (does not meet 3-2-1)");
    s.checks.push_back({"backups", ok, detail});
    if (!ok)
      why.push_back("backups: " + detail);
  }
  if (!req.restore_backups)
    return;
  auto outcome = ask<backup_outcome>(self_, backups, caf::timespan{backup_check_timeout},
                                     backup_verify_request{s.service.value, 0, req.principal});
  if (!outcome) {
    s.checks.push_back({"backup restore", false, describe(outcome.error())});
    why.push_back("backup restore: " + describe(outcome.error()));
    return;
  }
  std::string lines;
  for (const auto& l : outcome->lines)
    lines += (lines.empty() ? "" : "; ") + l;
  s.checks.push_back({"backup restore", outcome->ok, lines.empty() ? outcome->detail : lines});
  if (!outcome->ok)
    why.push_back("backup restore: " + outcome->detail);
}

caf::expected<drill_report> site_procedure::drill(const drill_request& req) {
  auto states = coordinator_state();
  if (!states)
    return states.error();
  auto from = busiest_site(*cfg_, *states, req.site);
  drill_report report;
  report.to_site = req.site;
  report.from_site = from;
  report.principal = req.principal;
  report.failback = req.failback;
  report.started_ms = wall_clock_ms();
  if (from.empty()) {
    auto known = std::any_of(cfg_->sites.begin(), cfg_->sites.end(),
                             [&](const auto& s) { return s.name == req.site; });
    if (!known)
      return make_sy_error(sy_errc::unknown_site, fmt::format("no site named '{}'", req.site));
    return make_sy_error(
        sy_errc::invalid_config,
        fmt::format("every primary is on site {} already: nothing to drill", req.site));
  }
  // Refused before anything is recorded or moved when the view says it
  // cannot run, the way back included (nothing is recorded: id 0).
  const leg_scope first_scope{{}, {}, req.failback};
  auto pre =
      assess({from, req.site, req.principal, req.reason, true, site_operation::drill}, first_scope);
  if (!pre)
    return pre.error();
  if (!pre->blockers.empty()) {
    report.finished_ms = wall_clock_ms();
    report.detail = fmt::format("refused, nothing was changed: {}", fmt::join(pre->blockers, "; "));
    spdlog::warn("drill {} -> {} requested by {} refused: {}", from, req.site, req.principal,
                 report.detail);
    return report;
  }
  std::map<std::string, std::string> started_on; // service -> its primary at the start
  for (const auto& st : *states)
    started_on[st.service.value] = st.primary.value;
  auto store = peers_->store();
  auto id = ask<std::int64_t>(self_, store, caf::timespan{ask_timeout}, drill_save{report});
  if (!id)
    return make_sy_error(sy_errc::storage_failure,
                         "the drill could not be recorded, nothing was done: " +
                             describe(id.error()));
  report.id = *id;
  spdlog::warn("drill #{} by {}: {} -> {}{}", report.id, req.principal, from, req.site,
               req.failback ? " and back" : "");
  site_request leg{
      from,          req.site,
      req.principal, req.reason.empty() ? fmt::format("drill #{}", report.id) : req.reason,
      false,         site_operation::drill};
  // With a failback, what could not come back now is a blocker: a drill
  // must not leave a service on the other site.
  auto first = run(leg, report.id, first_scope);
  std::vector<std::string> problems;
  if (!first) {
    problems.push_back(describe(first.error()));
  } else {
    report.switchover = first->id;
    if (first->state != site_state::completed)
      problems.push_back(first->detail);
    for (const auto& p : first->participants) {
      drill_service_result s;
      s.service = p.service;
      s.rto_objective_ms = p.rto_ms;
      s.rpo_objective_ms = p.rpo_ms;
      s.rpo = p.state == participant_state::committed ? p.gap : -1;
      s.rto_ms = p.verified ? p.verified_ms - first->started_ms : -1;
      s.checks = p.checks;
      if (p.switchover.value != 0)
        if (auto detail =
                ask<switchover_detail>(self_, store, caf::timespan{ask_timeout}, p.switchover))
          for (const auto& st : detail->steps)
            s.steps.push_back({st.name, to_string(st.phase), st.status == step_status::done,
                               st.finished_at_ms > 0 ? st.finished_at_ms - st.started_at_ms : -1});
      std::vector<std::string> why;
      if (!p.verified)
        why.push_back(fmt::format("not verified ({}: {})", to_string(p.state), p.detail));
      if (s.rto_ms > s.rto_objective_ms)
        why.push_back(
            fmt::format("RTO {} ms over the objective {} ms", s.rto_ms, s.rto_objective_ms));
      if (s.rpo > 0 && s.rpo_objective_ms == 0)
        why.push_back(
            fmt::format("the target was {} behind at the switch, RPO objective is 0", s.rpo));
      backup_checks(req, s, why);
      s.passed = why.empty();
      s.detail = why.empty() ? fmt::format("switched in {} ms, verified", s.rto_ms)
                             : fmt::format("{}", fmt::join(why, "; "));
      if (s.rto_ms > report.rto_ms)
        report.rto_ms = s.rto_ms;
      report.services.push_back(std::move(s));
    }
  }
  if (first && first->state == site_state::completed && req.failback) {
    // Back to where each primary started; the old site must be ready first
    // (its instances healthy again after being demoted).
    // Only what the drill moved comes back (a service whose primary was on
    // the drilled site already stays where it is).
    leg_scope scope;
    for (const auto& p : first->participants) {
      scope.preferred[p.service.value] = p.from.value;
      scope.only.insert(p.service.value);
    }
    site_request back{req.site,      from,
                      req.principal, fmt::format("drill #{} failback", report.id),
                      true,          site_operation::drill_failback};
    auto deadline =
        std::chrono::steady_clock::now() + cfg_->orchestrator.site_switchover.verify_timeout;
    while (true) {
      auto a = assess(back, scope);
      if (!a || a->blockers.empty() || std::chrono::steady_clock::now() > deadline)
        break;
      std::this_thread::sleep_for(2 * poll_interval);
    }
    back.dry_run = false;
    auto second = run(back, report.id, scope);
    if (!second) {
      problems.push_back("failback: " + describe(second.error()));
    } else {
      report.failback_switchover = second->id;
      if (second->state != site_state::completed)
        problems.push_back("failback: " + second->detail);
    }
    if (auto now = coordinator_state()) {
      report.topology_restored = true;
      for (const auto& st : *now)
        if (started_on[st.service.value] != st.primary.value) {
          report.topology_restored = false;
          problems.push_back(fmt::format("{} is on {} after the failback, it started on {}",
                                         st.service.value, st.primary.value,
                                         started_on[st.service.value]));
        }
    }
  }
  report.finished_ms = wall_clock_ms();
  settle_drill(report, problems);
  if (auto saved = ask<std::int64_t>(self_, store, caf::timespan{ask_timeout}, drill_save{report});
      !saved)
    spdlog::error("drill #{}: the report could not be stored: {}", report.id,
                  describe(saved.error()));
  spdlog::warn("drill #{}: {}: {}", report.id, report.passed ? "PASSED" : "FAILED", report.detail);
  return report;
}

} // namespace switchyard::actors

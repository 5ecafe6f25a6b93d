// Whole-site switchovers, phase two (after the journaled commit decision):
// participants are switched level by level, each level available before the
// next starts, then the whole is verified. (The same after a restart or a
// change of leader: site_recovery.cpp.)
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
#include "rules/site_assessment.hpp"

namespace switchyard::actors {

using namespace site_detail;

void site_procedure::commit_one(site_record& r, std::size_t i) {
  auto& p = r.participants[i];
  auto deadline = std::chrono::steady_clock::now() + patience();
  auto runner = peers_->runner();
  while (true) {
    auto states = coordinator_state();
    const auto* st = states ? find_state(*states, p.service.value) : nullptr;
    if (st != nullptr && st->primary == p.to && !st->failover_in_flight) {
      // Switched before a restart (its own journal carried it through).
      p.state = participant_state::committed;
      if (p.commit_finished_ms == 0)
        p.commit_finished_ms = wall_clock_ms();
      if (p.detail.empty())
        p.detail = fmt::format("{} is primary", p.to.value);
      return;
    }
    if (st != nullptr && !st->failover_in_flight) {
      // Achieved RPO: what the target lacks at the moment of the switch.
      if (p.commit_started_ms == 0) {
        if (auto gap = ask<site_prepare_outcome>(
                self_, runner, caf::timespan{cfg_->orchestrator.site_switchover.prepare_timeout},
                site_prepare{p.service, p.from, p.to, site_work::gap}))
          p.gap = gap->gap;
        p.commit_started_ms = wall_clock_ms();
      }
      switchover_request req;
      req.service = p.service;
      req.target = p.to;
      req.principal = r.principal;
      req.reason = fmt::format("site {} #{} {} -> {}: {}", to_string(r.operation), r.id,
                               r.from_site, r.to_site, r.reason);
      req.force = true;
      req.kind = health_in(*st, p.from.value) == health_status::healthy
                     ? switchover_kind::planned_switchover
                     : switchover_kind::forced_failover;
      req.site_switchover = r.id;
      auto reply = ask<switchover_reply>(self_, peers_->coordinator(),
                                         caf::timespan{std::chrono::hours(1)}, req);
      if (reply && reply->executed) {
        p.switchover = reply->switchover;
        p.commit_finished_ms = wall_clock_ms();
        p.state = reply->success ? participant_state::committed : participant_state::failed;
        p.detail = reply->detail;
        return;
      }
      auto why = reply ? reply->detail : describe(reply.error());
      // Refused before anything ran: still starting, or busy; try again.
      if (std::chrono::steady_clock::now() > deadline) {
        p.state = participant_state::failed;
        p.detail = "not switched: " + why;
        return;
      }
      spdlog::info("site switchover #{}: {} not switched yet ({}), retrying", r.id, p.service.value,
                   why);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      p.state = participant_state::failed;
      p.detail = "not switched: the coordinator did not answer or the service stayed busy";
      return;
    }
    std::this_thread::sleep_for(5 * poll_interval);
  }
}

void site_procedure::carry_through(site_record& r) {
  const auto last = last_level(r);
  std::string failed;
  for (std::uint32_t level = 0; level <= last && failed.empty(); ++level) {
    for (const auto& batch : level_batches(r, level, r.parallelism)) {
      if (!failed.empty())
        break;
      std::vector<std::thread> commits;
      std::vector<std::size_t> todo;
      for (auto i : batch)
        if (r.participants[i].state != participant_state::committed)
          todo.push_back(i);
      for (auto i : todo)
        r.participants[i].state = participant_state::committing;
      (void)save(r);
      if (todo.size() <= 1) {
        for (auto i : todo)
          commit_one(r, i);
      } else {
        // A batch runs at once: each commit waits for its switchover on a
        // thread (and scoped actor) of its own.
        for (auto i : todo)
          commits.emplace_back([this, &r, i] {
            caf::scoped_actor worker{self_->system()};
            site_procedure one{worker.ptr(), cfg_, peers_};
            one.recovering_ = recovering_;
            one.commit_one(r, i);
          });
        for (auto& t : commits)
          t.join();
      }
      for (auto i : todo) {
        const auto& p = r.participants[i];
        spdlog::warn("site switchover #{}: {} {} -> {}: {}", r.id, p.service.value, p.from.value,
                     p.to.value, to_string(p.state));
        if (p.state != participant_state::committed && failed.empty())
          failed = fmt::format("{}: {}", p.service.value, p.detail);
      }
      // Dependents start only once what they depend on serves on the new site.
      if (failed.empty())
        for (auto i : await_available(r, batch))
          if (failed.empty())
            failed =
                fmt::format("{}: switched but not available: {}", r.participants[i].service.value,
                            r.participants[i].checks.back().detail);
      if (failed.empty())
        check_integrity(r, batch);
      (void)save(r);
    }
    crash_point(fmt::format("site_level_done:{}", level));
  }
  if (!failed.empty()) {
    for (auto& p : r.participants)
      if (p.state == participant_state::pending || p.state == participant_state::prepared) {
        p.state = participant_state::aborted;
        p.detail = "not switched: an earlier level failed";
        // Its prepare actions are undone; it stays where it was.
        (void)ask<site_prepare_outcome>(
            self_, peers_->runner(),
            caf::timespan{cfg_->orchestrator.site_switchover.prepare_timeout},
            site_prepare{p.service, p.from, p.to, site_work::undo});
      }
    release(r);
    r.state = site_state::failed;
    r.finished_ms = wall_clock_ms();
    r.detail = fmt::format("failed after the commit decision: {}; services of earlier levels are "
                           "on site {}, the rest stayed on site {}: an operator must decide "
                           "(fix and run it again, or fail back)",
                           failed, r.to_site, r.from_site);
    (void)save(r);
    announce(r, "ALERT: " + r.detail, true);
    return;
  }
  verify(r);
  release(r);
  r.finished_ms = wall_clock_ms();
  (void)save(r);
  announce(r, r.detail, r.state != site_state::completed);
}

std::vector<std::size_t> site_procedure::await_available(site_record& r,
                                                         const std::vector<std::size_t>& which) {
  auto has_check = [&](std::size_t i) {
    const auto& checks = r.participants[i].checks;
    return std::any_of(checks.begin(), checks.end(),
                       [](const auto& c) { return c.name == "available"; });
  };
  std::vector<std::size_t> waiting;
  for (auto i : which)
    if (r.participants[i].state == participant_state::committed && !has_check(i))
      waiting.push_back(i);
  auto deadline =
      std::chrono::steady_clock::now() + cfg_->orchestrator.site_switchover.verify_timeout;
  while (!waiting.empty()) {
    auto states = coordinator_state();
    std::vector<std::size_t> still;
    for (auto i : waiting) {
      auto& p = r.participants[i];
      const auto* st = states ? find_state(*states, p.service.value) : nullptr;
      if (st != nullptr && st->primary == p.to &&
          health_in(*st, p.to.value) == health_status::healthy) {
        p.verified_ms = wall_clock_ms();
        p.checks.push_back({"available", true,
                            fmt::format("{} is primary and healthy on site {} ({} ms after its "
                                        "switchover began)",
                                        p.to.value, r.to_site, since(p.commit_started_ms))});
      } else {
        still.push_back(i);
      }
    }
    waiting = std::move(still);
    if (waiting.empty() || std::chrono::steady_clock::now() > deadline)
      break;
    std::this_thread::sleep_for(poll_interval);
  }
  auto states = coordinator_state();
  for (auto i : waiting) {
    auto& p = r.participants[i];
    const auto* st = states ? find_state(*states, p.service.value) : nullptr;
    p.checks.push_back({"available", false,
                        fmt::format("not available within {} ms: primary {}, {} is {}",
                                    cfg_->orchestrator.site_switchover.verify_timeout.count(),
                                    st ? st->primary.value : "?", p.to.value,
                                    st ? to_string(health_in(*st, p.to.value)) : "unknown")});
  }
  return waiting;
}

void site_procedure::check_integrity(site_record& r, const std::vector<std::size_t>& which) {
  auto runner = peers_->runner();
  for (auto i : which) {
    auto& p = r.participants[i];
    const auto* svc = cfg_->find_service(p.service.value);
    bool done = std::any_of(p.checks.begin(), p.checks.end(),
                            [](const auto& c) { return c.name.rfind("integrity", 0) == 0; });
    if (svc == nullptr || svc->strategy.integrity.empty() || done ||
        p.state != participant_state::committed)
      continue;
    auto out = ask<integrity_outcome>(
        self_, runner, caf::timespan{cfg_->orchestrator.site_switchover.verify_timeout},
        integrity_check{p.service, p.from, p.to});
    if (!out)
      p.checks.push_back({"integrity", false, describe(out.error())});
    else
      for (auto& c : out->checks)
        p.checks.push_back(std::move(c));
    p.verified_ms = wall_clock_ms(); // verified once its integrity is known too
  }
}

void site_procedure::verify(site_record& r) {
  const auto start = wall_clock_ms();
  // 1. Available on the new site (checked level by level as they committed;
  // again here for any that was switched before a restart).
  std::vector<std::size_t> all(r.participants.size());
  for (std::size_t i = 0; i < all.size(); ++i)
    all[i] = i;
  (void)await_available(r, all);
  // 2. Data integrity (also checked level by level; here for the rest).
  check_integrity(r, all);
  // 3. Performance: no `degraded` detection of the new primary since its commit.
  auto store = peers_->store();
  for (auto& p : r.participants) {
    const auto* svc = cfg_->find_service(p.service.value);
    if (svc == nullptr || !svc->performance) {
      p.checks.push_back({"performance", true, "not monitored (no `performance` section)"});
      continue;
    }
    auto rows = ask<detection_record_list>(self_, store, caf::timespan{ask_timeout},
                                           detections_query{p.service.value, 50});
    if (!rows) {
      p.checks.push_back(
          {"performance", false, "detections unreadable: " + describe(rows.error())});
      continue;
    }
    std::optional<std::string> degraded;
    for (const auto& d : *rows) { // newest first
      if (d.instance != p.to || d.at_ms < p.commit_started_ms)
        continue;
      if (d.type == failure_type::degraded)
        degraded = d.evidence;
      break; // the newest of degraded / recovered / anything else decides
    }
    p.checks.push_back(
        degraded ? verification_check{"performance", false, "degraded: " + *degraded}
                 : verification_check{"performance", true,
                                      fmt::format("within thresholds (mean latency < {} ms, "
                                                  "error rate < {:g} %): no degraded detection",
                                                  svc->performance->max_mean_latency.count(),
                                                  svc->performance->max_error_rate * 100)});
  }
  std::vector<std::string> failed;
  for (auto& p : r.participants) {
    p.verified = std::all_of(p.checks.begin(), p.checks.end(), [](const auto& c) { return c.ok; });
    if (!p.verified)
      for (const auto& c : p.checks)
        if (!c.ok)
          failed.push_back(fmt::format("{} {}: {}", p.service.value, c.name, c.detail));
  }
  r.state = failed.empty() ? site_state::completed : site_state::failed;
  r.detail = failed.empty()
                 ? fmt::format("completed and verified: {} service(s) on site {} ({} ms to verify)",
                               r.participants.size(), r.to_site, since(start))
                 : fmt::format("switched, but verification failed: {}", fmt::join(failed, "; "));
}

} // namespace switchyard::actors

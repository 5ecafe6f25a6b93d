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
#include "messages/error.hpp"
#include "rules/drill_outcome.hpp"
#include "rules/site_assessment.hpp"

namespace switchyard::actors {

namespace {

using namespace std::chrono_literals;

constexpr auto ask_timeout = std::chrono::seconds(10);
/// How long recovery waits for the coordinator to load its topology and for
/// a service's interrupted switchover (resumed by the coordinator) to end.
constexpr auto recovery_patience = std::chrono::seconds(120);
constexpr auto poll_interval = std::chrono::milliseconds(100);

// One request, waited for: its reply or the error (a timeout included).
template <class Res, class Handle, class Msg>
caf::expected<Res> ask(caf::blocking_actor* self, const Handle& h, caf::timespan timeout, Msg msg) {
  if (!h)
    return make_sy_error(sy_errc::unspecified, "a subsystem is not running (restarting?)");
  std::optional<Res> value;
  caf::error err;
  self->request(h, timeout, std::move(msg))
      .receive([&](Res& r) { value = std::move(r); }, [&](caf::error& e) { err = std::move(e); });
  if (value)
    return std::move(*value);
  return err;
}

std::int64_t since(std::int64_t start_ms) {
  return wall_clock_ms() - start_ms;
}

const service_state* find_state(const service_state_list& states, const std::string& service) {
  for (const auto& st : states)
    if (st.service.value == service)
      return &st;
  return nullptr;
}

health_status health_in(const service_state& st, const std::string& instance) {
  for (const auto& h : st.instances)
    if (h.instance.value == instance)
      return h.status;
  return health_status::unknown;
}

bool leaves_running(participant_state s) {
  return s == participant_state::pending || s == participant_state::prepared ||
         s == participant_state::committing;
}

} // namespace

std::chrono::milliseconds site_procedure::patience() const {
  return recovering_ ? std::chrono::milliseconds{recovery_patience}
                     : cfg_->orchestrator.site_switchover.prepare_timeout;
}

caf::expected<service_state_list> site_procedure::coordinator_state() {
  return ask<service_state_list>(self_, peers_->coordinator(), caf::timespan{ask_timeout},
                                 get_state_atom::value);
}

caf::expected<std::int64_t> site_procedure::save(site_record& r) {
  auto id = ask<std::int64_t>(self_, peers_->store(), caf::timespan{ask_timeout}, site_save{r});
  if (id)
    r.id = *id;
  else
    spdlog::error("site switchover #{}: journal write failed: {}", r.id, describe(id.error()));
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
  if (auto id = save(r); !id)
    return make_sy_error(sy_errc::storage_failure,
                         "the site switchover could not be journaled, nothing was done: " +
                             describe(id.error()));
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

void site_procedure::recover() {
  recovering_ = true;
  auto store = peers_->store();
  auto rows =
      ask<site_record_list>(self_, store, caf::timespan{ask_timeout}, site_query{0, 0, true});
  if (!rows) {
    spdlog::error("site switchovers: reading unfinished ones failed: {}", describe(rows.error()));
    return;
  }
  for (auto& r : *rows) {
    if (r.state == site_state::preparing) {
      spdlog::warn("site switchover #{} ({} -> {}) was undecided when switchyardd stopped: "
                   "aborting it",
                   r.id, r.from_site, r.to_site);
      abort(r, "switchyardd stopped before the commit decision");
    } else {
      spdlog::warn("site switchover #{} ({} -> {}) was committed when switchyardd stopped: "
                   "carrying it through",
                   r.id, r.from_site, r.to_site);
      announce(r, "resuming after a restart of switchyardd: committed, carrying it through");
      if (!reserve(r, true))
        spdlog::error("site switchover #{}: a participant could not be reserved; going on "
                      "anyway (the decision is committed)",
                      r.id);
      for (auto& p : r.participants)
        if (leaves_running(p.state))
          p.state = participant_state::pending;
      carry_through(r);
    }
    if (r.drill != 0) {
      auto drills =
          ask<drill_report_list>(self_, store, caf::timespan{ask_timeout}, drill_query{r.drill, 1});
      if (drills && !drills->empty() && drills->front().finished_ms == 0) {
        auto d = drills->front();
        d.finished_ms = wall_clock_ms();
        d.passed = false;
        d.detail = fmt::format("interrupted by a restart of switchyardd; site switchover #{} "
                               "was {} at restart; no failback was run",
                               r.id, to_string(r.state));
        (void)ask<std::int64_t>(self_, store, caf::timespan{ask_timeout}, drill_save{d});
      }
    }
  }
}

} // namespace switchyard::actors

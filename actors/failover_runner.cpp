#include "actors/failover_runner.hpp"

#include <algorithm>
#include <utility>

#include <caf/all.hpp>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "actors/fault_injection.hpp"
#include "actors/fenced_journal.hpp"
#include "actors/running_jobs.hpp"
#include "actors/store_journal.hpp"
#include "messages/error.hpp"
#include "strategies/strategy.hpp"

namespace switchyard::actors {

namespace {

using strategies_ptr = std::shared_ptr<const strategies::strategy_set>;

runner_actor::behavior_type failover_worker(runner_actor::pointer self, strategies_ptr set,
                                            peers_ptr peers) {
  // Made on the worker's own thread while it waits for its job: the journal
  // asks the store through it.
  auto asker = std::make_shared<caf::scoped_actor>(self->system());
  return {
      [self, set, peers, asker](failover_job& job) -> caf::result<failover_result> {
        trace_hop(job.plan.service.value, "worker");
        auto rp = self->make_response_promise<failover_result>();
        rp.deliver(run_failover_job(*asker, *peers, *set, job));
        self->quit(); // one job per worker
        return rp;
      },
      [](candidate_check&) -> candidate_verdict { return {}; }, // never sent to a job worker
      [](rejoin_request&) -> rejoin_outcome { return {}; },     // nor this
      [](restart_request&) -> restart_outcome { return {}; },
      [](site_prepare&) -> site_prepare_outcome { return {}; },
      [](integrity_check&) -> integrity_outcome { return {}; },
      [](config_update&) {}, // a worker keeps the configuration it was started with

  };
}

using check_worker_actor =
    caf::typed_actor<caf::replies_to<candidate_check>::with<candidate_verdict>,
                     caf::replies_to<rejoin_request>::with<rejoin_outcome>,
                     caf::replies_to<restart_request>::with<restart_outcome>,
                     caf::replies_to<site_prepare>::with<site_prepare_outcome>,
                     caf::replies_to<integrity_check>::with<integrity_outcome>>;

// Pre-checks and rejoins: blocking, one per worker.
check_worker_actor::behavior_type check_worker(check_worker_actor::pointer self, strategies_ptr set,
                                               peers_ptr peers) {
  return {
      [self, set](candidate_check& check) -> caf::result<candidate_verdict> {
        auto rp = self->make_response_promise<candidate_verdict>();
        rp.deliver(run_candidate_checks(*set, check));
        self->quit();
        return rp;
      },
      [self, set, peers](rejoin_request& req) -> caf::result<rejoin_outcome> {
        auto rp = self->make_response_promise<rejoin_outcome>();
        rp.deliver(run_rejoin(self->system(), *peers, *set, req));
        self->quit();
        return rp;
      },
      [self, set, peers](restart_request& req) -> caf::result<restart_outcome> {
        auto rp = self->make_response_promise<restart_outcome>();
        restart_outcome out;
        auto* strategy = set->find(req.service.value);
        if (strategy == nullptr) {
          out.detail = fmt::format("service '{}' is not configured", req.service.value);
        } else if (!peers->authority().may_act()) {
          out.detail = "not done: this replica may not act (it does not lead)";
        } else {
          auto r = strategy->restart_in_place(req.instance.value);
          out.ok = r.ok;
          out.detail = r.detail;
        }
        rp.deliver(out);
        self->quit();
        return rp;
      },
      [self, set, peers](site_prepare& req) -> caf::result<site_prepare_outcome> {
        auto rp = self->make_response_promise<site_prepare_outcome>();
        if (req.work != site_work::gap && !peers->authority().may_act()) {
          site_prepare_outcome refused;
          refused.detail = "not done: this replica may not act (it does not lead)";
          rp.deliver(refused);
        } else {
          rp.deliver(run_site_prepare(*set, req));
        }
        self->quit();
        return rp;
      },
      [self, set](integrity_check& req) -> caf::result<integrity_outcome> {
        auto rp = self->make_response_promise<integrity_outcome>();
        rp.deliver(run_integrity_checks(*set, req));
        self->quit();
        return rp;
      },
  };
}

} // namespace

candidate_verdict run_candidate_checks(const strategies::strategy_set& set,
                                       const candidate_check& check) {
  candidate_verdict verdict;
  const auto* settings = set.settings(check.service.value);
  if (settings == nullptr) {
    verdict.reasons.push_back(fmt::format("service '{}' is not configured", check.service.value));
    return verdict;
  }
  auto* strategy = set.find(check.service.value);
  // A readiness check is routine: its findings are the verdict, not log lines.
  auto log_level = check.readiness ? spdlog::level::debug : spdlog::level::info;
  std::vector<std::string> names;
  for (const auto& c : check.candidates)
    names.push_back(c.value);
  // Most advanced replication position first (ties by priority): the one
  // that loses the least data is tried first.
  auto ranked = strategy->rank_candidates(check.current_primary.value, names);
  if (!settings->strategy.position.empty()) {
    std::vector<std::string> shown;
    for (const auto& r : ranked)
      shown.push_back(r.position ? fmt::format("{} at {}", r.instance, *r.position)
                                 : fmt::format("{} unknown ({})", r.instance, r.detail));
    verdict.ranking = fmt::format("by replication position: {}", fmt::join(shown, ", "));
    spdlog::log(log_level, "{}: candidates {}", check.service.value, verdict.ranking);
  }
  for (const auto& candidate : ranked) {
    auto r = strategy->check_candidate(check.current_primary.value, candidate.instance);
    if (r.ok) {
      spdlog::log(log_level, "{}: pre-checks of {}: {}", check.service.value, candidate.instance,
                  r.detail);
      verdict.chosen = instance_id{candidate.instance};
      break;
    }
    spdlog::log(check.readiness ? spdlog::level::debug : spdlog::level::warn, "{}: {}",
                check.service.value, r.detail);
    verdict.reasons.push_back(r.detail);
  }
  if (check.readiness && !ranked.empty())
    verdict.readiness_problems = strategy->check_readiness(
        check.current_primary.value,
        verdict.chosen.value.empty() ? ranked.front().instance : verdict.chosen.value);
  return verdict;
}

failover_result run_failover_job(caf::scoped_actor& asker, const peer_table& peers,
                                 const strategies::strategy_set& set, const failover_job& job) {
  failover_result result;
  result.service = job.plan.service;
  result.new_epoch = job.new_epoch;
  const auto& service = job.plan.service.value;
  const auto* settings = set.settings(service);
  auto fail = [&](std::string why) {
    result.success = false;
    result.detail = std::move(why);
    return result;
  };
  if (settings == nullptr)
    return fail(fmt::format("service '{}' is not configured", service));
  // Until this returns, a restarted coordinator must not resume or start
  // another switchover of this service (see running_jobs.hpp).
  running_jobs::guard busy{peers.jobs(), service};
  store_journal journal{asker, peers, service};
  switchover_start start{job.plan.service, job.kind,         job.from,      job.to,
                         job.detection.id, job.plan_version, job.new_epoch, job.reason};
  // A new switchover's plan is persisted with its opening row, and that row
  // with the first step (its id is taken below): one commit before the
  // first step's action, which runs only after it.
  start.persist_plan = job.plan_version == 0;
  if (start.persist_plan)
    start.plan = job.plan;
  start.decision = job.decision;
  start.leader_epoch = peers.authority().epoch();
  // Cluster mode: the intent goes to etcd under this leader's epoch before
  // anything is journaled or run here; a replica that does not lead stops.
  switchover_intent_info intent{job.plan.service, job.resume,    job.kind, job.from,
                                job.to,           job.new_epoch, job.plan, job.resume.value != 0};
  if (!intent.resuming)
    intent.id = switchover_id{peers.switchover_ids()->reserve()};
  intent.takeover_of = job.takeover;
  auto& authority = peers.authority();
  if (auto ok = authority.begin(intent); !ok)
    return fail("not started, nothing was done: " + describe(ok.error()));
  caf::expected<switchover_id> opened = job.resume;
  if (job.resume.value != 0) {
    auto done = std::count_if(job.journaled.begin(), job.journaled.end(),
                              [](const auto& j) { return j.status == step_status::done; });
    spdlog::warn("{}: resuming switchover #{} ({} -> {}, epoch {}) after a restart: {} of {} "
                 "steps done before",
                 service, job.resume.value, job.from.value, job.to.value, job.new_epoch.value, done,
                 job.plan.steps.size());
  } else {
    start.id = intent.id;
    opened = journal.begin_switchover(start);
    if (!opened) {
      (void)authority.end(job.plan.service, intent.id, false, job.from, job.new_epoch);
      return fail("switchover could not be journaled, nothing was done: " +
                  describe(opened.error()));
    }
  }
  result.switchover = *opened;

  auto* strategy = set.find(service);
  strategies::execution_input in{settings,
                                 job.plan,
                                 *opened,
                                 job.from.value,
                                 job.to.value,
                                 job.new_epoch,
                                 job.kind == switchover_kind::planned_switchover,
                                 job.journaled};
  // Only the evidence of the detection that triggered it counts; a resumed or
  // operator-started switchover has none, so its fence steps must succeed.
  in.leader_epoch = authority.epoch();
  in.old_primary_dead = job.kind == switchover_kind::automatic_failover &&
                        settings->strategy.dead_when == config::dead_rule::refused &&
                        job.detection.refused;
  fenced_journal fenced{journal, authority, job.plan.service};
  auto outcome = strategy->execute(in, fenced);
  if (!outcome.alert.empty()) {
    failure_detection d;
    d.service = job.plan.service;
    d.instance = job.from;
    d.type = failure_type::fencing_failed;
    d.level = severity::critical;
    d.affects_primary = true;
    d.evidence = fmt::format("switchover #{}: {}", opened->value, outcome.alert);
    (void)journal.record(std::move(d), true); // logged if it fails; the failover stops anyway
  }

  switchover_finish fin;
  fin.switchover = *opened;
  fin.service = job.plan.service;
  fin.status = outcome.success ? switchover_status::completed : switchover_status::failed;
  fin.new_primary = outcome.success ? job.to : job.from;
  fin.new_epoch = job.new_epoch;
  fin.detail = outcome.detail;
  if (auto closed = journal.finish_switchover(fin); !closed) {
    if (journal.opening_pending()) // its first write failed: nothing ran
      return fail("switchover could not be journaled, nothing was done: " +
                  describe(closed.error()));
    // The actions ran but the outcome is not durable: report failure so the
    // coordinator does not act on an unrecorded topology; an operator must look.
    return fail(fmt::format("switchover #{} ran ({}), but its outcome could not be journaled: {}",
                            opened->value, outcome.success ? "succeeded" : "failed",
                            describe(closed.error())));
  }
  // Replicated last: a successor that finds the intent still open completes
  // or rolls back with the same idempotent steps.
  if (auto ok =
          authority.end(job.plan.service, *opened, outcome.success, fin.new_primary, job.new_epoch);
      !ok)
    spdlog::error("{}: switchover #{} ended ({}), but its end could not be replicated: {}; the "
                  "next leader will find its intent open",
                  service, opened->value, outcome.success ? "completed" : "failed",
                  describe(ok.error()));
  result.success = outcome.success;
  result.new_primary = outcome.success ? job.to : job.from;
  result.detail = outcome.detail;
  result.alert = outcome.alert;
  return result;
}

rejoin_outcome run_rejoin(caf::actor_system& sys, const peer_table& peers,
                          const strategies::strategy_set& set, const rejoin_request& req) {
  rejoin_outcome out;
  const auto& service = req.service.value;
  const auto* settings = set.settings(service);
  if (settings == nullptr) {
    out.detail = fmt::format("service '{}' is not configured", service);
    return out;
  }
  if (!peers.authority().may_act()) {
    out.detail = "not done: this replica may not act (it does not lead)";
    return out;
  }
  if (settings->strategy.rejoin.empty()) {
    out.ok = true;
    out.detail = "no rejoin actions configured";
    return out;
  }
  store_journal journal{sys, peers, service};
  auto detection = [&](failure_type type, severity level, std::string evidence) {
    failure_detection d;
    d.service = req.service;
    d.instance = req.instance;
    d.type = type;
    d.level = level;
    d.evidence = std::move(evidence);
    return d;
  };
  // Journaled before anything is done to it.
  std::vector<std::string> names;
  for (const auto& a : settings->strategy.rejoin)
    names.push_back(a.name);
  auto opened = journal.record(
      detection(failure_type::returned, severity::warning,
                fmt::format("{} is healthy again while {} is primary: making it a replica ({})",
                            req.instance.value, req.primary.value, fmt::join(names, ", "))));
  if (!opened) {
    out.detail = "not journaled, nothing was done: " + describe(opened.error());
    return out;
  }
  auto r = set.find(service)->rejoin(req.primary.value, req.instance.value);
  out.ok = r.ok;
  out.detail = r.detail;
  out.divergence = r.divergence;
  if (!r.divergence.empty())
    (void)journal.record(detection(failure_type::diverged, severity::critical,
                                   fmt::format("{} had diverged from {}: it held {}; {}",
                                               req.instance.value, req.primary.value, r.divergence,
                                               r.ok ? "discarded: it replicates the primary now"
                                                    : "kept: the rejoin failed")));
  if (!r.ok)
    (void)journal.record(detection(failure_type::rejoin_failed, severity::critical,
                                   fmt::format("{} could not be made a replica of {}: {}; it may "
                                               "serve stale data: fix it by hand",
                                               req.instance.value, req.primary.value, r.detail)),
                         true);
  return out;
}

runner_actor::behavior_type failover_runner(runner_actor::pointer self,
                                            std::shared_ptr<const config::switchyard_config> cfg,
                                            peers_ptr peers) {
  // Each worker keeps the configuration (and the strategies built from it) it
  // started with, even across a reload; the strategies are built once per
  // configuration, not per job.
  auto current = std::make_shared<strategies_ptr>(
      std::make_shared<const strategies::strategy_set>(std::move(cfg)));
  // A failover worker started ahead of need: the thread a job runs on exists
  // before the job does. Starting a thread takes 50 us to over a millisecond
  // on a busy 2-core machine, and it would sit between the decision and the
  // first journaled step. Linked while idle (it ends with the runner), unlinked
  // once it has a job (a job outlives a restart of the runner).
  auto spare = std::make_shared<runner_actor>();
  auto refill = [self, current, spare, peers] {
    *spare = self->spawn<caf::detached + caf::linked>(failover_worker, *current, peers);
  };
  refill();
  return {
      [self, spare, refill](failover_job& job) {
        trace_hop(job.plan.service.value, "runner");
        auto worker = std::exchange(*spare, runner_actor{});
        self->unlink_from(worker);
        auto delegated = self->delegate(worker, std::move(job));
        refill(); // after handing out the job: its thread starts meanwhile
        return delegated;
      },
      [self, current, peers](candidate_check& check) {
        // Checks block (they run commands): off the cooperative scheduler too.
        auto worker = self->spawn<caf::detached>(check_worker, *current, peers);
        return self->delegate(worker, std::move(check));
      },
      [self, current, peers](rejoin_request& req) {
        auto worker = self->spawn<caf::detached>(check_worker, *current, peers);
        return self->delegate(worker, std::move(req));
      },
      [self, current, peers](restart_request& req) {
        auto worker = self->spawn<caf::detached>(check_worker, *current, peers);
        return self->delegate(worker, std::move(req));
      },
      [self, current, peers](site_prepare& req) {
        auto worker = self->spawn<caf::detached>(check_worker, *current, peers);
        return self->delegate(worker, std::move(req));
      },
      [self, current, peers](integrity_check& req) {
        auto worker = self->spawn<caf::detached>(check_worker, *current, peers);
        return self->delegate(worker, std::move(req));
      },
      [self, current, spare, refill](config_update& update) {
        *current = std::make_shared<const strategies::strategy_set>(update.cfg);
        // The idle worker holds the old configuration: replace it.
        self->unlink_from(*spare);
        self->send_exit(*spare, caf::exit_reason::user_shutdown);
        refill();
      },
  };
}

site_prepare_outcome run_site_prepare(const strategies::strategy_set& set,
                                      const site_prepare& req) {
  site_prepare_outcome out;
  auto* strategy = set.find(req.service.value);
  if (strategy == nullptr) {
    out.detail = fmt::format("service '{}' is not configured", req.service.value);
    return out;
  }
  const auto& primary = req.primary.value;
  const auto& target = req.target.value;
  if (req.work == site_work::undo) {
    auto r = strategy->undo_prepare(primary, target);
    out.ok = r.ok;
    out.detail = r.detail;
    return out;
  }
  if (req.work == site_work::prepare) {
    auto r = strategy->prepare_site(primary, target);
    out.ok = r.ok;
    out.detail = r.detail;
    if (!r.ok)
      return out;
  } else {
    out.ok = true;
  }
  if (auto gap = strategy->position_gap(primary, target))
    out.gap = *gap;
  return out;
}

integrity_outcome run_integrity_checks(const strategies::strategy_set& set,
                                       const integrity_check& req) {
  integrity_outcome out;
  auto* strategy = set.find(req.service.value);
  if (strategy == nullptr) {
    out.checks.push_back(
        {"integrity", false, fmt::format("service '{}' is not configured", req.service.value)});
    return out;
  }
  out.checks = strategy->check_integrity(req.old_primary.value, req.new_primary.value);
  return out;
}

} // namespace switchyard::actors

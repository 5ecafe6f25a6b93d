#include "actors/failover_runner.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/directory.hpp"
#include "actors/running_jobs.hpp"
#include "actors/store_journal.hpp"
#include "messages/error.hpp"
#include "strategies/strategy.hpp"

namespace switchyard::actors {

namespace {

runner_actor::behavior_type failover_worker(runner_actor::pointer self,
                                            std::shared_ptr<const config::switchyard_config> cfg) {
  return {
      [self, cfg](failover_job& job) -> caf::result<failover_result> {
        auto rp = self->make_response_promise<failover_result>();
        rp.deliver(run_failover_job(self->system(), *cfg, job));
        self->quit(); // one job per worker
        return rp;
      },
      [](candidate_check&) -> candidate_verdict { return {}; }, // never sent to a job worker
      [](config_update&) {}, // a worker keeps the configuration it was started with

  };
}

using check_worker_actor =
    caf::typed_actor<caf::replies_to<candidate_check>::with<candidate_verdict>>;

check_worker_actor::behavior_type
check_worker(check_worker_actor::pointer self,
             std::shared_ptr<const config::switchyard_config> cfg) {
  return {
      [self, cfg](candidate_check& check) -> caf::result<candidate_verdict> {
        auto rp = self->make_response_promise<candidate_verdict>();
        rp.deliver(run_candidate_checks(*cfg, check));
        self->quit(); // one check per worker
        return rp;
      },
  };
}

} // namespace

candidate_verdict run_candidate_checks(const config::switchyard_config& cfg,
                                       const candidate_check& check) {
  candidate_verdict verdict;
  const auto* settings = cfg.find_service(check.service.value);
  if (settings == nullptr) {
    verdict.reasons.push_back(fmt::format("service '{}' is not configured", check.service.value));
    return verdict;
  }
  auto strategy = strategies::make_strategy(*settings);
  for (const auto& candidate : check.candidates) {
    auto r = strategy->check_candidate(check.current_primary.value, candidate.value);
    if (r.ok) {
      spdlog::info("{}: pre-checks of {}: {}", check.service.value, candidate.value, r.detail);
      verdict.chosen = candidate;
      return verdict;
    }
    spdlog::warn("{}: {}", check.service.value, r.detail);
    verdict.reasons.push_back(r.detail);
  }
  return verdict;
}

failover_result run_failover_job(caf::actor_system& sys, const config::switchyard_config& cfg,
                                 const failover_job& job) {
  failover_result result;
  result.service = job.plan.service;
  result.new_epoch = job.new_epoch;
  const auto& service = job.plan.service.value;
  const auto* settings = cfg.find_service(service);
  auto fail = [&](std::string why) {
    result.success = false;
    result.detail = std::move(why);
    return result;
  };
  if (settings == nullptr)
    return fail(fmt::format("service '{}' is not configured", service));
  // Until this returns, a restarted coordinator must not resume or start
  // another switchover of this service (see running_jobs.hpp).
  running_jobs::guard busy{service};
  store_journal journal{sys, service};
  switchover_start start{job.plan.service, job.kind,         job.from,      job.to,
                         job.detection.id, job.plan_version, job.new_epoch, job.reason};
  caf::expected<switchover_id> opened = job.resume;
  if (job.resume.value != 0) {
    auto done = std::count_if(job.journaled.begin(), job.journaled.end(),
                              [](const auto& j) { return j.status == step_status::done; });
    spdlog::warn("{}: resuming switchover #{} ({} -> {}, epoch {}) after a restart: {} of {} "
                 "steps done before",
                 service, job.resume.value, job.from.value, job.to.value, job.new_epoch.value, done,
                 job.plan.steps.size());
  } else {
    opened = journal.begin_switchover(start);
    if (!opened)
      return fail("switchover could not be journaled, nothing was done: " +
                  describe(opened.error()));
    spdlog::info("{}: switchover #{} started ({} -> {}, {} steps)", service, opened->value,
                 job.from.value, job.to.value, job.plan.steps.size());
  }
  result.switchover = *opened;

  auto strategy = strategies::make_strategy(*settings);
  strategies::execution_input in{settings,
                                 job.plan,
                                 *opened,
                                 job.from.value,
                                 job.to.value,
                                 job.new_epoch,
                                 job.kind == switchover_kind::planned_switchover,
                                 job.journaled};
  auto outcome = strategy->execute(in, journal);

  switchover_finish fin;
  fin.switchover = *opened;
  fin.service = job.plan.service;
  fin.status = outcome.success ? switchover_status::completed : switchover_status::failed;
  fin.new_primary = outcome.success ? job.to : job.from;
  fin.new_epoch = job.new_epoch;
  fin.detail = outcome.detail;
  if (auto closed = journal.finish_switchover(fin); !closed) {
    // The actions ran but the outcome is not durable: report failure so the
    // coordinator does not act on an unrecorded topology; an operator must look.
    return fail(fmt::format("switchover #{} ran ({}), but its outcome could not be journaled: {}",
                            opened->value, outcome.success ? "succeeded" : "failed",
                            describe(closed.error())));
  }
  result.success = outcome.success;
  result.new_primary = outcome.success ? job.to : job.from;
  result.detail = outcome.detail;
  return result;
}

runner_actor::behavior_type failover_runner(runner_actor::pointer self,
                                            std::shared_ptr<const config::switchyard_config> cfg) {
  // Each worker keeps the configuration it started with, even across a reload.
  auto current = std::make_shared<std::shared_ptr<const config::switchyard_config>>(std::move(cfg));
  return {
      [self, current](failover_job& job) {
        auto worker = self->spawn<caf::detached>(failover_worker, *current);
        return self->delegate(worker, std::move(job));
      },
      [self, current](candidate_check& check) {
        // Checks block (they run commands): off the cooperative scheduler too.
        auto worker = self->spawn<caf::detached>(check_worker, *current);
        return self->delegate(worker, std::move(check));
      },
      [current](config_update& update) { *current = update.cfg; },
  };
}

} // namespace switchyard::actors

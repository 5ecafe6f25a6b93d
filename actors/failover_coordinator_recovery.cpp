// Recovery at start: the persisted topology, maintenance windows and the
// last hour's switchovers; switchovers a stopped switchyardd left running are
// resumed, and ones still running in this process (only the coordinator was
// restarted) adopted until they end.
#include <algorithm>
#include <functional>
#include <set>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/event_hub.hpp"
#include "actors/failover_coordinator_detail.hpp"
#include "actors/running_jobs.hpp"
#include "messages/error.hpp"
#include "rules/coordinator_rules.hpp"

namespace switchyard::actors::coordinator {

namespace {

// Resumes a switchover a stopped switchyardd left running: the same id, epoch
// and persisted plan; steps journaled as done are not run again, a started
// one is re-run. One that cannot go on is closed as failed, saying why.
void resume_switchover(coord_ptr self, const interrupted_switchover& i) {
  const auto& sw = i.switchover;
  const auto& service = sw.service.value;
  auto it = self->state.services.find(service);
  std::string problem = i.problem;
  if (problem.empty() && it == self->state.services.end())
    problem = "the service is no longer configured";
  else if (problem.empty() && it->second.primary != sw.from.value)
    problem =
        fmt::format("its primary is recorded as {} now, not {}", it->second.primary, sw.from.value);
  // Cluster mode: whichever replica leads carries it on from its replicated
  // intent (as a switchover of its own); this row only records the interruption.
  const bool clustered = self->state.peers->authority().view().clustered;
  if (!problem.empty() || clustered) {
    auto detail = problem.empty()
                      ? std::string{"interrupted by a restart of switchyardd; in cluster mode the "
                                    "leader carries it on from its replicated intent"}
                      : fmt::format("interrupted by a restart of switchyardd and not resumed: {}; "
                                    "the service keeps its previous primary; check it by hand",
                                    problem);
    spdlog::log(problem.empty() ? spdlog::level::warn : spdlog::level::err, "{}: switchover #{} {}",
                service, sw.id.value, detail);
    if (auto store = self->state.peers->store())
      self->request(store, std::chrono::seconds(10),
                    switchover_finish{sw.id, sw.service, switchover_status::failed, sw.from,
                                      sw.run_epoch, detail})
          .then([](caf::ok_atom) {},
                [service](caf::error& err) {
                  spdlog::error("{}: closing an interrupted switchover failed: {}", service,
                                describe(err));
                });
    return;
  }
  const char* what = sw.kind == switchover_kind::planned_switchover ? "switchover" : "failover";
  failover_job job;
  job.kind = sw.kind;
  job.plan = i.plan;
  job.plan_version = sw.plan_version;
  job.from = sw.from;
  job.to = sw.to;
  job.new_epoch = sw.run_epoch;
  job.reason = sw.reason;
  job.resume = sw.id;
  for (const auto& st : i.steps)
    job.journaled.push_back(journaled_step{st.sequence, st.name, st.status});
  note_decision(self, service,
                fmt::format("resuming {} #{} ({} -> {}) after a restart of switchyardd", what,
                            sw.id.value, sw.from.value, sw.to.value));
  hand_to_runner(self, service, what, std::move(job));
}

} // namespace

void hand_to_runner(coord_ptr self, const std::string& service, const char* what,
                    failover_job job) {
  auto& view = self->state.services[service];
  view.in_flight = true;
  self->state.note_busy(service);
  view.last_failover = self->clock().now();
  auto finish = on_switchover_end(self, service, what, [](const failover_result&) {});
  auto runner = self->state.peers->runner();
  if (!runner) { // the supervisor starts the runner before the coordinator
    failover_result r;
    r.service = service_id{service};
    r.detail = "failover runner unavailable: switchover not resumed";
    finish(std::move(r));
    return;
  }
  self->request(runner, caf::infinite, std::move(job))
      .then([finish](failover_result& r) { finish(std::move(r)); },
            [finish, service](caf::error& err) {
              failover_result r;
              r.service = service_id{service};
              r.detail = describe(err);
              finish(std::move(r));
            });
}

namespace {

// At start: the persisted topology, then maintenance windows, then the
// switchovers a stopped switchyardd left running (resumed before any new
// detection is decided on, so none is started beside them).
void load_state(coord_ptr self, store_actor store, std::function<void()> retry) {
  auto failed = [retry](const char* what) {
    return [retry, what](caf::error& err) {
      spdlog::error("coordinator: loading {} failed: {}; retrying", what, describe(err));
      retry();
    };
  };
  // The hour's switchovers count against max_failovers_per_hour across
  // restarts. Answered before the topology (the store answers in order), so
  // before any decision; the newest max_failovers_per_hour are all it takes.
  auto per_hour = static_cast<std::uint32_t>(self->state.safety.max_failovers_per_hour);
  self->request(store, std::chrono::seconds(10), switchovers_query{std::string{}, per_hour})
      .then(
          [self](switchover_record_list& rows) {
            self->state.started = recent_starts(rows, self->clock().now(), wall_clock_ms());
          },
          [](caf::error& err) {
            spdlog::error("coordinator: reading the last hour's switchovers failed: {}; "
                          "max_failovers_per_hour counts from now",
                          describe(err));
          });
  self->request(store, std::chrono::seconds(10), load_topo_atom::value)
      .then(
          [self, store, failed](topology_list& topo) {
            self->request(store, std::chrono::seconds(10), maint_atom::value)
                .then(
                    [self, store, topo, failed](maintenance_list& windows) {
                      self->request(store, std::chrono::seconds(10), resume_atom::value)
                          .then(
                              [self, topo, windows](interrupted_list& interrupted) {
                                self->state.apply_topology(topo, self->clock().now(),
                                                           wall_clock_ms());
                                // In a cluster the replicated windows count, not
                                // this replica's copy (another leader may have ended them).
                                if (!self->state.peers->authority().view().clustered)
                                  for (auto w : windows)
                                    apply_maintenance(self, std::move(w));
                                for (auto& [name, view] : self->state.services) {
                                  spdlog::info("{}: primary {} (epoch {})", name, view.primary,
                                               view.epoch);
                                  tell_classifier(self, name);
                                  if (self->state.peers->jobs().running(name)) {
                                    // This coordinator was restarted, not the process: the
                                    // switchover goes on in the runner; wait for its end.
                                    view.in_flight = true;
                                    self->state.note_busy(name);
                                    self->state.adopted.insert(name);
                                    spdlog::warn("{}: a switchover is still running: waiting "
                                                 "for it to end",
                                                 name);
                                  }
                                }
                                for (const auto& [name, view] : self->state.services)
                                  self->send(self, ready_atom::value, service_id{name});
                                for (const auto& i : interrupted)
                                  if (!self->state.adopted.count(i.switchover.service.value))
                                    resume_switchover(self, i);
                                if (!self->state.adopted.empty())
                                  self->delayed_send(self, std::chrono::milliseconds(500),
                                                     adopt_atom::value);
                                replay_early(self);
                              },
                              failed("interrupted switchovers"));
                    },
                    failed("maintenance"));
          },
          failed("the topology"));
}

} // namespace

void start_loading(coord_ptr self) {
  auto store = self->state.peers->store();
  auto retry = [self] { self->delayed_send(self, std::chrono::seconds(1), load_topo_atom::value); };
  if (!store) {
    retry();
    return;
  }
  load_state(self, store, retry);
}

// An adopted switchover has ended when the runner no longer runs it: its
// outcome is in the database; take primary and epoch from there.
void check_adopted(coord_ptr self) {
  auto& st = self->state;
  std::set<std::string> ended;
  for (const auto& name : st.adopted)
    if (!self->state.peers->jobs().running(name))
      ended.insert(name);
  for (const auto& name : ended)
    st.adopted.erase(name);
  if (!st.adopted.empty())
    self->delayed_send(self, std::chrono::milliseconds(500), adopt_atom::value);
  if (ended.empty())
    return;
  auto store = self->state.peers->store();
  if (!store) { // try again shortly: they stay busy meanwhile
    st.adopted.insert(ended.begin(), ended.end());
    self->delayed_send(self, std::chrono::milliseconds(500), adopt_atom::value);
    return;
  }
  self->request(store, std::chrono::seconds(10), load_topo_atom::value)
      .then(
          [self, ended](topology_list& topo) {
            topology_list mine;
            for (auto& t : topo)
              if (ended.count(t.service.value))
                mine.push_back(std::move(t));
            self->state.apply_topology(mine, self->clock().now(), wall_clock_ms());
            for (const auto& name : ended) {
              auto& view = self->state.services[name];
              view.in_flight = false;
              self->state.note_busy(name);
              note_decision(self, name,
                            fmt::format("the switchover that was running ended: {} is "
                                        "primary (epoch {})",
                                        view.primary, view.epoch));
              tell_classifier(self, name);
            }
            retry_pending(self, hold::concurrency, {});
          },
          [self, ended](caf::error& err) {
            spdlog::error("coordinator: reading the outcome of running switchovers: {}",
                          describe(err));
            self->state.adopted.insert(ended.begin(), ended.end());
            self->delayed_send(self, std::chrono::milliseconds(500), adopt_atom::value);
          });
}

} // namespace switchyard::actors::coordinator

// Readiness: whether a failover of each service could succeed now, checked
// periodically (the strategy's pre-checks and readiness actions on the
// runner, read-only) and reported when it changes.
#include <caf/all.hpp>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "actors/event_hub.hpp"
#include "actors/failover_coordinator_detail.hpp"
#include "messages/error.hpp"
#include "rules/coordinator_rules.hpp"
#include "strategies/active_passive.hpp"

namespace switchyard::actors::coordinator {

// Logs and streams a change of a service's readiness (not every check): a
// service that could not fail over is flagged before it is needed.
void report_readiness(coord_ptr self, const std::string& service) {
  auto& st = self->state;
  auto& r = st.readiness[service];
  if (r.checked_ms == 0)
    return; // not checked yet: nothing to say
  auto problems = st.readiness_problems(service);
  auto text = problems.empty() ? std::string{} : fmt::format("{}", fmt::join(problems, "; "));
  switch (readiness_change(r.reported, text)) {
  case readiness_news::none:
    return;
  case readiness_news::ready_again:
    spdlog::info("{}: ready: a failover could succeed again", service);
    publish_event(*self->state.peers, {0, 0, event_kind::decision, service_id{service},
                                       instance_id{}, switchover_id{0}, "ready again"});
    return;
  case readiness_news::not_ready:
    break;
  }
  spdlog::warn("{}: NOT READY: a failover could not succeed now: {}", service, text);
  publish_event(*self->state.peers, {0, 0, event_kind::decision, service_id{service}, instance_id{},
                                     switchover_id{0}, "NOT READY: " + text});
}

// The periodic full readiness check of `service`: the strategy's pre-checks
// (e.g. replication within the RPO) and readiness actions on the runner,
// read-only, against the candidates an automatic failover would try now.
void check_readiness(coord_ptr self, const std::string& service) {
  auto& st = self->state;
  auto i = st.services.find(service);
  if (i == st.services.end())
    return;
  auto& view = i->second;
  auto& r = st.readiness[service];
  if (r.running || view.in_flight || view.checking)
    return; // busy: the next round looks again
  auto candidates = strategies::promotion_candidates(*view.settings, view.primary, view.health,
                                                     view.instances_in_maintenance());
  const auto& strategy = st.strategy(service);
  bool needs_runner = !candidates.empty() && (strategy.has_candidate_checks() ||
                                              !view.settings->strategy.readiness.empty());
  auto runner = self->state.peers->runner();
  r.full = !candidates.empty();
  if (!needs_runner || !runner) {
    r.found.clear();
    if (needs_runner)
      r.found.push_back("the failover runner is not running");
    r.checked_ms = wall_clock_ms();
    report_readiness(self, service);
    return;
  }
  candidate_check check{service_id{service}, instance_id{view.primary}, {}, true};
  for (const auto* c : candidates)
    check.candidates.push_back(instance_id{c->name});
  r.running = true;
  self->request(runner, caf::infinite, std::move(check))
      .then(
          [self, service](candidate_verdict& v) {
            auto& rs = self->state.readiness[service];
            rs.running = false;
            rs.found.clear();
            if (v.chosen.value.empty())
              rs.found.push_back(
                  fmt::format("no standby passes the pre-checks: {}", fmt::join(v.reasons, "; ")));
            rs.found.insert(rs.found.end(), v.readiness_problems.begin(),
                            v.readiness_problems.end());
            rs.checked_ms = wall_clock_ms();
            report_readiness(self, service);
          },
          [self, service](caf::error& err) {
            auto& rs = self->state.readiness[service];
            rs.running = false;
            rs.found = {"the readiness check could not run: " + describe(err)};
            rs.checked_ms = wall_clock_ms();
            report_readiness(self, service);
          });
}

void on_readiness_timer(coord_ptr self, const service_id& service) {
  auto i = self->state.services.find(service.value);
  if (i == self->state.services.end())
    return; // removed by a reload: its timer ends here
  self->delayed_send(self, i->second.settings->readiness_interval, ready_atom::value, service);
  check_readiness(self, service.value);
}

void on_unjournaled(coord_ptr self, unjournaled_detection& u) {
  auto& of_service = self->state.unjournaled[u.service.value];
  if (u.problem.empty())
    of_service.erase(u.instance.value);
  else
    of_service[u.instance.value] = std::move(u.problem);
  if (of_service.empty())
    self->state.unjournaled.erase(u.service.value);
}

} // namespace switchyard::actors::coordinator

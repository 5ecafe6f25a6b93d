// Restart in place: a primary whose process died on a host that still
// answers (its probes' connections are refused) may come back faster by being
// started again than by a failover. With strategy.restart_in_place the
// coordinator runs its actions on the runner first and fails over only when
// they fail or the primary is not healthy again by the deadline. Each path
// taken is a journaled decision.
#include <caf/all.hpp>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "actors/failover_coordinator_detail.hpp"
#include "messages/error.hpp"

namespace switchyard::actors::coordinator {

namespace {

long long ms_since(coord_clock::time_point from, coord_clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(now - from).count();
}

// The restart ended without bringing the primary back: the failure is
// decided again now, and fails over (restart_first lets it through).
void give_up(coord_ptr self, const std::string& service, const std::string& why) {
  auto r = self->state.restarting.find(service);
  if (r == self->state.restarting.end())
    return;
  auto d = r->second.failure;
  r->second.until = self->clock().now(); // passed: restart_first lets it through
  spdlog::warn("{}: restart in place of {} failed: {}; failing over", service, d.instance.value,
               why);
  self->send(self, d);
}

} // namespace

bool restart_first(coord_ptr self, const failure_detection& d) {
  auto& st = self->state;
  const auto& service = d.service.value;
  auto& view = st.services[service];
  const auto& policy = view.settings->strategy.restart_in_place;
  if (!policy || d.type == failure_type::recovered)
    return false;
  auto now = self->clock().now();
  if (auto r = st.restarting.find(service); r != st.restarting.end()) {
    if (now < r->second.until)
      return true; // a restart is running: decided again when it ends
    // Its time is up and the primary is still down (the decision was to fail over).
    auto took = ms_since(r->second.started, now);
    st.restarting.erase(r);
    record_decision(self, d, "fail over",
                    fmt::format("restart in place did not bring {} back ({} ms): failing over",
                                d.instance.value, took),
                    false);
    return false;
  }
  // Only a process gone from a host that answers can be started again there;
  // a host that does not answer (down, partitioned, hung) cannot.
  if (!d.refused)
    return false;
  if (auto l = st.last_restart.find(service);
      l != st.last_restart.end() && now - l->second < view.settings->block_period) {
    record_decision(self, d, "fail over",
                    fmt::format("{} was restarted in place {} ms ago (once per block_period): "
                                "failing over",
                                d.instance.value, ms_since(l->second, now)),
                    false);
    return false;
  }
  auto runner = st.peers->runner();
  if (!runner)
    return false;
  st.last_restart[service] = now;
  st.restarting[service] = {d, now, now + policy->deadline};
  std::vector<std::string> names;
  for (const auto& a : policy->actions)
    names.push_back(a.name);
  record_decision(self, d, "restart in place",
                  fmt::format("{} died on a host that still answers ({}): starting it again in "
                              "place ({}); failing over if it is not healthy within {} ms",
                              d.instance.value, d.evidence, fmt::join(names, ", "),
                              policy->deadline.count()),
                  false);
  spdlog::warn("{}: restarting {} in place (deadline {} ms)", service, d.instance.value,
               policy->deadline.count());
  auto id = d.id.value;
  self->request(runner, caf::infinite, restart_request{d.service, d.instance})
      .then(
          [self, service, id](restart_outcome& out) {
            auto r = self->state.restarting.find(service);
            if (r == self->state.restarting.end() || r->second.failure.id.value != id)
              return; // it is healthy again already, or the attempt ended
            if (!out.ok) {
              record_decision(self, r->second.failure, "fail over",
                              "restart in place failed: " + out.detail + ": failing over", false);
              give_up(self, service, out.detail);
              return;
            }
            note_decision(self, service,
                          fmt::format("restart in place of {}: {}; waiting for it to be healthy",
                                      r->second.failure.instance.value, out.detail));
          },
          [self, service, id](caf::error& err) {
            auto r = self->state.restarting.find(service);
            if (r == self->state.restarting.end() || r->second.failure.id.value != id)
              return;
            record_decision(self, r->second.failure, "fail over",
                            "restart in place could not run: " + describe(err) + ": failing over",
                            false);
            give_up(self, service, describe(err));
          });
  // The deadline: decided again then (a failover if it is still down).
  self->delayed_send(self, policy->deadline, d);
  return true;
}

void restarted_in_place(coord_ptr self, const std::string& service, const std::string& instance) {
  auto& st = self->state;
  auto r = st.restarting.find(service);
  if (r == st.restarting.end() || r->second.failure.instance.value != instance)
    return;
  // Still here: the failover was not decided yet (restart_first ends the
  // attempt when it lets the failure through).
  auto now = self->clock().now();
  auto d = r->second.failure;
  auto took = ms_since(r->second.started, now);
  st.restarting.erase(r);
  record_decision(
      self, d, "restarted in place",
      fmt::format("{} is healthy again {} ms after its restart began: no failover", instance, took),
      false);
  spdlog::info("{}: {} restarted in place in {} ms: no failover", service, instance, took);
}

} // namespace switchyard::actors::coordinator

#include "actors/supervisor.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "observability/metrics.hpp"

namespace switchyard::actors {

namespace {

using sup_ptr = caf::stateful_actor<supervisor_state>*;

// switchyard_supervisor_restarts_total{child}: created (at 0) when a child is
// first started, so every supervised child is on /metrics before its first
// restart (an alert on increase() needs the series to exist beforehand).
metrics::counter& restarts_counter(sup_ptr self, const std::string& child) {
  return self->state.metrics->counter_for("switchyard_supervisor_restarts_total",
                                          "Children restarted by the supervisor after a crash.",
                                          {{"child", child}});
}

void start_child(sup_ptr self, supervised_child& child) {
  child.handle = child.spec.start(self->system());
  self->monitor(child.handle);
  if (child.spec.publish)
    child.spec.publish(child.handle);
}

void stop_children(sup_ptr self, const caf::error& reason) {
  self->state.stopping = true;
  // Reverse start order: dependents go before what they depend on (the store last).
  for (auto i = self->state.children.rbegin(); i != self->state.children.rend(); ++i) {
    if (i->spec.publish)
      i->spec.publish(caf::actor{});
    if (!i->handle)
      continue;
    self->demonitor(i->handle);
    self->send_exit(i->handle, reason);
  }
}

} // namespace

caf::behavior supervisor(caf::stateful_actor<supervisor_state>* self,
                         std::vector<child_spec> children, config::supervisor_settings settings,
                         metrics::registry* metrics) {
  self->state.metrics = metrics;
  for (auto& spec : children)
    self->state.children.push_back(
        supervised_child{self->state.next_id++, std::move(spec), {}, restart_policy{settings}, 0});
  for (auto& child : self->state.children) {
    restarts_counter(self, child.spec.name);
    start_child(self, child);
  }
  self->set_down_handler([self, settings](caf::down_msg& dm) {
    auto& st = self->state;
    if (st.stopping)
      return;
    for (auto& child : st.children) {
      if (!child.handle || dm.source != child.handle.address())
        continue;
      child.handle = nullptr;
      auto why = dm.reason ? describe(dm.reason) : std::string{"exited unexpectedly"};
      auto verdict = child.policy.on_crash(self->clock().now());
      if (verdict.escalate) {
        spdlog::critical("supervisor: {} crashed {} times within {} ms ({}); giving up",
                         child.spec.name, verdict.recent_crashes, settings.restart_window.count(),
                         why);
        auto reason =
            make_sy_error(sy_errc::unspecified,
                          fmt::format("{} crashed too often; last: {}", child.spec.name, why));
        stop_children(self, caf::exit_reason::user_shutdown);
        self->quit(reason);
        return;
      }
      spdlog::error("supervisor: {} crashed ({}); restart in {} ms ({} in window)", child.spec.name,
                    why,
                    std::chrono::duration_cast<std::chrono::milliseconds>(verdict.delay).count(),
                    verdict.recent_crashes);
      self->delayed_send(self, verdict.delay, restart_atom::value, child.id);
      return;
    }
  });
  self->set_exit_handler([self](caf::exit_msg& em) {
    stop_children(self, em.reason);
    self->quit(em.reason);
  });
  return {
      [self](restart_atom, std::uint64_t id) {
        if (self->state.stopping)
          return;
        for (auto& child : self->state.children) {
          if (child.id != id)
            continue; // a child removed meanwhile is simply not found
          ++child.restarts;
          restarts_counter(self, child.spec.name).inc();
          start_child(self, child);
          spdlog::info("supervisor: {} restarted (restart #{})", child.spec.name, child.restarts);
        }
      },
      [self, settings](supervisor_update& update) {
        auto& st = self->state;
        if (st.stopping)
          return;
        for (const auto& name : update.stop) {
          auto i = std::find_if(st.children.begin(), st.children.end(),
                                [&](const supervised_child& c) { return c.spec.name == name; });
          if (i == st.children.end())
            continue;
          if (i->spec.publish)
            i->spec.publish(caf::actor{});
          if (i->handle) {
            self->demonitor(i->handle); // an exit we asked for is not a crash
            self->send_exit(i->handle, caf::exit_reason::user_shutdown);
          }
          spdlog::info("supervisor: {} stopped", name);
          // Gone for good (e.g. an instance removed by a reload): so is its series.
          st.metrics->remove("switchyard_supervisor_restarts_total", {{"child", name}});
          st.children.erase(i);
        }
        for (auto& spec : update.start) {
          st.children.push_back(
              supervised_child{st.next_id++, std::move(spec), {}, restart_policy{settings}, 0});
          restarts_counter(self, st.children.back().spec.name);
          start_child(self, st.children.back());
          spdlog::info("supervisor: {} started", st.children.back().spec.name);
        }
      },
  };
}

} // namespace switchyard::actors

#include "actors/supervisor.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "messages/error.hpp"
#include "messages/type_ids.hpp"

namespace switchyard::actors {

namespace {

using sup_ptr = caf::stateful_actor<supervisor_state>*;

void start_child(sup_ptr self, std::size_t index) {
  auto& child = self->state.children[index];
  child.handle = child.spec.start(self->system());
  self->monitor(child.handle);
  if (child.spec.registered_as) {
    // put() keeps an existing entry, so the dead incarnation goes first.
    self->system().registry().erase(*child.spec.registered_as);
    self->system().registry().put(*child.spec.registered_as,
                                  caf::actor_cast<caf::strong_actor_ptr>(child.handle));
  }
}

void stop_children(sup_ptr self, const caf::error& reason) {
  self->state.stopping = true;
  // Reverse start order: dependents go before what they depend on (the store last).
  for (auto i = self->state.children.rbegin(); i != self->state.children.rend(); ++i) {
    if (i->spec.registered_as)
      self->system().registry().erase(*i->spec.registered_as);
    if (!i->handle)
      continue;
    self->demonitor(i->handle);
    self->send_exit(i->handle, reason);
  }
}

} // namespace

caf::behavior supervisor(caf::stateful_actor<supervisor_state>* self,
                         std::vector<child_spec> children, config::supervisor_settings settings) {
  for (auto& spec : children)
    self->state.children.push_back(
        supervised_child{std::move(spec), {}, restart_policy{settings}, 0});
  for (std::size_t i = 0; i < self->state.children.size(); ++i)
    start_child(self, i);
  self->set_down_handler([self, settings](caf::down_msg& dm) {
    auto& st = self->state;
    if (st.stopping)
      return;
    for (std::size_t i = 0; i < st.children.size(); ++i) {
      auto& child = st.children[i];
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
      self->delayed_send(self, verdict.delay, restart_atom::value, static_cast<std::uint64_t>(i));
      return;
    }
  });
  self->set_exit_handler([self](caf::exit_msg& em) {
    stop_children(self, em.reason);
    self->quit(em.reason);
  });
  return {
      [self](restart_atom, std::uint64_t index) {
        if (self->state.stopping || index >= self->state.children.size())
          return;
        auto& child = self->state.children[index];
        ++child.restarts;
        start_child(self, index);
        spdlog::info("supervisor: {} restarted (restart #{})", child.spec.name, child.restarts);
      },
  };
}

} // namespace switchyard::actors

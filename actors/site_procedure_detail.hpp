// Inside site_procedure: the request helper and state look-ups its units
// (site_procedure.cpp, site_commit.cpp, site_drill.cpp)
// share. Not for use outside them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <caf/all.hpp>

#include "actors/event_hub.hpp"
#include "messages/error.hpp"
#include "messages/interfaces.hpp"

namespace switchyard::actors::site_detail {

inline constexpr auto ask_timeout = std::chrono::seconds(10);
/// How long recovery waits for the coordinator to load its topology and for
/// a service's interrupted switchover (resumed by the coordinator) to end.
inline constexpr auto recovery_patience = std::chrono::seconds(120);
inline constexpr auto poll_interval = std::chrono::milliseconds(100);

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

inline std::int64_t since(std::int64_t start_ms) {
  return wall_clock_ms() - start_ms;
}

inline const service_state* find_state(const service_state_list& states,
                                       const std::string& service) {
  for (const auto& st : states)
    if (st.service.value == service)
      return &st;
  return nullptr;
}

inline health_status health_in(const service_state& st, const std::string& instance) {
  for (const auto& h : st.instances)
    if (h.instance.value == instance)
      return h.status;
  return health_status::unknown;
}

/// A participant whose commit a stopped switchyardd may have left half done:
/// recovery commits it again (commit_one notices one already switched).
inline bool leaves_running(participant_state s) {
  return s == participant_state::pending || s == participant_state::prepared ||
         s == participant_state::committing;
}

} // namespace switchyard::actors::site_detail

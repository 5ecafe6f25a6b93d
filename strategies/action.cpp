// Builds configured actions.
#include "strategies/action.hpp"

#include "strategies/actions/exec_action.hpp"
#include "strategies/actions/haproxy_action.hpp"
#include "strategies/actions/postgres_action.hpp"
#include "strategies/actions/redis_action.hpp"
#include "strategies/actions/webhook_action.hpp"

namespace switchyard::strategies {

action_result finished_action(std::chrono::steady_clock::time_point started,
                              std::chrono::steady_clock::time_point deadline, bool ok,
                              std::string detail) {
  auto now = std::chrono::steady_clock::now();
  action_result r;
  r.ok = ok;
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - started);
  r.timed_out = !ok && now >= deadline;
  r.detail = std::move(detail);
  return r;
}

std::unique_ptr<action> make_action(const config::action_settings& settings,
                                    const config::service_settings* service) {
  switch (settings.type) {
  case config::action_type::exec:
    return std::make_unique<exec_action>(settings);
  case config::action_type::haproxy:
    return std::make_unique<haproxy_action>(settings);
  case config::action_type::redis:
    return std::make_unique<redis_action>(settings);
  case config::action_type::webhook:
    return std::make_unique<webhook_action>(settings);
  case config::action_type::postgres:
    return std::make_unique<postgres_action>(settings, service);
  }
  return nullptr;
}

} // namespace switchyard::strategies

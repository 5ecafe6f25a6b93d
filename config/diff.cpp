#include "config/diff.hpp"

namespace switchyard::config {

config_changes diff_configs(const switchyard_config& before, const switchyard_config& after) {
  config_changes c;
  for (const auto& svc : after.services) {
    const auto* old = before.find_service(svc.name);
    if (old == nullptr)
      c.added.push_back(svc.name);
    else if (!(*old == svc))
      c.changed.push_back(svc.name);
  }
  for (const auto& svc : before.services)
    if (after.find_service(svc.name) == nullptr)
      c.removed.push_back(svc.name);
  if (!(before.orchestrator == after.orchestrator))
    c.need_restart.emplace_back("orchestrator");
  if (!(before.api == after.api))
    c.need_restart.emplace_back("api");
  // The election (etcd, lease, members) is set up once at start, like the API listener.
  if (!(before.cluster == after.cluster))
    c.need_restart.emplace_back("cluster");
  return c;
}

} // namespace switchyard::config

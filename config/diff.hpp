// What a configuration reload would change: services added, removed or
// changed (any setting, instances, checks or actions), and the sections that
// only take effect at the next start of switchyardd.
#pragma once

#include <string>
#include <vector>

#include "config/model.hpp"

namespace switchyard::config {

struct config_changes {
  std::vector<std::string> added;   ///< in the new file only, in its order
  std::vector<std::string> removed; ///< in the old one only
  std::vector<std::string> changed; ///< in both, with any difference
  /// Sections that differ but are not applied by a reload ("api", "orchestrator", "cluster").
  std::vector<std::string> need_restart;

  bool services_changed() const { return !added.empty() || !removed.empty() || !changed.empty(); }
};

config_changes diff_configs(const switchyard_config& before, const switchyard_config& after);

} // namespace switchyard::config

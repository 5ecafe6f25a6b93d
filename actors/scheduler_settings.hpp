// The CAF scheduler as switchyardd runs it, in one place so that benchmarks
// measure the daemon's settings, not CAF's defaults.
#pragma once

#include <caf/actor_system_config.hpp>

namespace switchyard::actors {

/// Two worker threads (the machine's cores), and idle workers that wait on
/// their queue soon instead of polling it (see scheduler_settings.cpp).
void apply_scheduler_settings(caf::actor_system_config& cfg);

} // namespace switchyard::actors

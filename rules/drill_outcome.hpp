// The outcome of a DR drill, pure: it passes when every drilled service
// passed its switchover (verified, within its objectives), every leg
// completed and, with a failback, the topology was restored. A failed drill
// shows no service as passed: the per-service results feed each service's
// LAST DRILL, and a drill that left a service elsewhere is no pass for it.
#pragma once

#include <string>
#include <vector>

#include "messages/site.hpp"

namespace switchyard::actors {

/// Sets `report.passed` and `report.detail` from the services' own results
/// and `problems` (what went wrong with a leg, the failback or the topology);
/// when the drill failed, each service that had passed its own switchover is
/// marked failed too, its detail saying why the drill failed.
void settle_drill(drill_report& report, const std::vector<std::string>& problems);

} // namespace switchyard::actors

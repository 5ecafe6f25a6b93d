// Cluster mode in the API (docs/high-availability.md): a replica that may not
// act (control_authority::may_act() false) refuses every mutating call except
// Reload with UNAVAILABLE, and this says why and where to send it instead.
#pragma once

#include <string>

#include "actors/control_authority.hpp"

namespace switchyard::actors {

/// The refusal's message of a replica that may not act:
/// "not the leader: this replica (sy-b) does not lead; the leader is sy-a at
/// 10.0.0.1:7400 (epoch 12); send mutations there", or without a leader
/// "no leader: <reason>; retry shortly".
std::string not_leader_message(const leadership_view& view);

} // namespace switchyard::actors

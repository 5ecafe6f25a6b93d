// Fault injection for crash tests: with SWITCHYARD_FAULT_AT set to a journal
// point, switchyardd kills itself (SIGKILL: no clean-up, like a power cut)
// right after that point was written. Off unless the variable is set.
//
// Points: switchover_opened, step_started:N, step_done:N (N: the step's
// sequence), switchover_closed.
#pragma once

#include <string>

namespace switchyard::actors {

/// Dies abruptly here if SWITCHYARD_FAULT_AT names `point`.
void crash_point(const std::string& point);

} // namespace switchyard::actors

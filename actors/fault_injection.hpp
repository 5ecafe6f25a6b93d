// Journal points: the moments right after a journal entry was written.
//
// Fault injection for crash tests: with SWITCHYARD_FAULT_AT set to a journal
// point, switchyardd kills itself (SIGKILL: no clean-up, like a power cut)
// right after that point was written. Off unless the variable is set.
//
// Points: switchover_opened, step_started:N, step_done:N (N: the step's
// sequence), switchover_closed; site_opened, site_prepared, site_committed,
// site_level_done:N.
//
// An in-process observer (pipeline_bench) can be told of the switchover
// journal's points as they happen, on the thread that wrote them.
#pragma once

#include <functional>
#include <string>

namespace switchyard::actors {

/// Dies abruptly here if SWITCHYARD_FAULT_AT names `point`.
void crash_point(const std::string& point);

/// `point` of `service`'s switchover journal was just written: tells the
/// observer, if any, then crash_point(point).
void journal_point(const std::string& service, const std::string& point);

/// `service`'s failure passed `hop` on its way from probe to journal: tells the
/// observer, if any, as the point "hop:<hop>" (benchmarks time each hop; see
/// bench/pipeline_bench.cpp). Nobody observes in switchyardd: a test of one
/// pointer.
void trace_hop(const std::string& service, const char* hop);

using journal_point_observer =
    std::function<void(const std::string& service, const std::string& point)>;
/// Set once, before any journal point can be reached (it is read unguarded);
/// for benchmarks, which time the journal itself.
void observe_journal_points(journal_point_observer observer);

} // namespace switchyard::actors

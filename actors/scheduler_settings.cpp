#include "actors/scheduler_settings.hpp"

namespace switchyard::actors {

void apply_scheduler_settings(caf::actor_system_config& cfg) {
  cfg.set("scheduler.max-threads", 2);
  // An idle worker thread spins (polls its queue) for up to 600 attempts
  // before it sleeps; with thousands of health checkers waking it every
  // millisecond that spinning was a third of the daemon's CPU. Waiting on the
  // queue sooner costs nothing in latency (an enqueue wakes it). Measured in
  // bench/probe_bench and bench/pipeline_bench (docs/benchmarks.md).
  cfg.set("work-stealing.moderate-poll-attempts", 1);
}

} // namespace switchyard::actors

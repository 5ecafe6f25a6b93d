// A CAF actor system on the deterministic test coordinator with a manual
// clock: tests run jobs and advance time by hand and never sleep.
#pragma once

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>

#include "actors/peers.hpp"
#include "messages/message_types.hpp"
#include "messages/type_ids.hpp"
#include "tests/support/temp_dir.hpp"

namespace switchyard::testing {

inline caf::actor_system_config& testing_config(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("testing"));
  switchyard::add_message_types(cfg);
  return cfg;
}

class deterministic_test : public ::testing::Test {
protected:
  deterministic_test()
      : sys(testing_config(cfg)),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {}

  ~deterministic_test() override { sched.run(); }

  /// Runs every pending job (messages) until nothing is left.
  void run() { sched.run(); }

  /// Moves the manual clock forward in 10 ms ticks, firing due timers and
  /// running what they trigger at each tick, so periodic timers that re-arm
  /// themselves fire as often as they would in real time.
  void advance(caf::timespan d) {
    constexpr caf::timespan tick = std::chrono::milliseconds(10);
    sched.run();
    for (caf::timespan done{0}; done < d; done += tick) {
      sched.clock().advance_time(std::min(tick, d - done));
      sched.run();
    }
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  /// The handles the actors under test send to: a test wires its own (and fakes).
  actors::peers_ptr peers = std::make_shared<actors::peer_table>();
};

} // namespace switchyard::testing

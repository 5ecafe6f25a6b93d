// When periodic checks are due (probes/probe_schedule.hpp), on a manual
// clock. Spread (the probe engine's timers): the second check at a phase
// within one interval, drawn from the seed (so checkers started together
// spread out), then every interval from the last due time, and afresh after
// falling behind; every wake-up on a slot boundary, never early. Unspread
// (the checker's timer): exactly every interval.
#include <algorithm>
#include <chrono>
#include <set>

#include <gtest/gtest.h>

#include "probes/probe_schedule.hpp"

using namespace std::chrono_literals;
using switchyard::actors::probe_schedule;
using clock_type = probe_schedule::clock;

namespace {

// A slot boundary, an hour into the steady clock.
const clock_type::time_point t0 = clock_type::time_point{} + 1h;

bool on_slot(clock_type::time_point t) {
  return t.time_since_epoch() % probe_schedule::slot == clock_type::duration::zero();
}

} // namespace

TEST(probe_schedule, checkers_started_together_spread_over_one_interval) {
  std::set<long long> tenths; // which tenth of the interval each phase falls in
  auto lowest = 1000ms, highest = 0ms;
  for (unsigned seed = 1; seed <= 1000; ++seed) {
    probe_schedule s{1000ms, 0ms, seed, true};
    auto phase = std::chrono::duration_cast<std::chrono::milliseconds>(s.next(t0));
    ASSERT_GE(phase, probe_schedule::slot);
    ASSERT_LE(phase, 1000ms);
    ASSERT_TRUE(on_slot(t0 + phase));
    lowest = std::min(lowest, phase);
    highest = std::max(highest, phase);
    tenths.insert((phase.count() - 1) / 100);
  }
  EXPECT_EQ(tenths.size(), 10u) << "every tenth of the second has checks";
  EXPECT_LT(lowest, 50ms);
  EXPECT_GT(highest, 950ms);
}

TEST(probe_schedule, the_phase_is_the_seeds_and_the_interval_is_kept_from_then_on) {
  probe_schedule a{1000ms, 0ms, 42, true};
  probe_schedule b{1000ms, 0ms, 42, true};
  auto first = a.next(t0);
  EXPECT_EQ(b.next(t0), first) << "the same seed, the same phase";
  // Handled late (a busy thread): still due one interval after the last due
  // time, on the same slot boundary.
  auto due = t0 + first;
  EXPECT_EQ(a.next(due + 30ms), 1000ms - 30ms);
  due += 1000ms;
  EXPECT_EQ(a.next(due), 1000ms);
  due += 1000ms;
  // More than an interval behind: afresh from now (then on the next boundary).
  auto late = due + 2500ms + 700us;
  auto delay = a.next(late);
  EXPECT_TRUE(on_slot(late + delay));
  EXPECT_GE(delay, 1000ms);
  EXPECT_LT(delay, 1000ms + probe_schedule::slot);
}

TEST(probe_schedule, wake_ups_fall_on_slot_boundaries_and_never_early) {
  probe_schedule s{1000ms, 200ms, 7, true};
  auto now = t0 + 300us; // off a boundary
  auto due = now + s.next(now);
  EXPECT_TRUE(on_slot(due));
  for (int i = 0; i < 100; ++i) {
    auto delay = s.next(due);
    EXPECT_GE(delay, 1000ms) << "never before the interval (and its jitter) is over";
    EXPECT_LE(delay, 1200ms + probe_schedule::slot);
    EXPECT_TRUE(on_slot(due + delay));
    due += delay;
  }
}

TEST(probe_schedule, unspread_every_check_is_due_one_interval_after_the_last) {
  probe_schedule s{1000ms, 0ms, 42, false}; // the checker's timer (exec, grpc)
  auto now = t0 + 300us;
  EXPECT_EQ(s.next(now), 1000ms) << "no phase, no slot";
  now += 1000ms;
  EXPECT_EQ(s.next(now + 40ms), 1000ms - 40ms);
}

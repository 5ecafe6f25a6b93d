// Lets the periodic successes of a healthy instance's probe skip its health
// checker's mailbox. At 10,000 instances every probe outcome was a CAF message
// (and often a worker thread woken for it); for a healthy instance whose
// probe succeeds again, the checker's judgement changes nothing but a streak
// counter. The gate is how the probe engine's thread knows that without
// asking the actor:
//
// - the checker *arms* it when nothing would come of a success (healthy, the
//   last outcome a success, no phi-accrual, no samples for the performance
//   monitor, no lost connection to confirm, no probe of its own in flight);
// - the engine's thread *disarms* it before it sends the checker a failure or
//   a lost connection, and passes a success on unless the gate is armed.
//
// Arming succeeds only if the checker has handled every disarming event the
// engine sent: the word counts them. So a success that follows a failure the
// checker has not seen yet is always delivered (rise/fall sees every outcome
// that could change the status), and an arm racing a failure loses.
#pragma once

#include <atomic>
#include <cstdint>

namespace switchyard::actors {

class quiet_gate {
public:
  /// Engine thread: a failure or a lost connection is about to be sent; the
  /// checker hears every success after it until it arms the gate again.
  void disarm() {
    auto w = word_.load(std::memory_order_relaxed);
    while (!word_.compare_exchange_weak(w, (w & ~std::uint64_t{1}) + 2, std::memory_order_acq_rel))
      ;
  }

  /// Engine thread: whether a success may be counted and dropped.
  [[nodiscard]] bool quiet() const { return (word_.load(std::memory_order_acquire) & 1) != 0; }

  /// Checker: arms the gate if `handled` (the disarming events it has received)
  /// is every one the engine sent. Returns whether it is armed.
  bool arm(std::uint64_t handled) {
    auto expected = handled << 1;
    return word_.compare_exchange_strong(expected, expected | 1, std::memory_order_acq_rel) ||
           expected == ((handled << 1) | 1);
  }

  /// Checker: successes are to be delivered again (a reason to hear each
  /// arose on the checker's side). Safe against a concurrent disarm.
  void open() { word_.fetch_and(~std::uint64_t{1}, std::memory_order_acq_rel); }

private:
  /// Disarming events sent, times two; bit 0: armed.
  std::atomic<std::uint64_t> word_{0};
};

} // namespace switchyard::actors

// The bridge between the event hub actor and the API's WatchEvents streams.
// Every watcher has its own bounded queue: publishing only appends under a
// short lock and never waits for a watcher, so a slow or stalled watcher
// cannot slow the orchestrator. A watcher whose queue is full is marked as
// overflowed and gets nothing more; the API ends its stream and tells it so.
//
// An event is stored once and shared by every queue it is offered to (100
// watchers do not mean 100 copies of its strings), and a waiting watcher is
// woken only when its queue turns non-empty: during a burst a watcher drains
// what piled up in one go (`next_batch`) instead of being woken per event.
// A watcher served without a thread of its own (the API's WatchEvents
// reactor) gives a `ready` callback instead of waiting: it is called on the
// same occasions, from the publishing thread, and must not block.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "messages/event.hpp"

namespace switchyard::actors {

/// Which events a watcher wants; empty members match everything.
struct event_filter {
  std::string service;
  std::set<event_kind> kinds;

  bool matches(const orchestrator_event& e) const;
};

class event_watcher {
public:
  enum class wait_result { event, timeout, overflowed, closed };

  /// Called (outside the watcher's lock, without blocking) when the queue
  /// turns non-empty, when the watcher overflows and when it is closed.
  using ready_fn = std::function<void()>;

  event_watcher(event_filter filter, std::size_t capacity, ready_fn ready = {});

  /// Waits up to `wait` for the next event. After an overflow the queued
  /// events are still delivered first, then `overflowed` is returned.
  wait_result next(orchestrator_event& out, std::chrono::milliseconds wait);

  /// Like `next`, but moves up to `max` queued events (at least one when it
  /// returns `event`) into `out`, which it clears first.
  wait_result next_batch(std::vector<std::shared_ptr<const orchestrator_event>>& out,
                         std::size_t max, std::chrono::milliseconds wait);

  /// Never waits: moves up to `max` queued events into `out` (cleared
  /// first) and returns `event`, or returns `timeout` when nothing is queued
  /// (or `overflowed` / `closed` as `next_batch` does).
  wait_result take_batch(std::vector<std::shared_ptr<const orchestrator_event>>& out,
                         std::size_t max);

  /// Events queued now.
  std::size_t queued() const;

  /// Events dropped because the queue was full.
  std::uint64_t dropped() const;
  std::size_t capacity() const { return capacity_; }

private:
  friend class event_fanout;
  /// Appends if there is room; otherwise marks the watcher overflowed. Never blocks.
  void offer(const std::shared_ptr<const orchestrator_event>& e);
  void close();
  /// Under the lock: the result of a wait that ended, moving up to `max` events.
  wait_result take_locked(std::vector<std::shared_ptr<const orchestrator_event>>& out,
                          std::size_t max);

  const event_filter filter_;
  const std::size_t capacity_;
  const ready_fn ready_fn_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::shared_ptr<const orchestrator_event>> queue_;
  bool overflowed_ = false;
  bool closed_ = false;
  std::uint64_t dropped_ = 0;
};

class event_fanout {
public:
  /// 16,384: a burst of ten thousand events (a site going down) fits in one
  /// watcher's queue; the events are shared, so a full queue costs pointers
  /// (~256 KiB), not copies.
  explicit event_fanout(std::size_t capacity_per_watcher = 16384);
  ~event_fanout();

  /// A new watcher; it stops receiving when the returned pointer is released.
  /// `ready` (optional) is called as event_watcher::ready_fn says.
  std::shared_ptr<event_watcher> subscribe(event_filter filter, event_watcher::ready_fn ready = {});

  /// Numbers the event (sequence) and offers it to every matching watcher.
  /// Returns the sequence number given to it.
  std::uint64_t publish(orchestrator_event e);

  /// Wakes every watcher with `closed` (daemon shutdown); a watcher
  /// subscribed afterwards is closed from the start.
  void close_all();

  std::size_t watcher_count() const;

private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::uint64_t next_sequence_ = 1;
  bool closed_ = false;
  std::vector<std::weak_ptr<event_watcher>> watchers_;
};

} // namespace switchyard::actors

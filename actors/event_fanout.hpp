// The bridge between the event hub actor and the API's WatchEvents streams.
// Every watcher has its own bounded queue: publishing only appends under a
// short lock and never waits for a watcher, so a slow or stalled watcher
// cannot slow the orchestrator. A watcher whose queue is full is marked as
// overflowed and gets nothing more; the API ends its stream and tells it so.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
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

  event_watcher(event_filter filter, std::size_t capacity);

  /// Waits up to `wait` for the next event. After an overflow the queued
  /// events are still delivered first, then `overflowed` is returned.
  wait_result next(orchestrator_event& out, std::chrono::milliseconds wait);

  /// Events dropped because the queue was full.
  std::uint64_t dropped() const;
  std::size_t capacity() const { return capacity_; }

private:
  friend class event_fanout;
  /// Appends if there is room; otherwise marks the watcher overflowed. Never blocks.
  void offer(const orchestrator_event& e);
  void close();

  const event_filter filter_;
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<orchestrator_event> queue_;
  bool overflowed_ = false;
  bool closed_ = false;
  std::uint64_t dropped_ = 0;
};

class event_fanout {
public:
  explicit event_fanout(std::size_t capacity_per_watcher = 1024);
  ~event_fanout();

  /// A new watcher; it stops receiving when the returned pointer is released.
  std::shared_ptr<event_watcher> subscribe(event_filter filter);

  /// Numbers the event (sequence) and offers it to every matching watcher.
  /// Returns the sequence number given to it.
  std::uint64_t publish(orchestrator_event e);

  /// Wakes every watcher with `closed` (daemon shutdown).
  void close_all();

  std::size_t watcher_count() const;

private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::uint64_t next_sequence_ = 1;
  std::vector<std::weak_ptr<event_watcher>> watchers_;
};

} // namespace switchyard::actors

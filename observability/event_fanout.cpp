#include "observability/event_fanout.hpp"

#include <algorithm>
#include <iterator>

namespace switchyard::actors {

bool event_filter::matches(const orchestrator_event& e) const {
  if (!service.empty() && e.service.value != service)
    return false;
  return kinds.empty() || kinds.count(e.kind) > 0;
}

event_watcher::event_watcher(event_filter filter, std::size_t capacity, ready_fn ready)
    : filter_(std::move(filter)), capacity_(capacity), ready_fn_(std::move(ready)) {}

void event_watcher::offer(const std::shared_ptr<const orchestrator_event>& e) {
  if (!filter_.matches(*e))
    return;
  bool was_empty = false;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (closed_)
      return;
    if (overflowed_ || queue_.size() >= capacity_) {
      // Once behind by a full queue it never catches up reliably: stop
      // queueing so the stream can end with a clear "you were dropped".
      bool first = !overflowed_;
      overflowed_ = true;
      ++dropped_;
      if (!first || !ready_fn_)
        return;
    } else {
      was_empty = queue_.empty();
      queue_.push_back(e);
      if (!was_empty)
        return;
    }
  }
  // The reader only waits on an empty queue: a notify per event would be a
  // futex wake per event per watcher for nothing.
  if (was_empty)
    ready_.notify_one();
  if (ready_fn_)
    ready_fn_();
}

void event_watcher::close() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (closed_)
      return;
    closed_ = true;
  }
  ready_.notify_all();
  if (ready_fn_)
    ready_fn_();
}

event_watcher::wait_result event_watcher::next(orchestrator_event& out,
                                               std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock{mutex_};
  ready_.wait_for(lock, wait, [this] { return !queue_.empty() || overflowed_ || closed_; });
  if (!queue_.empty()) {
    out = *queue_.front();
    queue_.pop_front();
    return wait_result::event;
  }
  if (closed_)
    return wait_result::closed;
  return overflowed_ ? wait_result::overflowed : wait_result::timeout;
}

event_watcher::wait_result
event_watcher::next_batch(std::vector<std::shared_ptr<const orchestrator_event>>& out,
                          std::size_t max, std::chrono::milliseconds wait) {
  out.clear();
  std::unique_lock<std::mutex> lock{mutex_};
  ready_.wait_for(lock, wait, [this] { return !queue_.empty() || overflowed_ || closed_; });
  return take_locked(out, max);
}

event_watcher::wait_result
event_watcher::take_batch(std::vector<std::shared_ptr<const orchestrator_event>>& out,
                          std::size_t max) {
  out.clear();
  std::lock_guard<std::mutex> guard{mutex_};
  return take_locked(out, max);
}

event_watcher::wait_result
event_watcher::take_locked(std::vector<std::shared_ptr<const orchestrator_event>>& out,
                           std::size_t max) {
  if (!queue_.empty()) {
    auto n = std::min(std::max<std::size_t>(max, 1), queue_.size());
    out.assign(std::make_move_iterator(queue_.begin()),
               std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    return wait_result::event;
  }
  if (closed_)
    return wait_result::closed;
  return overflowed_ ? wait_result::overflowed : wait_result::timeout;
}

std::size_t event_watcher::queued() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return queue_.size();
}

std::uint64_t event_watcher::dropped() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return dropped_;
}

event_fanout::event_fanout(std::size_t capacity_per_watcher) : capacity_(capacity_per_watcher) {}

event_fanout::~event_fanout() {
  close_all();
}

std::shared_ptr<event_watcher> event_fanout::subscribe(event_filter filter,
                                                       event_watcher::ready_fn ready) {
  auto w = std::make_shared<event_watcher>(std::move(filter), capacity_, std::move(ready));
  std::lock_guard<std::mutex> guard{mutex_};
  if (closed_) {
    // Subscribed during shutdown: closed from the start. Nobody can be
    // waiting on it yet, so there is no one to wake (nor a `ready` to call
    // from inside its subscriber's own setup).
    std::lock_guard<std::mutex> watcher_guard{w->mutex_};
    w->closed_ = true;
    return w;
  }
  watchers_.push_back(w);
  return w;
}

std::uint64_t event_fanout::publish(orchestrator_event e) {
  std::lock_guard<std::mutex> guard{mutex_};
  e.sequence = next_sequence_++;
  auto shared = std::make_shared<const orchestrator_event>(std::move(e));
  // Released watchers are pruned here, on the publishing path, so no other
  // bookkeeping thread is needed.
  std::erase_if(watchers_, [&shared](const std::weak_ptr<event_watcher>& weak) {
    auto w = weak.lock();
    if (!w)
      return true;
    w->offer(shared);
    return false;
  });
  return shared->sequence;
}

void event_fanout::close_all() {
  std::lock_guard<std::mutex> guard{mutex_};
  closed_ = true;
  for (auto& weak : watchers_)
    if (auto w = weak.lock())
      w->close();
  watchers_.clear();
}

std::size_t event_fanout::watcher_count() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return static_cast<std::size_t>(std::count_if(watchers_.begin(), watchers_.end(),
                                                [](const auto& weak) { return !weak.expired(); }));
}

} // namespace switchyard::actors

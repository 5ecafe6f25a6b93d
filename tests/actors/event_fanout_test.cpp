// The fanout between the event hub and WatchEvents streams: filters, global
// sequence numbers, and bounded queues that never make a publisher wait.
#include <thread>

#include <gtest/gtest.h>

#include "actors/event_fanout.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::actors;

namespace {

orchestrator_event make(event_kind kind, const std::string& service, const std::string& text) {
  orchestrator_event e;
  e.kind = kind;
  e.service = service_id{service};
  e.summary = text;
  return e;
}

using wait_result = event_watcher::wait_result;

} // namespace

TEST(event_fanout, delivers_matching_events_in_order_with_increasing_sequence_numbers) {
  event_fanout fanout{16};
  auto all = fanout.subscribe({});
  auto web_steps = fanout.subscribe({"web", {event_kind::step}});
  fanout.publish(make(event_kind::health, "web", "a"));
  fanout.publish(make(event_kind::step, "db", "b"));
  fanout.publish(make(event_kind::step, "web", "c"));

  orchestrator_event e;
  std::vector<std::string> seen;
  std::uint64_t last = 0;
  while (all->next(e, 0ms) == wait_result::event) {
    EXPECT_GT(e.sequence, last);
    last = e.sequence;
    seen.push_back(e.summary);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(web_steps->next(e, 0ms), wait_result::event);
  EXPECT_EQ(e.summary, "c");
  EXPECT_EQ(e.sequence, 3u) << "one counter for every watcher";
  EXPECT_EQ(web_steps->next(e, 0ms), wait_result::timeout);
}

TEST(event_fanout, a_watcher_that_falls_behind_is_dropped_without_slowing_the_publisher) {
  event_fanout fanout{4};
  auto slow = fanout.subscribe({});
  auto fast = fanout.subscribe({});
  orchestrator_event e;
  for (int i = 0; i < 10; ++i) {
    fanout.publish(make(event_kind::health, "web", std::to_string(i)));
    ASSERT_EQ(fast->next(e, 0ms), wait_result::event); // keeps up
  }
  // The slow one still gets what fitted, in order, then is told it was dropped.
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(slow->next(e, 0ms), wait_result::event);
    EXPECT_EQ(e.summary, std::to_string(i));
  }
  EXPECT_EQ(slow->next(e, 0ms), wait_result::overflowed);
  EXPECT_EQ(slow->dropped(), 6u);
  // Even after the queue drained, it stays dropped: it missed events.
  fanout.publish(make(event_kind::health, "web", "later"));
  EXPECT_EQ(slow->next(e, 0ms), wait_result::overflowed);
}

TEST(event_fanout, a_waiting_watcher_wakes_for_an_event_and_for_close) {
  event_fanout fanout{4};
  auto w = fanout.subscribe({});
  orchestrator_event e;
  std::thread publisher([&] { fanout.publish(make(event_kind::decision, "web", "x")); });
  EXPECT_EQ(w->next(e, 10s), wait_result::event);
  publisher.join();
  std::thread closer([&] { fanout.close_all(); });
  EXPECT_EQ(w->next(e, 10s), wait_result::closed);
  closer.join();
}

TEST(event_fanout, released_watchers_are_forgotten) {
  event_fanout fanout{4};
  auto a = fanout.subscribe({});
  {
    auto b = fanout.subscribe({});
    EXPECT_EQ(fanout.watcher_count(), 2u);
  }
  fanout.publish(make(event_kind::health, "web", "x"));
  EXPECT_EQ(fanout.watcher_count(), 1u);
}

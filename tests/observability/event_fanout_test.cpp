// The fanout between the event hub and WatchEvents streams: filters, global
// sequence numbers, and bounded queues that never make a publisher wait.
#include <thread>

#include <gtest/gtest.h>

#include "observability/event_fanout.hpp"

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

TEST(event_fanout, a_batch_takes_what_piled_up_in_order_up_to_its_limit) {
  event_fanout fanout{16};
  auto w = fanout.subscribe({});
  for (int i = 0; i < 5; ++i)
    fanout.publish(make(event_kind::health, "web", std::to_string(i)));
  std::vector<std::shared_ptr<const orchestrator_event>> batch;
  ASSERT_EQ(w->next_batch(batch, 3, 0ms), wait_result::event);
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0]->summary, "0");
  EXPECT_EQ(batch[2]->summary, "2");
  ASSERT_EQ(w->next_batch(batch, 3, 0ms), wait_result::event);
  ASSERT_EQ(batch.size(), 2u) << "the rest, not a full batch";
  EXPECT_EQ(batch[0]->summary, "3");
  EXPECT_EQ(batch[1]->sequence, 5u);
  EXPECT_EQ(w->next_batch(batch, 3, 0ms), wait_result::timeout);
  EXPECT_TRUE(batch.empty());
}

TEST(event_fanout, watchers_share_one_copy_of_each_event) {
  event_fanout fanout{16};
  auto a = fanout.subscribe({});
  auto b = fanout.subscribe({});
  fanout.publish(make(event_kind::health, "web", "x"));
  std::vector<std::shared_ptr<const orchestrator_event>> from_a;
  std::vector<std::shared_ptr<const orchestrator_event>> from_b;
  ASSERT_EQ(a->next_batch(from_a, 8, 0ms), wait_result::event);
  ASSERT_EQ(b->next_batch(from_b, 8, 0ms), wait_result::event);
  EXPECT_EQ(from_a.front().get(), from_b.front().get());
}

TEST(event_fanout,
     a_waiting_batch_reader_wakes_for_an_event_and_reports_an_overflow_after_the_rest) {
  event_fanout fanout{2};
  auto w = fanout.subscribe({});
  std::vector<std::shared_ptr<const orchestrator_event>> batch;
  std::thread publisher([&] { fanout.publish(make(event_kind::decision, "web", "x")); });
  EXPECT_EQ(w->next_batch(batch, 8, 10s), wait_result::event);
  publisher.join();
  ASSERT_EQ(batch.size(), 1u);
  for (int i = 0; i < 3; ++i)
    fanout.publish(make(event_kind::health, "web", std::to_string(i)));
  ASSERT_EQ(w->next_batch(batch, 8, 0ms), wait_result::event);
  EXPECT_EQ(batch.size(), 2u);
  EXPECT_EQ(w->next_batch(batch, 8, 0ms), wait_result::overflowed);
}

TEST(event_fanout, a_ready_callback_is_called_when_the_queue_turns_non_empty_overflows_or_closes) {
  event_fanout fanout{2};
  int calls = 0;
  auto w = fanout.subscribe({"web", {}}, [&] { ++calls; });
  std::vector<std::shared_ptr<const orchestrator_event>> batch;
  EXPECT_EQ(w->take_batch(batch, 8), wait_result::timeout) << "nothing queued: no waiting";
  fanout.publish(make(event_kind::health, "db", "filtered out"));
  EXPECT_EQ(calls, 0);
  fanout.publish(make(event_kind::health, "web", "1"));
  EXPECT_EQ(calls, 1) << "empty -> non-empty";
  fanout.publish(make(event_kind::health, "web", "2"));
  EXPECT_EQ(calls, 1) << "already non-empty: the reader drains it all anyway";
  EXPECT_EQ(w->queued(), 2u);
  fanout.publish(make(event_kind::health, "web", "3"));
  EXPECT_EQ(calls, 2) << "the first overflow";
  fanout.publish(make(event_kind::health, "web", "4"));
  EXPECT_EQ(calls, 2) << "only the first";
  ASSERT_EQ(w->take_batch(batch, 8), wait_result::event);
  EXPECT_EQ(batch.size(), 2u);
  EXPECT_EQ(w->take_batch(batch, 8), wait_result::overflowed);

  int v_calls = 0;
  auto v = fanout.subscribe({}, [&] { ++v_calls; });
  fanout.close_all();
  EXPECT_EQ(calls, 3) << "closed (after its overflow)";
  EXPECT_EQ(v_calls, 1) << "closed";
  EXPECT_EQ(v->take_batch(batch, 8), wait_result::closed);
  int late_calls = 0;
  auto late = fanout.subscribe({}, [&] { ++late_calls; });
  EXPECT_EQ(late->take_batch(batch, 8), wait_result::closed)
      << "subscribed during shutdown: closed from the start";
  EXPECT_EQ(late_calls, 0) << "without a call from inside subscribe";
}

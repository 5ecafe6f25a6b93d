// The API's concurrency limits (api.max_watch_streams, api.max_long_calls):
// in total and per token, refusals that name the limit, slots given back.
#include <gtest/gtest.h>

#include "api/api_concurrency.hpp"
#include "config/model.hpp"

using namespace switchyard::actors;

namespace {

concurrency_limit small() {
  return {"things open", 3, "x.total", 2, "x.per_token"};
}

} // namespace

TEST(api_concurrency, refuses_beyond_the_per_token_limit_naming_it) {
  auto limit = small();
  auto a = limit.acquire("alice");
  auto b = limit.acquire("alice");
  ASSERT_TRUE(a.held());
  ASSERT_TRUE(b.held());
  auto c = limit.acquire("alice");
  EXPECT_FALSE(c.held());
  EXPECT_EQ(c.refusal(), "'alice' already has 2 things open, the most one token may have "
                         "(x.per_token); end one or raise the limit");
  EXPECT_EQ(limit.in_use("alice"), 2u);
  EXPECT_EQ(limit.in_use(), 2u);
}

TEST(api_concurrency, refuses_beyond_the_total_naming_it) {
  auto limit = small();
  auto a1 = limit.acquire("alice");
  auto a2 = limit.acquire("alice");
  auto b1 = limit.acquire("bob");
  ASSERT_TRUE(b1.held());
  auto c1 = limit.acquire("carol");
  EXPECT_FALSE(c1.held());
  EXPECT_EQ(c1.refusal(), "switchyardd already has 3 things open, the most it serves at once "
                          "(x.total); try again when one has ended, or raise the limit");
  EXPECT_EQ(limit.in_use("carol"), 0u) << "a refused token leaves no count behind";
  EXPECT_EQ(limit.in_use(), 3u);
}

TEST(api_concurrency, a_slot_is_given_back_when_released_moved_from_or_destroyed) {
  auto limit = small();
  {
    auto a = limit.acquire("alice");
    auto moved = std::move(a);
    EXPECT_EQ(limit.in_use(), 1u) << "moving does not count twice";
    concurrency_limit::slot other;
    other = std::move(moved);
    EXPECT_EQ(limit.in_use("alice"), 1u);
  }
  EXPECT_EQ(limit.in_use(), 0u);
  auto b = limit.acquire("bob");
  b.release();
  b.release();
  EXPECT_EQ(limit.in_use(), 0u) << "released once";
  auto c = limit.acquire("bob");
  auto d = limit.acquire("bob");
  EXPECT_TRUE(d.held());
  c = limit.acquire("bob"); // refused (bob has 2); assigning it gives c's own slot back
  EXPECT_FALSE(c.held());
  EXPECT_EQ(limit.in_use("bob"), 1u);
}

TEST(api_concurrency, a_slot_may_outlive_its_limit) {
  concurrency_limit::slot kept;
  {
    auto limit = small();
    kept = limit.acquire("alice");
  }
  EXPECT_TRUE(kept.held());
  kept.release();
  EXPECT_FALSE(kept.held());
}

TEST(api_concurrency, the_configured_limits_and_the_sync_thread_cap) {
  switchyard::config::api_settings api;
  api.max_watch_streams = 5;
  api.max_watch_streams_per_token = 1;
  api.max_long_calls = 2;
  api.max_long_calls_per_token = 2;
  auto streams = watch_stream_limit(api);
  auto first = streams.acquire("v");
  auto second = streams.acquire("v");
  EXPECT_FALSE(second.held());
  EXPECT_NE(second.refusal().find("WatchEvents streams open"), std::string::npos);
  EXPECT_NE(second.refusal().find("api.max_watch_streams_per_token"), std::string::npos);
  auto calls = long_call_limit(api);
  auto c1 = calls.acquire("a");
  auto c2 = calls.acquire("b");
  auto c3 = calls.acquire("c");
  EXPECT_FALSE(c3.held());
  EXPECT_NE(c3.refusal().find("long calls in flight"), std::string::npos);
  EXPECT_NE(c3.refusal().find("(api.max_long_calls)"), std::string::npos);
  EXPECT_EQ(sync_server_threads(api), 2 + short_call_threads);
}

// The performance window (pure): statistics over the sliding window, counter
// restarts, a down instance, the hold in both directions and the baseline's
// warm-up and freeze.
#include <gtest/gtest.h>

#include "rules/performance_window.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::actors;

namespace {

using time_point = performance_window::time_point;

metrics_scrape counters(double requests, double errors) {
  metrics_scrape s;
  s.has_requests = true;
  s.requests = requests;
  s.has_errors = true;
  s.errors = errors;
  return s;
}

} // namespace

TEST(performance_window, mean_p99_and_failure_rate_of_the_probes_in_the_window) {
  config::performance_settings p;
  p.window = 100s;
  performance_window w{p, 3};
  time_point t{};
  // 99 probes at 10 ms and one at 1 s; two failures (never three in a row).
  for (int i = 0; i < 100; ++i)
    w.add_probe(true, i == 50 ? 1s : 10ms, t += 500ms);
  w.add_probe(false, 500ms, t += 500ms);
  w.add_probe(true, 10ms, t += 500ms);
  w.add_probe(false, 500ms, t += 500ms);
  auto s = w.stats(t);
  EXPECT_EQ(s.probes, 103u);
  EXPECT_EQ(s.probe_failures, 2u);
  ASSERT_TRUE(s.probe_mean_s);
  EXPECT_NEAR(*s.probe_mean_s, (100 * 0.010 + 1.0) / 101, 1e-12);
  EXPECT_DOUBLE_EQ(*s.probe_p99_s, 0.010); // nearest rank 100 of 101: the 1 s one is above it
  EXPECT_NEAR(*s.probe_error_rate, 2.0 / 103, 1e-12);
  // 60 s later the window holds only the probes of the last 40 s.
  auto later = w.stats(t + 60s);
  EXPECT_LT(later.probes, s.probes);
  EXPECT_FALSE(w.stats(t + 101s).probe_mean_s) << "an empty window has no mean";
}

TEST(performance_window, rates_survive_a_counter_restart) {
  config::performance_settings p;
  p.window = 60s;
  performance_window w{p, 3};
  time_point t{};
  w.add_scrape(counters(1000, 10), t);
  w.add_scrape(counters(1100, 20), t += 10s);
  // The instance restarted: its counters start from 0 again.
  w.add_scrape(counters(50, 5), t += 10s);
  w.add_scrape(counters(150, 5), t += 10s);
  auto s = w.stats(t);
  ASSERT_TRUE(s.throughput);
  EXPECT_DOUBLE_EQ(*s.requests, 250);
  EXPECT_DOUBLE_EQ(*s.throughput, 250.0 / 30);
  EXPECT_DOUBLE_EQ(*s.error_rate, 15.0 / 250);
}

TEST(performance_window, a_histogram_s_mean_comes_from_sum_and_count_increases) {
  config::performance_settings p;
  p.max_mean_latency = 200ms;
  p.hold = 0s;
  performance_window w{p, 3};
  time_point t{};
  auto histogram = [](double sum, double count) {
    metrics_scrape s;
    s.latency = latency_metric::histogram;
    s.latency_sum = sum;
    s.latency_count = count;
    return s;
  };
  EXPECT_FALSE(w.add_scrape(histogram(1000, 10000), t)) << "old totals say nothing about now";
  auto change = w.add_scrape(histogram(1000 + 30, 10000 + 100), t += 10s);
  ASSERT_TRUE(change);
  EXPECT_TRUE(change->degraded);
  EXPECT_EQ(change->evidence, "mean response 300 ms > max_mean_latency 200 ms (metrics, last "
                              "1m); for 0.0 s (hold 0s)");
}

TEST(performance_window, a_down_instance_is_left_to_the_health_check) {
  config::performance_settings p;
  p.max_mean_latency = 100ms;
  p.hold = 10s;
  performance_window w{p, 3};
  time_point t{};
  for (int i = 0; i < 4; ++i)
    EXPECT_FALSE(w.add_probe(true, 300ms, t += 1s));
  EXPECT_EQ(w.current(), performance_window::state::pending);
  // Three failures in a row (fall): down. The crossing is dropped, the window emptied.
  w.add_probe(false, 1s, t += 1s);
  w.add_probe(false, 1s, t += 1s);
  EXPECT_FALSE(w.down());
  EXPECT_FALSE(w.add_probe(false, 1s, t += 1s));
  EXPECT_TRUE(w.down());
  EXPECT_EQ(w.current(), performance_window::state::normal);
  EXPECT_EQ(w.stats(t).probes, 0u);
  // Back, fast: nothing to report, and the failures of the outage are forgotten.
  for (int i = 0; i < 10; ++i)
    EXPECT_FALSE(w.add_probe(true, 5ms, t += 1s));
  EXPECT_FALSE(w.down());
  EXPECT_DOUBLE_EQ(*w.stats(t).probe_error_rate, 0.0);
}

TEST(performance_window, a_degraded_instance_that_goes_down_is_not_reported_recovered) {
  config::performance_settings p;
  p.max_mean_latency = 100ms;
  p.hold = 0s;
  performance_window w{p, 2};
  time_point t{};
  w.add_probe(true, 300ms, t += 1s);
  w.add_probe(true, 300ms, t += 1s);
  ASSERT_TRUE(w.add_probe(true, 300ms, t += 1s));
  EXPECT_EQ(w.current(), performance_window::state::degraded);
  w.add_probe(false, 1s, t += 1s);
  w.add_probe(false, 1s, t += 1s);
  EXPECT_TRUE(w.down());
  EXPECT_EQ(w.current(), performance_window::state::degraded);
  // Back and fast: recovered once the window has enough numbers again.
  EXPECT_FALSE(w.add_probe(true, 5ms, t += 1s));
  EXPECT_FALSE(w.add_probe(true, 5ms, t += 1s));
  auto change = w.add_probe(true, 5ms, t += 1s);
  ASSERT_TRUE(change);
  EXPECT_FALSE(change->degraded);
}

TEST(performance_window, failed_scrapes_change_nothing) {
  config::performance_settings p;
  performance_window w{p, 3};
  metrics_scrape failed;
  failed.error = "GET http://127.0.0.1:1/metrics: Couldn't connect to server";
  time_point t{};
  EXPECT_FALSE(w.add_scrape(failed, t));
  EXPECT_EQ(w.last_scrape_error(), failed.error);
  EXPECT_EQ(w.stats(t).scrapes, 0u);
  w.add_scrape(counters(0, 0), t += 10s);
  EXPECT_TRUE(w.last_scrape_error().empty());
}

TEST(performance_window, the_baseline_warms_up_and_does_not_learn_a_drop) {
  config::performance_settings p;
  p.window = 30s;
  p.hold = 30s;
  performance_window w{p, 3};
  time_point t{};
  double requests = 0;
  auto run = [&](double rps, int scrapes) {
    for (int i = 0; i < scrapes; ++i) {
      requests += rps * 10;
      w.add_scrape(counters(requests, 0), t += 10s);
    }
  };
  w.add_scrape(counters(0, 0), t);
  run(20, 59);
  EXPECT_FALSE(w.stats(t).baseline) << "9 min 50 s of learning: not warm yet";
  run(20, 1);
  ASSERT_TRUE(w.stats(t).baseline);
  EXPECT_DOUBLE_EQ(*w.stats(t).baseline, 20.0);
  // 50 minutes at 4 req/s: reported, and the baseline stays at 20.
  run(4, 300);
  EXPECT_EQ(w.current(), performance_window::state::degraded);
  EXPECT_DOUBLE_EQ(*w.stats(t).baseline, 20.0);
  // Past an hour it is the new normal: the baseline follows and the report clears.
  run(4, 120);
  EXPECT_LT(*w.stats(t).baseline, 8.0);
  EXPECT_EQ(w.current(), performance_window::state::normal);
}

// The performance monitor on the deterministic scheduler with a manual clock:
// probe samples and metrics scrapes go in, degraded / back-to-normal verdicts
// come out at a recording classifier only after `hold`, and the throughput
// rule waits for its learned baseline.
#include <memory>
#include <vector>

#include "actors/peers.hpp"
#include "actors/performance_monitor.hpp"
#include "tests/actors/test_system.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::actors;

namespace {

classifier_full_actor::behavior_type
recording_classifier(classifier_full_actor::pointer,
                     std::shared_ptr<std::vector<performance_verdict>> seen) {
  return {
      [](health_transition&) {},
      [](service_topology&) {},
      [](config_update&) {},
      [](hold_atom) {},
      [seen](performance_verdict& v) { seen->push_back(std::move(v)); },
  };
}

config::service_settings service(const std::string& name, config::performance_settings perf) {
  config::service_settings s;
  s.name = name;
  s.health_check.fall = 3;
  s.instances.push_back(
      {name + "-a", "127.0.0.1", 9001, "dc1", config::instance_role::primary, 100, {}});
  s.instances.push_back(
      {name + "-b", "127.0.0.1", 9002, "dc1", config::instance_role::standby, 90, {}});
  s.performance = perf;
  return s;
}

class performance_monitor_test : public switchyard::testing::deterministic_test {
protected:
  void start(config::performance_settings perf) {
    auto config = std::make_shared<config::switchyard_config>();
    config->services.push_back(service("web", perf));
    auto plain = service("db", perf);
    plain.performance.reset(); // not monitored
    config->services.push_back(plain);
    peers->set(peer::classifier, sys.spawn(recording_classifier, seen));
    monitor = sys.spawn(performance_monitor, config, false, peers);
    run();
  }

  void TearDown() override {
    caf::anon_send_exit(monitor, caf::exit_reason::user_shutdown);
    if (auto cls = peers->actor(peer::classifier))
      caf::anon_send_exit(caf::actor_cast<caf::actor>(cls), caf::exit_reason::user_shutdown);
    peers->set(peer::classifier, caf::actor{});
    run();
  }

  void probe(const std::string& instance, bool ok, caf::timespan latency) {
    auto service = instance.rfind("db", 0) == 0 ? "db" : "web";
    caf::anon_send(monitor, probe_sample{service_id{service}, instance_id{instance}, ok, latency,
                                         ok ? "HTTP 200" : "HTTP 503", caf::make_timestamp()});
    run();
  }

  void scrape(const std::string& instance, double requests, double errors) {
    metrics_scrape s;
    s.service = service_id{"web"};
    s.instance = instance_id{instance};
    s.has_requests = true;
    s.requests = requests;
    s.has_errors = true;
    s.errors = errors;
    caf::anon_send(monitor, s);
    run();
  }

  std::shared_ptr<std::vector<performance_verdict>> seen =
      std::make_shared<std::vector<performance_verdict>>();
  performance_monitor_actor monitor;
};

config::performance_settings latency_rules() {
  config::performance_settings p;
  p.max_mean_latency = 100ms;
  p.hold = 2s;
  p.window = 5s;
  return p;
}

} // namespace

TEST_F(performance_monitor_test, a_slow_primary_is_degraded_only_after_hold) {
  start(latency_rules());
  // Three successful probes make a mean; from then on it is above 100 ms.
  for (int i = 0; i < 4; ++i) {
    probe("web-a", true, 300ms);
    advance(1s);
  }
  EXPECT_TRUE(seen->empty()) << "crossed at the third probe, held only 1 s so far";
  probe("web-a", true, 300ms);
  ASSERT_EQ(seen->size(), 1u);
  const auto& v = seen->back();
  EXPECT_TRUE(v.degraded);
  EXPECT_TRUE(v.primary);
  EXPECT_EQ(v.service.value, "web");
  EXPECT_EQ(v.instance.value, "web-a");
  EXPECT_EQ(v.evidence, "mean response 300 ms > max_mean_latency 100 ms (probes: 5 in the last "
                        "5s, p99 300 ms); for 2.0 s (hold 2s)");

  // Fast again: the window's mean drops below 100 ms at the fifth fast probe
  // (one slow one left in it), and the recovery is reported `hold` later.
  for (int k = 5; k <= 10; ++k) {
    advance(1s);
    probe("web-a", true, 10ms);
    EXPECT_EQ(seen->size(), 1u) << "at " << k << " s";
  }
  advance(1s);
  probe("web-a", true, 10ms);
  ASSERT_EQ(seen->size(), 2u);
  EXPECT_FALSE(seen->back().degraded);
  EXPECT_EQ(seen->back().evidence,
            "performance back within thresholds for 2.0 s: mean response 10 ms (probes: 6 in "
            "the last 5s, p99 10 ms), probe failure rate 0.0%");
}

TEST_F(performance_monitor_test, a_crossing_shorter_than_hold_is_not_reported) {
  auto rules = latency_rules();
  rules.hold = 10s;
  start(rules);
  for (int i = 0; i < 8; ++i) { // crossed for 5 s, the window's length
    probe("web-b", true, 300ms);
    advance(1s);
  }
  for (int i = 0; i < 20; ++i) {
    probe("web-b", true, 1ms);
    advance(1s);
  }
  EXPECT_TRUE(seen->empty());
}

TEST_F(performance_monitor_test, intermittent_failures_are_an_error_rate_a_down_instance_is_not) {
  auto rules = latency_rules();
  rules.max_error_rate = 0.2;
  start(rules);
  // One probe in three fails (fall is 3: never down): 33% > 20%.
  for (int i = 0; i < 12 && seen->empty(); ++i) {
    probe("web-b", i % 3 != 2, 5ms);
    advance(1s);
  }
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_TRUE(seen->back().degraded);
  EXPECT_FALSE(seen->back().primary);
  EXPECT_NE(seen->back().evidence.find("probe failure rate"), std::string::npos)
      << seen->back().evidence;

  // web-a goes down (fall failures in a row): the health check's business.
  for (int i = 0; i < 30; ++i) {
    probe("web-a", false, 500ms);
    advance(1s);
  }
  EXPECT_EQ(seen->size(), 1u);
}

TEST_F(performance_monitor_test, services_without_a_performance_section_are_not_monitored) {
  start(latency_rules());
  for (int i = 0; i < 30; ++i) {
    probe("db-a", true, 2s);
    advance(1s);
  }
  EXPECT_TRUE(seen->empty());
}

TEST_F(performance_monitor_test, the_coordinator_s_primary_is_the_one_named) {
  start(latency_rules());
  caf::anon_send(monitor, service_topology{service_id{"web"}, instance_id{"web-b"}, epoch{2}, {}});
  run();
  for (int i = 0; i < 5; ++i) {
    probe("web-b", true, 300ms);
    probe("web-a", true, 300ms);
    advance(1s);
  }
  ASSERT_EQ(seen->size(), 2u);
  EXPECT_EQ(seen->at(0).instance.value, "web-b");
  EXPECT_TRUE(seen->at(0).primary);
  EXPECT_EQ(seen->at(1).instance.value, "web-a");
  EXPECT_FALSE(seen->at(1).primary);
}

TEST_F(performance_monitor_test, throughput_is_judged_only_against_a_warmed_up_baseline) {
  config::performance_settings rules;
  rules.window = 30s;
  rules.hold = 30s;
  rules.metrics = config::metrics_settings{};
  start(rules);
  double requests = 0;
  auto every_10s = [&](double rps, int times) {
    for (int i = 0; i < times; ++i) {
      advance(10s);
      requests += rps * 10;
      scrape("web-a", requests, 0);
    }
  };
  scrape("web-a", requests, 0);
  // 5 minutes at 10 req/s, then a drop: the baseline is still warming up.
  every_10s(10, 30);
  every_10s(2, 12);
  EXPECT_TRUE(seen->empty()) << seen->front().evidence;

  // Back to 10 req/s long enough for the baseline to be warm (10 minutes
  // since the first scrape, and its EWMA back near 10).
  every_10s(10, 60);
  EXPECT_TRUE(seen->empty());

  // Now a drop to 2 req/s: below 50% of the baseline from the second low
  // interval on (the 30 s window then averages 4.67 req/s), reported 30 s later.
  every_10s(2, 4);
  EXPECT_TRUE(seen->empty());
  every_10s(2, 1);
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_TRUE(seen->back().degraded);
  EXPECT_NE(seen->back().evidence.find("throughput 2.00 req/s < min_throughput_ratio 50% of the "
                                       "learned baseline 9."),
            std::string::npos)
      << seen->back().evidence;

  // Recovery: the window is back above 50% at the second normal interval,
  // and reported `hold` later.
  every_10s(10, 4);
  EXPECT_EQ(seen->size(), 1u);
  every_10s(10, 1);
  ASSERT_EQ(seen->size(), 2u);
  EXPECT_FALSE(seen->back().degraded);
}

TEST_F(performance_monitor_test, a_metrics_error_rate_needs_enough_requests) {
  config::performance_settings rules;
  rules.window = 30s;
  rules.hold = 0s;
  rules.metrics = config::metrics_settings{};
  start(rules);
  // 5 errors of 6 requests: too few requests to judge.
  scrape("web-a", 0, 0);
  advance(10s);
  scrape("web-a", 6, 5);
  EXPECT_TRUE(seen->empty());
  // 10 errors of 100 requests in the window: 10% > 5%, and hold is 0.
  advance(10s);
  scrape("web-a", 100, 10);
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_NE(seen->back().evidence.find("error rate 10.0% > max_error_rate 5% (metrics: 10 errors "
                                       "of 100 requests in the last 30s)"),
            std::string::npos)
      << seen->back().evidence;
}

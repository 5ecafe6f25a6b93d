// health_check `type: grpc`, `grpc_service`, `phi_threshold` and a service's
// `performance` section: defaults, every key, and every error.
#include <gmock/gmock.h>

#include "tests/config/config_test_support.hpp"

using namespace std::chrono_literals;
using namespace switchyard::config;
using namespace switchyard::config::testing;
using ::testing::ElementsAre;

namespace {

switchyard_config load(const std::string& yaml) {
  auto r = load_config_text(yaml, "test.yaml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : to_string(r.errors.front()));
  return r.config;
}

// valid_yaml with `lines` added to the service (after its name, line 5).
std::string with_service_lines(const std::string& lines) {
  return replace(valid_yaml, "  - name: web\n", "  - name: web\n" + lines);
}

} // namespace

TEST(performance_config, off_unless_configured_and_defaults_when_empty) {
  auto cfg = load(valid_yaml);
  EXPECT_FALSE(cfg.services.front().performance);
  EXPECT_FALSE(cfg.services.front().health_check.phi_threshold);
  EXPECT_EQ(cfg.services.front().health_check.grpc_service, "");

  auto on = load(with_service_lines("    performance: {}\n"));
  ASSERT_TRUE(on.services.front().performance);
  const auto& p = *on.services.front().performance;
  EXPECT_EQ(p.max_mean_latency, 5s);
  EXPECT_DOUBLE_EQ(p.max_error_rate, 0.05);
  EXPECT_DOUBLE_EQ(p.min_throughput_ratio, 0.5);
  EXPECT_EQ(p.hold, 30s);
  EXPECT_EQ(p.window, 60s);
  EXPECT_FALSE(p.metrics);
}

TEST(performance_config, every_key_is_read) {
  auto cfg = load(with_service_lines("    performance:\n"
                                     "      max_mean_latency: 250ms\n"
                                     "      max_error_rate: 2.5%\n"
                                     "      min_throughput_ratio: 0.3\n"
                                     "      hold: 1m\n"
                                     "      window: 2m\n"
                                     "      metrics:\n"
                                     "        path: /stats/prometheus\n"
                                     "        port: 9102\n"
                                     "        interval: 15s\n"
                                     "        timeout: 3s\n"
                                     "        requests_counter: app_requests_total\n"
                                     "        errors_counter: app_errors_total\n"
                                     "        latency: app_request_seconds\n"));
  const auto& p = *cfg.services.front().performance;
  EXPECT_EQ(p.max_mean_latency, 250ms);
  EXPECT_DOUBLE_EQ(p.max_error_rate, 0.025);
  EXPECT_DOUBLE_EQ(p.min_throughput_ratio, 0.3);
  EXPECT_EQ(p.hold, 1min);
  EXPECT_EQ(p.window, 2min);
  ASSERT_TRUE(p.metrics);
  EXPECT_EQ(p.metrics->path, "/stats/prometheus");
  EXPECT_EQ(p.metrics->port, 9102);
  EXPECT_EQ(p.metrics->interval, 15s);
  EXPECT_EQ(p.metrics->timeout, 3s);
  EXPECT_EQ(p.metrics->requests_counter, "app_requests_total");
  EXPECT_EQ(p.metrics->errors_counter, "app_errors_total");
  EXPECT_EQ(p.metrics->latency, "app_request_seconds");

  auto defaults = load(with_service_lines("    performance: {metrics: {}}\n"));
  const auto& m = *defaults.services.front().performance->metrics;
  EXPECT_EQ(m.path, "/metrics");
  EXPECT_EQ(m.port, 0) << "the instance's port";
  EXPECT_EQ(m.interval, 10s);
  EXPECT_EQ(m.timeout, 2s);
  EXPECT_EQ(m.requests_counter, "http_requests_total");
  EXPECT_EQ(m.errors_counter, "http_requests_errors_total");
  EXPECT_EQ(m.latency, "");
}

TEST(performance_config, grpc_checks_and_phi) {
  auto cfg = load(replace(valid_yaml, "      type: tcp\n",
                          "      type: grpc\n      grpc_service: shop.Cart\n"
                          "      phi_threshold: 8.5\n"));
  const auto& h = cfg.services.front().health_check;
  EXPECT_EQ(h.type, check_type::grpc);
  EXPECT_EQ(h.grpc_service, "shop.Cart");
  ASSERT_TRUE(h.phi_threshold);
  EXPECT_DOUBLE_EQ(*h.phi_threshold, 8.5);
  EXPECT_STREQ(to_string(check_type::grpc), "grpc");
}

TEST(performance_config, errors_name_the_field) {
  EXPECT_THAT(errors_of(replace(valid_yaml, "      type: tcp\n",
                                "      type: tcp\n      grpc_service: x\n")),
              ElementsAre("test.yaml:7:21: services[0].health_check.grpc_service: only applies to "
                          "grpc checks, not tcp"));
  EXPECT_THAT(errors_of(replace(valid_yaml, "      type: tcp\n",
                                "      type: tcp\n      phi_threshold: 0\n")),
              ElementsAre("test.yaml:7:22: services[0].health_check.phi_threshold: '0' is not a "
                          "number from 0.1 to 100 (e.g. 8)"));
  EXPECT_THAT(errors_of(with_service_lines("    performance:\n"
                                           "      max_error_rate: 5\n"
                                           "      min_throughput_ratio: 100%\n"
                                           "      max_mean_latency: 0s\n"
                                           "      window: 500ms\n"
                                           "      fail_over_when_degraded: true\n")),
              ElementsAre("test.yaml:10:7: services[0].performance.fail_over_when_degraded: "
                          "unknown key (allowed: max_mean_latency, max_error_rate, "
                          "min_throughput_ratio, hold, window, metrics)",
                          "test.yaml:8:25: services[0].performance.max_mean_latency: must be "
                          "greater than 0",
                          "test.yaml:6:23: services[0].performance.max_error_rate: '5' is not a "
                          "share below 1 (0.05) or a percentage below 100% (5%)",
                          "test.yaml:7:29: services[0].performance.min_throughput_ratio: '100%' "
                          "is not a share below 1 (0.05) or a percentage below 100% (5%)",
                          "test.yaml:9:15: services[0].performance.window: must be at least 1s"));
  EXPECT_THAT(errors_of(with_service_lines("    performance:\n"
                                           "      metrics: {path: metrics, interval: 1s,"
                                           " timeout: 2s, latency: 'bad-name', port: 0}\n")),
              ElementsAre("test.yaml:6:23: services[0].performance.metrics.path: 'metrics' must "
                          "start with '/'",
                          "test.yaml:6:86: services[0].performance.metrics.port: '0' is out of "
                          "range (1..65535)",
                          "test.yaml:6:55: services[0].performance.metrics.timeout: must not be "
                          "longer than interval (1000ms)",
                          "test.yaml:6:68: services[0].performance.metrics.latency: 'bad-name' is "
                          "not a Prometheus metric name"));
}

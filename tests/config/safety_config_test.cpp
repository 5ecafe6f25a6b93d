// orchestrator.safety (global limits, shadow mode, TILT) and the services'
// shadow and min_healthy_standbys: defaults, values, and every mistake as
// `file:line:column: field: message`.
#include <gmock/gmock.h>

#include "tests/config/config_test_support.hpp"

using namespace std::chrono_literals;
using namespace switchyard::config;
using namespace switchyard::config::testing;
using errors = std::vector<std::string>;

namespace {

// Inserts `lines` after `  data_dir: state` (line 2), so they are lines 3, 4, ...
std::string with_orchestrator(const std::string& lines) {
  return replace(valid_yaml, "  data_dir: state\n", "  data_dir: state\n" + lines);
}

// Inserts `lines` after the service's name (line 4), so they are lines 5, 6, ...
std::string with_service(const std::string& lines) {
  return replace(valid_yaml, "  - name: web\n", "  - name: web\n" + lines);
}

} // namespace

TEST(safety_config, defaults) {
  auto r = load_config_text(valid_yaml, "test.yaml");
  ASSERT_TRUE(r.ok());
  const auto& s = r.config.orchestrator.safety;
  EXPECT_EQ(s.max_concurrent_failovers, 1);
  EXPECT_EQ(s.max_failovers_per_hour, 10);
  EXPECT_FALSE(s.shadow);
  EXPECT_EQ(s.tilt.max_timer_lag, 2s);
  EXPECT_EQ(s.tilt.duration, 30s);
  EXPECT_FALSE(r.config.services[0].shadow);
  EXPECT_EQ(r.config.services[0].min_healthy_standbys, 1);
}

TEST(safety_config, every_key_is_read) {
  auto r = load_config_text(with_service("    shadow: true\n    min_healthy_standbys: 1\n"),
                            "test.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.config.services[0].shadow);
  auto g = load_config_text(with_orchestrator("  safety:\n"
                                              "    max_concurrent_failovers: 3\n"
                                              "    max_failovers_per_hour: 20\n"
                                              "    shadow: true\n"
                                              "    tilt:\n"
                                              "      max_timer_lag: 5s\n"
                                              "      duration: 1m\n"),
                            "test.yaml");
  ASSERT_TRUE(g.ok()) << (g.errors.empty() ? "" : to_string(g.errors.front()));
  const auto& s = g.config.orchestrator.safety;
  EXPECT_EQ(s.max_concurrent_failovers, 3);
  EXPECT_EQ(s.max_failovers_per_hour, 20);
  EXPECT_TRUE(s.shadow);
  EXPECT_EQ(s.tilt.max_timer_lag, 5s);
  EXPECT_EQ(s.tilt.duration, 60s);
}

TEST(safety_config, mistakes_in_orchestrator_safety) {
  EXPECT_EQ(errors_of(with_orchestrator("  safety:\n    max_concurrent: 2\n")),
            errors{"test.yaml:4:5: orchestrator.safety.max_concurrent: unknown key (allowed: "
                   "max_concurrent_failovers, max_failovers_per_hour, shadow, tilt)"});
  EXPECT_EQ(errors_of(with_orchestrator("  safety:\n    max_concurrent_failovers: 0\n")),
            errors{"test.yaml:4:31: orchestrator.safety.max_concurrent_failovers: '0' is out of "
                   "range (1..1000)"});
  EXPECT_EQ(errors_of(with_orchestrator("  safety:\n    max_failovers_per_hour: ten\n")),
            errors{"test.yaml:4:29: orchestrator.safety.max_failovers_per_hour: 'ten' is not a "
                   "whole number"});
  EXPECT_EQ(errors_of(with_orchestrator("  safety:\n    shadow: maybe\n")),
            errors{"test.yaml:4:13: orchestrator.safety.shadow: 'maybe' is not one of: true, "
                   "false"});
  EXPECT_EQ(errors_of(with_orchestrator("  safety: [1]\n")),
            errors{"test.yaml:3:11: orchestrator.safety: expected a mapping (key: value), got a "
                   "list"});
}

TEST(safety_config, mistakes_in_tilt) {
  EXPECT_EQ(errors_of(with_orchestrator("  safety:\n    tilt:\n      max_timer_lag: 100ms\n")),
            errors{"test.yaml:5:22: orchestrator.safety.tilt.max_timer_lag: must be at least "
                   "500ms (the coordinator's timer ticks every 100ms)"});
  EXPECT_EQ(errors_of(with_orchestrator("  safety:\n    tilt:\n      duration: 0s\n")),
            errors{"test.yaml:5:17: orchestrator.safety.tilt.duration: must be greater than 0"});
  EXPECT_EQ(errors_of(with_orchestrator("  safety:\n    tilt:\n      duration: 30\n")),
            errors{"test.yaml:5:17: orchestrator.safety.tilt.duration: '30' has no unit (add a "
                   "unit: ms, s, m, h; e.g. 30s)"});
  EXPECT_EQ(errors_of(with_orchestrator("  safety:\n    tilt:\n      enabled: false\n")),
            errors{"test.yaml:5:7: orchestrator.safety.tilt.enabled: unknown key (allowed: "
                   "max_timer_lag, duration)"});
}

TEST(safety_config, mistakes_in_a_services_shadow_and_min_healthy_standbys) {
  EXPECT_EQ(errors_of(with_service("    shadow: yes\n")),
            errors{"test.yaml:5:13: services[0].shadow: 'yes' is not one of: true, false"});
  EXPECT_EQ(
      errors_of(with_service("    min_healthy_standbys: 0\n")),
      errors{"test.yaml:5:27: services[0].min_healthy_standbys: '0' is out of range (1..100)"});
  EXPECT_EQ(errors_of(with_service("    min_healthy_standbys: 2\n")),
            errors{"test.yaml:5:27: services[0].min_healthy_standbys: 2 but the service has 1 "
                   "standby: no automatic failover could ever happen"});
}

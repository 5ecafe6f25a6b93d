// Performance monitoring and the grpc probe with real processes: a demo_service
// that answers late is recorded as degraded (and, once fast again, as back
// within thresholds) without any failover; switchyardd's own API answers the
// grpc probe of another service. Every wait is a bounded poll of the database
// or the log.
#include <algorithm>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "persistence/sqlite_store.hpp"
#include "tests/integration/deployment.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using switchyard::testing::child_process;
using switchyard::testing::free_port;
using switchyard::testing::http_request;
using switchyard::testing::read_file;
using switchyard::testing::wait_until;

namespace {

class performance_integration : public switchyard::testing::deployment {
protected:
  /// The first detection of `type` for `instance`, polled for up to `limit`.
  std::optional<persistence::detection_row> wait_for_detection(const std::string& service,
                                                               const std::string& instance,
                                                               failure_type type,
                                                               std::chrono::milliseconds limit) {
    std::optional<persistence::detection_row> found;
    wait_until(
        [&] {
          auto db = persistence::sqlite_store::open(db_path());
          if (!db)
            return false;
          auto list = (*db)->list_detections(service);
          if (!list)
            return false;
          for (const auto& d : *list)
            if (d.instance.value == instance && d.type == type)
              found = d;
          return found.has_value();
        },
        limit);
    return found;
  }

  std::vector<persistence::detection_row> detections(const std::string& service) {
    auto db = persistence::sqlite_store::open(db_path());
    if (!db)
      return {};
    auto list = (*db)->list_detections(service);
    return list ? *list : std::vector<persistence::detection_row>{};
  }
};

} // namespace

TEST_F(performance_integration, a_slow_primary_is_degraded_and_not_failed_over) {
  auto port_s = free_port();
  auto port_t = free_port();
  while (port_t == port_s || port_s == port_a || port_s == port_b)
    port_s = free_port();
  // slow-a answers 200 ms late: healthy for its probes (timeout 1s), slow for the monitor.
  child_process slow_a({DEMO_SERVICE_PATH, "--name", "slow-a", "--port", std::to_string(port_s),
                        "--role", "primary", "--delay-ms", "200"},
                       root + "/slow-a.log");
  child_process slow_b({DEMO_SERVICE_PATH, "--name", "slow-b", "--port", std::to_string(port_t),
                        "--role", "standby"},
                       root + "/slow-b.log");
  ASSERT_TRUE(
      wait_until([&] { return http_request("GET", port_s, "/health").rfind("200", 0) == 0; }, 10s));
  extra_services = fmt::format(
      "  - name: shop\n"
      "    health_check: {{type: http, path: /health, interval: 1s, timeout: 1s, rise: 1, fall: "
      "3}}\n"
      "    performance:\n"
      "      max_mean_latency: 100ms\n"
      "      hold: 2s\n"
      "      window: 5s\n"
      "      metrics: {{interval: 2s, timeout: 1s, latency: http_request_duration_seconds}}\n"
      "    instances:\n"
      "      - {{name: slow-a, address: 127.0.0.1:{}, site: dc2, role: primary}}\n"
      "      - {{name: slow-b, address: 127.0.0.1:{}, site: dc2, role: standby}}\n"
      "    strategy:\n"
      "      type: active_passive\n",
      port_s, port_t);
  write_config();
  auto daemon = start_daemon(root + "/switchyardd.log");

  auto degraded = wait_for_detection("shop", "slow-a", failure_type::degraded, 30s);
  ASSERT_TRUE(degraded) << read_file(root + "/switchyardd.log");
  EXPECT_EQ(degraded->level, severity::warning);
  EXPECT_TRUE(degraded->affects_primary);
  EXPECT_NE(degraded->evidence.find("> max_mean_latency 100 ms"), std::string::npos)
      << degraded->evidence;
  EXPECT_NE(degraded->evidence.find("(hold 2s)"), std::string::npos) << degraded->evidence;

  // Fast again: one note that it is back, and never a failover or a failure.
  EXPECT_EQ(http_request("POST", port_s, "/delay?ms=0"), "200 delay 0 ms\n");
  auto back = wait_for_detection("shop", "slow-a", failure_type::recovered, 30s);
  ASSERT_TRUE(back) << read_file(root + "/switchyardd.log");
  EXPECT_EQ(back->level, severity::info);
  EXPECT_EQ(back->evidence.rfind("performance back within thresholds for ", 0), 0u)
      << back->evidence;
  EXPECT_GT(back->id.value, degraded->id.value);

  for (const auto& d : detections("shop")) {
    EXPECT_NE(d.type, failure_type::unreachable) << d.evidence;
    EXPECT_FALSE(d.instance.value == "slow-b" && d.type == failure_type::degraded) << d.evidence;
  }
  auto db = persistence::sqlite_store::open(db_path());
  ASSERT_TRUE(db);
  auto switchovers = (*db)->list_switchovers("shop");
  ASSERT_TRUE(switchovers);
  EXPECT_TRUE(switchovers->empty());
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait_for_exit(10s), 0);
}

TEST_F(performance_integration, the_grpc_probe_checks_switchyardd_s_own_health_service) {
  auto nothing = free_port();
  while (nothing == api_port || nothing == port_a || nothing == port_b)
    nothing = free_port();
  // switchyardd's API serves grpc.health.v1: a service whose primary is that
  // API, and a standby where nothing listens.
  extra_services = fmt::format(
      "  - name: control\n"
      "    health_check: {{type: grpc, interval: 200ms, timeout: 200ms, rise: 1, fall: 2}}\n"
      "    instances:\n"
      "      - {{name: ctl-a, address: 127.0.0.1:{}, site: dc2, role: primary}}\n"
      "      - {{name: ctl-b, address: 127.0.0.1:{}, site: dc2, role: standby}}\n"
      "    strategy:\n"
      "      type: active_passive\n",
      api_port, nothing);
  write_config();
  auto daemon = start_daemon(root + "/switchyardd.log");
  ASSERT_TRUE(wait_until(
      [&] {
        auto log = read_file(root + "/switchyardd.log");
        // From unknown, or from unhealthy if its first probes ran before the API listened.
        return log.find("-> healthy after 1 probes (SERVING)") != std::string::npos &&
               log.find("control/ctl-b: unknown -> unhealthy after 2 probes (gRPC UNAVAILABLE: ") !=
                   std::string::npos;
      },
      20s))
      << read_file(root + "/switchyardd.log");
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait_for_exit(10s), 0);
}

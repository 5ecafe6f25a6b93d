// GET /metrics of a real switchyardd: scraped over a real socket on the port
// it picked (port 0, read from its log), every line well-formed, and the
// counters move when a failover happens.
#include <regex>

#include <gtest/gtest.h>

#include "observability/prometheus_text.hpp"
#include "tests/integration/cli_fixture.hpp"
#include "tests/support/exposition_check.hpp"

using namespace std::chrono_literals;
using namespace switchyard::testing;

namespace {

class metrics_endpoint : public cli_integration {
protected:
  std::string log() const { return read_file(root + "/switchyardd.log"); }

  /// The port switchyardd logged for GET /metrics (0 until it did).
  std::uint16_t metrics_port() const {
    static const std::regex line{R"(metrics: GET /metrics on \S+ \(port (\d+)\))"};
    std::smatch m;
    auto text = log();
    if (!std::regex_search(text, m, line))
      return 0;
    return static_cast<std::uint16_t>(std::stoi(m[1].str()));
  }

  /// The body of GET /metrics, checked line by line.
  switchyard::actors::prometheus_text scrape(std::uint16_t port) {
    auto response = http_request("GET", port, "/metrics");
    EXPECT_EQ(response.rfind("200 ", 0), 0u) << response.substr(0, 200);
    auto body = response.substr(std::min(response.size(), std::size_t{4}));
    EXPECT_EQ(switchyard::test::check_exposition(body), std::vector<std::string>{}) << body;
    auto parsed = switchyard::actors::parse_prometheus_text(body);
    EXPECT_EQ(parsed.malformed, 0u) << parsed.first_error;
    return parsed;
  }

  static double value(const switchyard::actors::prometheus_text& t, const std::string& name,
                      const std::map<std::string, std::string>& labels) {
    for (const auto& s : t.samples)
      if (s.name == name && s.labels == labels)
        return s.value;
    return -1;
  }
};

} // namespace

TEST_F(metrics_endpoint, counts_detections_switchovers_and_steps_of_a_failover) {
  start_and_fail_over(); // web-a killed: an automatic failover to web-b completed
  ASSERT_FALSE(HasFatalFailure());
  std::uint16_t port = 0;
  ASSERT_TRUE(wait_until([&] { return (port = metrics_port()) != 0; }, 5s)) << log();
  EXPECT_NE(port, 7401) << "port 0 picks a free port";

  switchyard::actors::prometheus_text t;
  // The closing commit and its metrics come just before the CLI sees "completed".
  ASSERT_TRUE(wait_until(
      [&] {
        t = scrape(port);
        return value(t, "switchyard_switchovers_total",
                     {{"kind", "automatic_failover"}, {"outcome", "completed"}}) == 1;
      },
      5s))
      << log();
  EXPECT_EQ(value(t, "switchyard_up", {}), 1);
  EXPECT_EQ(value(t, "switchyard_tilt", {}), 0);
  EXPECT_GE(
      value(t, "switchyard_detections_total", {{"type", "unreachable"}, {"severity", "critical"}}),
      1);
  for (const char* phase : {"fence", "promote", "reroute", "verify"})
    EXPECT_GE(value(t, "switchyard_step_duration_seconds_count", {{"phase", phase}}), 1) << phase;
  EXPECT_GT(value(t, "switchyard_journal_rows_total", {}), 6);
  EXPECT_GT(value(t, "switchyard_journal_write_duration_seconds_count", {}), 0);
  EXPECT_GE(value(t, "switchyard_mailbox_depth", {{"actor", "store"}}), 0);
  EXPECT_GE(value(t, "switchyard_mailbox_depth", {{"actor", "failover_coordinator"}}), 0);

  // Only GET (and HEAD) /metrics.
  EXPECT_EQ(http_request("GET", port, "/other").rfind("404", 0), 0u);
  EXPECT_EQ(http_request("POST", port, "/metrics").rfind("405", 0), 0u);
}

TEST_F(metrics_endpoint, can_be_turned_off) {
  metrics_listen = "off";
  write_config();
  daemon = start_daemon(root + "/switchyardd.log");
  ASSERT_TRUE(wait_until([&] { return log().find("metrics: off") != std::string::npos; }, 10s))
      << log();
  EXPECT_EQ(metrics_port(), 0);
}

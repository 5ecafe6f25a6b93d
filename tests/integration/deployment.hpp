// A real deployment for integration tests: two demo_service instances and a
// temporary configuration (with an API port and tokens) for switchyardd.
#pragma once

#include <csignal>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_tokens.hpp"

namespace switchyard::testing {

using namespace std::chrono_literals;

// Every journal point of the deployment's automatic failover (4 steps), for
// the crash suites (actors/fault_injection.hpp), and a test name for each.
inline std::vector<std::string> failover_journal_points() {
  return {"switchover_opened", "step_started:1",   "step_done:1", "step_started:2",
          "step_done:2",       "step_started:3",   "step_done:3", "step_started:4",
          "step_done:4",       "switchover_closed"};
}
inline std::string journal_point_name(const ::testing::TestParamInfo<std::string>& info) {
  auto name = info.param;
  for (auto& c : name)
    if (c == ':')
      c = '_';
  return name;
}

// The numbers (from 0) of the lines of `text` that contain `part`, in order.
inline std::vector<int> lines_with(const std::string& text, const std::string& part) {
  std::istringstream in(text);
  std::vector<int> at;
  int n = 0;
  for (std::string line; std::getline(in, line); ++n)
    if (line.find(part) != std::string::npos)
      at.push_back(n);
  return at;
}

// How many lines of `text` contain `part` (e.g. an action's name in its log).
inline int count_lines_with(const std::string& text, const std::string& part) {
  return static_cast<int>(lines_with(text, part).size());
}

// Every action appends one line with its view of the failover.
inline std::string action(const std::string& name, const std::string& log,
                          const std::string& extra = {}, const std::string& rollback = {}) {
  auto undo =
      rollback.empty() ? std::string{} : "          rollback: >-\n            " + rollback + "\n";
  return fmt::format(
      "        - name: {0}\n"
      "          type: exec\n"
      "          timeout: 5s\n"
      "          command: >-\n"
      "            echo \"$SWITCHYARD_PHASE $SWITCHYARD_STEP service=$SWITCHYARD_SERVICE"
      " old=$SWITCHYARD_OLD_PRIMARY@$SWITCHYARD_OLD_PRIMARY_ADDRESS"
      " new=$SWITCHYARD_NEW_PRIMARY@$SWITCHYARD_NEW_PRIMARY_ADDRESS target=$SWITCHYARD_TARGET"
      " epoch=$SWITCHYARD_EPOCH switchover=$SWITCHYARD_SWITCHOVER_ID\" >> {1}{2}\n{3}",
      name, log, extra, undo);
}

class deployment : public ::testing::Test {
protected:
  void SetUp() override {
    api_port = switchyard::testing::free_port();
    port_a = switchyard::testing::free_port();
    port_b = switchyard::testing::free_port();
    while (port_b == port_a)
      port_b = switchyard::testing::free_port();
    root = dir.path().string();
    actions_log = root + "/actions.log";
    web_a = std::make_unique<child_process>(
        std::vector<std::string>{DEMO_SERVICE_PATH, "--name", "web-a", "--port",
                                 std::to_string(port_a), "--role", "primary"},
        root + "/web-a.log");
    web_b = std::make_unique<child_process>(
        std::vector<std::string>{DEMO_SERVICE_PATH, "--name", "web-b", "--port",
                                 std::to_string(port_b), "--role", "standby"},
        root + "/web-b.log");
    ASSERT_TRUE(wait_until(
        [&] { return http_request("GET", port_a, "/health").rfind("200", 0) == 0; }, 10s));
    ASSERT_TRUE(wait_until(
        [&] { return http_request("GET", port_b, "/health").rfind("200", 0) == 0; }, 10s));
    write_tokens();
    write_config();
  }

  void write_tokens() { write_test_tokens(root + "/tokens.yaml"); }

  void write_config() {
    std::ofstream out(root + "/switchyard.yaml", std::ios::trunc);
    out << "orchestrator:\n  data_dir: data\n  log_level: debug\n"
        << "  metrics_listen: \"" << metrics_listen << "\"\n"
        << fmt::format("api:\n  listen: 127.0.0.1:{}\n  tokens_file: tokens.yaml\n", api_port)
        << "services:\n"
        << "  - name: web\n"
        << "    block_period: " << web_block_period << "\n"
        << "    objectives: {rto: 10s, rpo: 0s}\n"
        << "    health_check: {type: http, path: /health, interval: 200ms, timeout: 150ms,"
           " rise: 1, fall: 2}\n"
        << "    instances:\n"
        << fmt::format("      - {{name: web-a, address: 127.0.0.1:{}, site: dc1, role: primary, "
                       "priority: 100}}\n",
                       port_a)
        << fmt::format("      - {{name: web-b, address: 127.0.0.1:{}, site: dc1, role: standby, "
                       "priority: 90}}\n",
                       port_b)
        << "    strategy:\n"
        << "      type: active_passive\n"
        // A replication-lag pre-check: refuses while the flag file `lagging` exists.
        << "      checks:\n"
        << "        - name: replication-lag\n"
        << "          type: exec\n"
        << "          command: >-\n"
        << "            test ! -f " + root +
               "/lagging || { echo \"$SWITCHYARD_TARGET lags 90000 ms, RPO is "
               "$SWITCHYARD_RPO_MS ms\"; exit 1; }\n"
        << "      demote:\n"
        // A test makes the switchover slow (to catch it in flight) with a flag file.
        << action("drain-old", actions_log, " && if [ -f " + root + "/slow ]; then sleep 2; fi")
        << "      fence:\n"
        << action("fence-old", actions_log) << "      promote:\n"
        << action("promote-new", actions_log,
                  " && curl -fsS -m 2 -X POST \"http://$SWITCHYARD_NEW_PRIMARY_ADDRESS/promote\"",
                  "curl -fsS -m 2 -X POST \"http://$SWITCHYARD_NEW_PRIMARY_ADDRESS/demote\"")
        << "      reroute:\n"
        << action("reroute", actions_log) << "      verify:\n"
        << action("verify-role", actions_log,
                  " && curl -fsS -m 2 \"http://$SWITCHYARD_NEW_PRIMARY_ADDRESS/role\" | grep -qx "
                  "primary && test ! -f " +
                      root + "/fail-verify && if [ -f " + root + "/hang-verify ]; then sleep " +
                      hung_sleep() + "; fi")
        << extra_services;
  }

  std::unique_ptr<child_process> start_daemon(const std::string& log) {
    return std::make_unique<child_process>(
        std::vector<std::string>{SWITCHYARDD_PATH, "--config", root + "/switchyard.yaml"}, log);
  }

  std::string db_path() const { return root + "/data/switchyard.db"; }

  /// What the hung verify step sleeps: unique per test (its port as the
  /// fraction), so a check for a left-behind sleeper sees only this test's.
  std::string hung_sleep() const { return "1000." + std::to_string(port_b); }

  switchyard::testing::temp_dir dir;
  std::string root;
  std::string actions_log;
  std::string web_block_period = "60s";
  /// GET /metrics; port 0 (a free one, logged) so parallel tests never collide.
  std::string metrics_listen = "127.0.0.1:0";
  std::string extra_services; ///< YAML appended to `services:` (reload tests)
  std::uint16_t api_port = 0;
  std::uint16_t port_a = 0;
  std::uint16_t port_b = 0;
  std::unique_ptr<child_process> web_a;
  std::unique_ptr<child_process> web_b;
};

} // namespace switchyard::testing

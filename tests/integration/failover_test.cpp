// End to end with real processes: two demo_service instances, switchyardd on a
// temporary config and database, kill -9 the primary, and check that the
// failover ran its exec actions in order with the right environment, that the
// database holds the detection, the plan and a fully done journal, and that a
// restarted switchyardd knows the standby is now primary.
#include <csignal>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "persistence/sqlite_store.hpp"
#include "tests/integration/deployment.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using switchyard::testing::child_process;
using switchyard::testing::http_request;
using switchyard::testing::read_file;
using switchyard::testing::wait_until;

using failover_integration = switchyard::testing::deployment;

TEST_F(failover_integration, kill_9_of_the_primary_fails_over_to_the_standby) {
  auto daemon = start_daemon(root + "/switchyardd-1.log");
  // Both instances must be seen healthy first (health history is written by the store).
  ASSERT_TRUE(wait_until(
      [&] {
        auto log = read_file(root + "/switchyardd-1.log");
        return log.find("web/web-a: unknown -> healthy") != std::string::npos &&
               log.find("web/web-b: unknown -> healthy") != std::string::npos;
      },
      15s))
      << read_file(root + "/switchyardd-1.log");

  web_a->signal(SIGKILL);
  ASSERT_EQ(web_a->wait_for_exit(5s), 128 + SIGKILL);

  std::vector<persistence::switchover_row> switchovers;
  ASSERT_TRUE(wait_until(
      [&] {
        auto db = persistence::sqlite_store::open(db_path());
        if (!db)
          return false;
        auto list = (*db)->list_switchovers("web");
        if (!list || list->empty() || list->front().status == switchover_status::running)
          return false;
        switchovers = *list;
        return true;
      },
      20s))
      << read_file(root + "/switchyardd-1.log");

  ASSERT_EQ(switchovers.size(), 1u);
  const auto& sw = switchovers.front();
  EXPECT_EQ(sw.status, switchover_status::completed) << sw.detail;
  EXPECT_EQ(sw.kind, switchover_kind::automatic_failover);
  EXPECT_EQ(sw.from.value, "web-a");
  EXPECT_EQ(sw.to.value, "web-b");
  EXPECT_EQ(sw.run_epoch.value, 2u);
  EXPECT_GT(sw.detection.value, 0);
  EXPECT_GE(sw.plan_version, 1);

  // The actions ran in order, each with the failover's environment.
  auto expect_line = [&](const std::string& phase, const std::string& step,
                         const std::string& target) {
    return fmt::format("{} {} service=web old=web-a@127.0.0.1:{} new=web-b@127.0.0.1:{} target={} "
                       "epoch=2 switchover={}",
                       phase, step, port_a, port_b, target, sw.id.value);
  };
  EXPECT_EQ(read_file(actions_log), expect_line("fence", "fence-old", "web-a") + "\n" +
                                        expect_line("promote", "promote-new", "web-b") + "\n" +
                                        expect_line("reroute", "reroute", "web-b") + "\n" +
                                        expect_line("verify", "verify-role", "web-b") + "\n");
  EXPECT_EQ(http_request("GET", port_b, "/role"), "200 primary\n");

  {
    auto db = persistence::sqlite_store::open(db_path());
    ASSERT_TRUE(db);
    auto steps = (*db)->list_steps(sw.id);
    ASSERT_TRUE(steps);
    ASSERT_EQ(steps->size(), 4u);
    std::vector<std::string> names;
    for (std::size_t i = 0; i < steps->size(); ++i) {
      const auto& st = (*steps)[i];
      EXPECT_EQ(st.sequence, i + 1);
      EXPECT_EQ(st.status, persistence::step_status::done) << st.name << ": " << st.detail;
      EXPECT_GT(st.finished_at_ms, 0);
      EXPECT_LE(st.started_at_ms, st.finished_at_ms);
      EXPECT_EQ(st.run_epoch.value, 2u);
      names.push_back(st.name);
    }
    EXPECT_EQ(names,
              (std::vector<std::string>{"fence-old", "promote-new", "reroute", "verify-role"}));
    auto detections = (*db)->list_detections("web");
    ASSERT_TRUE(detections);
    bool primary_detected = false;
    std::string seen;
    for (const auto& d : *detections)
      seen += fmt::format("#{} {} {} {} {}\n", d.id.value, d.instance.value, to_string(d.type),
                          to_string(d.level), d.evidence);
    for (const auto& d : *detections)
      if (d.instance.value == "web-a" && d.type == failure_type::unreachable &&
          d.level == severity::critical && d.id == sw.detection)
        primary_detected = true;
    EXPECT_TRUE(primary_detected) << "switchover detection #" << sw.detection.value << "\n"
                                  << seen << read_file(root + "/switchyardd-1.log");
    auto plan = (*db)->latest_plan("web");
    ASSERT_TRUE(plan && *plan);
    EXPECT_NE((*plan)->json.find("\"promote-new\""), std::string::npos);
    auto topo = (*db)->load_topology();
    ASSERT_TRUE(topo);
    ASSERT_EQ(topo->size(), 1u);
    EXPECT_EQ(topo->front().primary.value, "web-b");
    EXPECT_EQ(topo->front().current_epoch.value, 2u);
  }

  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait_for_exit(15s), 0) << read_file(root + "/switchyardd-1.log");

  // A restarted daemon takes the primary from the database, not the file.
  auto second = start_daemon(root + "/switchyardd-2.log");
  EXPECT_TRUE(wait_until(
      [&] {
        return read_file(root + "/switchyardd-2.log").find("web: primary web-b (epoch 2)") !=
               std::string::npos;
      },
      15s))
      << read_file(root + "/switchyardd-2.log");
  second->signal(SIGTERM);
  EXPECT_EQ(second->wait_for_exit(15s), 0) << read_file(root + "/switchyardd-2.log");
}

TEST_F(failover_integration, check_config_reports_errors_with_location) {
  std::ofstream(root + "/bad.yaml") << "orchestrator:\n  log_level: loud\nservices: []\n";
  child_process check({SWITCHYARDD_PATH, "--check-config", root + "/bad.yaml"},
                      root + "/check.log");
  EXPECT_EQ(check.wait_for_exit(10s), 1);
  auto out = read_file(root + "/check.log");
  EXPECT_NE(out.find("bad.yaml:2:14: orchestrator.log_level"), std::string::npos) << out;

  child_process good({SWITCHYARDD_PATH, "--check-config", root + "/switchyard.yaml"},
                     root + "/check-good.log");
  EXPECT_EQ(good.wait_for_exit(10s), 0) << read_file(root + "/check-good.log");
}

TEST_F(failover_integration, check_config_says_how_returning_old_primaries_are_treated) {
  auto service = [](const std::string& name, const std::string& strategy) {
    return "  - name: " + name +
           "\n    health_check: {type: redis}\n    instances:\n"
           "      - {name: " +
           name +
           "-a, address: 127.0.0.1:1, role: primary}\n"
           "      - {name: " +
           name +
           "-b, address: 127.0.0.1:2, role: standby}\n"
           "    strategy:\n      type: active_passive\n" +
           strategy;
  };
  std::ofstream(root + "/redis.yaml")
      << "orchestrator: {data_dir: state}\nservices:\n"
      << service("cache", "") << service("queue", "      rejoin: none\n")
      << service("store", "      rejoin:\n        - {name: mine, type: exec, command: 'true'}\n");
  child_process check({SWITCHYARDD_PATH, "--check-config", root + "/redis.yaml"},
                      root + "/check-redis.log");
  EXPECT_EQ(check.wait_for_exit(10s), 0) << read_file(root + "/check-redis.log");
  auto out = read_file(root + "/check-redis.log");
  EXPECT_NE(out.find("cache: rejoin: a returning old primary is made a replica of the primary "
                     "(default: redis follow; rejoin: none turns it off)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("queue: rejoin: none: a returning old primary is left as it is and may "
                     "stay writable"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("store:"), std::string::npos) << "configured explicitly: nothing to say";
}

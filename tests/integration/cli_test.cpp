// The real `switchyard` CLI against a real switchyardd: reads after a real
// failover, JSON output, and the refusals (no token, wrong token, role too
// low, unknown service, daemon unreachable) with their exit codes.
#include <csignal>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/cli_fixture.hpp"

using namespace std::chrono_literals;
using switchyard::testing::child_process;
using switchyard::testing::read_file;
using switchyard::testing::wait_until;

using switchyard::testing::cli_integration;

TEST_F(cli_integration, reads_show_the_failover) {
  start_and_fail_over();

  auto status = cli({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("services:  1 (2 instances, 1 healthy, 0 failovers in flight)"),
            std::string::npos)
      << status.output;

  auto services = cli({"services"});
  EXPECT_EQ(services.exit_code, 0);
  EXPECT_NE(services.output.find("web      web-b    healthy         2"), std::string::npos)
      << services.output;

  auto service = cli({"service", "web"});
  EXPECT_EQ(service.exit_code, 0);
  EXPECT_NE(service.output.find("service web: primary web-b (epoch 2), in block period"),
            std::string::npos)
      << service.output;
  EXPECT_NE(service.output.find("unreachable  critical"), std::string::npos) << service.output;
  EXPECT_NE(service.output.find("failover plan v1:"), std::string::npos) << service.output;
  EXPECT_NE(service.output.find("\nrejoin: "), std::string::npos)
      << "how a returning old primary is treated: " << service.output;

  auto journal = cli({"switchovers", "1"});
  EXPECT_EQ(journal.exit_code, 0);
  EXPECT_NE(journal.output.find("switchover #1 of web: automatic_failover web-a -> web-b "
                                "(completed), epoch 2"),
            std::string::npos)
      << journal.output;
  for (const char* step : {"fence-old", "promote-new", "reroute", "verify-role"})
    EXPECT_NE(journal.output.find(step), std::string::npos) << step << "\n" << journal.output;

  auto json = cli({"--output", "json", "switchovers", "1"});
  ASSERT_EQ(json.exit_code, 0);
  auto doc = nlohmann::json::parse(json.output);
  EXPECT_EQ(doc["status"], "completed");
  EXPECT_EQ(doc["to_instance"], "web-b");
  ASSERT_EQ(doc["steps"].size(), 4u);
  for (const auto& st : doc["steps"])
    EXPECT_EQ(st["status"], "done");

  auto audit = cli({"audit"}, "admin-token");
  EXPECT_EQ(audit.exit_code, 0) << audit.output;
}

TEST_F(cli_integration, refusals_have_clear_messages_and_exit_codes) {
  daemon = start_daemon(root + "/switchyardd.log");
  ASSERT_TRUE(wait_until([&] { return cli({"status"}).exit_code == 0; }, 15s))
      << read_file(root + "/switchyardd.log");

  auto none = cli({"status"}, "");
  EXPECT_EQ(none.exit_code, 3);
  EXPECT_NE(none.output.find("not authenticated: missing bearer token"), std::string::npos)
      << none.output;

  auto wrong = cli({"status"}, "not-a-token");
  EXPECT_EQ(wrong.exit_code, 3);
  EXPECT_NE(wrong.output.find("not authenticated: invalid token"), std::string::npos);

  auto viewer_audit = cli({"audit"});
  EXPECT_EQ(viewer_audit.exit_code, 3);
  EXPECT_NE(viewer_audit.output.find("'test-viewer' has role viewer; ListAudit needs admin"),
            std::string::npos)
      << viewer_audit.output;

  auto unknown = cli({"service", "nope"});
  EXPECT_EQ(unknown.exit_code, 4);
  EXPECT_NE(unknown.output.find("no service named 'nope' (configured: web)"), std::string::npos);

  auto bad_id = cli({"switchovers", "-5"});
  EXPECT_EQ(bad_id.exit_code, 5) << bad_id.output;
  EXPECT_NE(bad_id.output.find("id must be a positive switchover id"), std::string::npos);

  auto no_such = cli({"switchovers", "42"});
  EXPECT_EQ(no_such.exit_code, 4);
  EXPECT_NE(no_such.output.find("no switchover #42"), std::string::npos) << no_such.output;

  // Tokens never reach the log.
  auto log = read_file(root + "/switchyardd.log");
  for (const char* secret : {"viewer-token", "admin-token", "not-a-token"})
    EXPECT_EQ(log.find(secret), std::string::npos) << secret;
}

TEST_F(cli_integration, unreachable_daemon_is_exit_2) {
  auto r = cli({"status"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("cannot reach switchyardd at 127.0.0.1:"), std::string::npos) << r.output;
  auto events = cli({"events", "--follow"});
  EXPECT_EQ(events.exit_code, 2) << events.output;
  EXPECT_EQ(events.output.find("watching events"), std::string::npos) << events.output;
}

TEST_F(cli_integration, a_generic_grpc_client_gets_health_and_status) {
  daemon = start_daemon(root + "/switchyardd.log");
  ASSERT_TRUE(wait_until([&] { return cli({"status"}).exit_code == 0; }, 15s))
      << read_file(root + "/switchyardd.log");
  auto log = root + "/python.out";
  child_process py({"/usr/bin/python3",
                    std::string(SWITCHYARD_SOURCE_DIR) + "/tests/integration/grpc_client.py",
                    "127.0.0.1:" + std::to_string(api_port), "viewer-token"},
                   log);
  EXPECT_EQ(py.wait_for_exit(30s), 0) << read_file(log);
  EXPECT_EQ(read_file(log), "health 0801\nversion 0.1.0\nno-token UNAUTHENTICATED\n");
}

TEST_F(cli_integration, dry_run_changes_nothing_and_a_planned_switchover_completes) {
  daemon = start_daemon(root + "/switchyardd.log");
  ASSERT_TRUE(wait_until(
      [&] { return cli({"services"}).output.find("2/2 healthy") != std::string::npos; }, 15s))
      << read_file(root + "/switchyardd.log");

  auto dry = cli({"switchover", "web", "--dry-run"}, "operator-token");
  EXPECT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_NE(dry.output.find("dry run: web-a -> web-b, 5 steps"), std::string::npos) << dry.output;
  EXPECT_NE(dry.output.find("drain-old"), std::string::npos) << "a planned switchover demotes";
  EXPECT_NE(dry.output.find("promote-new"), std::string::npos);
  EXPECT_EQ(read_file(actions_log), "") << "a dry run runs nothing";
  EXPECT_EQ(cli({"switchovers"}).output.find("web-a -> web-b"), std::string::npos);

  auto no_reason = cli({"switchover", "web", "--yes"}, "operator-token");
  EXPECT_EQ(no_reason.exit_code, 5);
  EXPECT_NE(no_reason.output.find("reason is required"), std::string::npos) << no_reason.output;

  auto run =
      cli({"switchover", "web", "--to", "web-b", "--reason", "kernel upgrade on web-a", "--yes"},
          "operator-token");
  EXPECT_EQ(run.exit_code, 0) << run.output << read_file(root + "/switchyardd.log");
  EXPECT_NE(run.output.find("switchover #1: web-a -> web-b completed"), std::string::npos)
      << run.output;
  EXPECT_EQ(switchyard::testing::http_request("GET", port_b, "/role"), "200 primary\n");
  auto services = cli({"services"});
  EXPECT_NE(services.output.find("web      web-b    healthy         2"), std::string::npos)
      << services.output;
  auto journal = cli({"switchovers", "1"});
  EXPECT_NE(journal.output.find("planned_switchover web-a -> web-b (completed), epoch 2"),
            std::string::npos)
      << journal.output;
  EXPECT_NE(journal.output.find("reason: planned by test-operator: kernel upgrade on web-a"),
            std::string::npos)
      << journal.output;

  auto again = cli({"switchover", "web", "--reason", "back", "--yes"}, "operator-token");
  EXPECT_EQ(again.exit_code, 5) << again.output;
  EXPECT_NE(again.output.find("within block period"), std::string::npos) << again.output;

  auto audit = cli({"audit"}, "admin-token");
  EXPECT_NE(audit.output.find("completed: switchover #1"), std::string::npos) << audit.output;
  EXPECT_NE(audit.output.find("FAILED_PRECONDITION: within block period"), std::string::npos)
      << audit.output;
}

TEST_F(cli_integration, a_failed_step_rolls_the_switchover_back) {
  daemon = start_daemon(root + "/switchyardd.log");
  ASSERT_TRUE(wait_until(
      [&] { return cli({"services"}).output.find("2/2 healthy") != std::string::npos; }, 15s));
  std::ofstream(root + "/fail-verify") << "x";
  auto run = cli({"switchover", "web", "--reason", "test rollback", "--yes"}, "operator-token");
  EXPECT_EQ(run.exit_code, 6) << run.output;
  EXPECT_NE(run.output.find("switchover #1: web-a -> web-b FAILED"), std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("step 5 (verify-role) failed"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("rolled back: promote-new"), std::string::npos) << run.output;
  EXPECT_EQ(switchyard::testing::http_request("GET", port_b, "/role"), "200 standby\n")
      << "the promote was undone";
  EXPECT_NE(cli({"services"}).output.find("web      web-a    healthy         1"), std::string::npos)
      << "the topology is unchanged";
  auto journal = cli({"--output", "json", "switchovers", "1"});
  auto doc = nlohmann::json::parse(journal.output);
  EXPECT_EQ(doc["status"], "failed");
  ASSERT_EQ(doc["steps"].size(), 6u) << journal.output;
  EXPECT_EQ(doc["steps"][0]["phase"], "demote");
  EXPECT_EQ(doc["steps"][4]["status"], "failed");
  EXPECT_EQ(doc["steps"][5]["name"], "rollback promote-new");
  EXPECT_EQ(doc["steps"][5]["status"], "done");
}

TEST_F(cli_integration, mutating_calls_need_the_operator_role_and_are_audited_when_refused) {
  daemon = start_daemon(root + "/switchyardd.log");
  ASSERT_TRUE(wait_until([&] { return cli({"status"}).exit_code == 0; }, 15s));
  auto viewer = cli({"switchover", "web", "--reason", "x", "--yes"});
  EXPECT_EQ(viewer.exit_code, 3);
  EXPECT_NE(viewer.output.find("'test-viewer' has role viewer; RequestSwitchover needs operator"),
            std::string::npos)
      << viewer.output;
  auto anonymous = cli({"switchover", "web", "--reason", "x", "--yes"}, "");
  EXPECT_EQ(anonymous.exit_code, 3);
  auto unknown =
      cli({"switchover", "web", "--to", "web-z", "--reason", "x", "--yes"}, "operator-token");
  EXPECT_EQ(unknown.exit_code, 4);
  EXPECT_NE(unknown.output.find("service 'web' has no instance 'web-z'"), std::string::npos);

  auto audit = cli({"--output", "json", "audit"}, "admin-token");
  ASSERT_EQ(audit.exit_code, 0) << audit.output;
  auto doc = nlohmann::json::parse(audit.output);
  ASSERT_EQ(doc["entries"].size(), 3u) << audit.output;
  EXPECT_EQ(doc["entries"][2]["principal"], "test-viewer");
  EXPECT_EQ(doc["entries"][2]["call"], "RequestSwitchover");
  EXPECT_EQ(doc["entries"][2]["result"].get<std::string>().rfind("PERMISSION_DENIED: ", 0), 0u);
  EXPECT_EQ(doc["entries"][1]["principal"], "(anonymous)");
  EXPECT_EQ(doc["entries"][1]["result"].get<std::string>().rfind("UNAUTHENTICATED: ", 0), 0u);
  EXPECT_EQ(doc["entries"][0]["principal"], "test-operator");
  EXPECT_EQ(doc["entries"][0]["result"].get<std::string>().rfind("NOT_FOUND: ", 0), 0u);
  EXPECT_NE(doc["entries"][0]["arguments"].get<std::string>().find("\"target\":\"web-z\""),
            std::string::npos);
  EXPECT_EQ(read_file(root + "/switchyardd.log").find("operator-token"), std::string::npos);
}

TEST_F(cli_integration, availability_counts_the_outage_of_the_failover_against_the_sla) {
  start_and_fail_over();
  auto r = cli({"--output", "json", "availability", "web", "--instances"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto all = nlohmann::json::parse(r.output);
  nlohmann::json service_hour;
  nlohmann::json web_a_hour;
  for (const auto& e : all["entries"]) {
    if (e["window"] != "1h")
      continue;
    if (!e.contains("instance") || e["instance"] == "")
      service_hour = e;
    else if (e["instance"] == "web-a")
      web_a_hour = e;
  }
  ASSERT_FALSE(service_hour.is_null()) << r.output;
  // The service was down from web-a's unhealthy transition to the completed failover.
  EXPECT_GT(std::stoll(service_hour["down_ms"].get<std::string>()), 0) << r.output;
  EXPECT_LT(service_hour["availability_percent"].get<double>(), 100.0);
  EXPECT_EQ(service_hour["sla_percent"].get<double>(), 99.9);
  // web-a is still down (killed): its down time grows with its observed time.
  ASSERT_FALSE(web_a_hour.is_null()) << r.output;
  EXPECT_GT(std::stoll(web_a_hour["down_ms"].get<std::string>()), 0);

  auto table = cli({"availability"});
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("SERVICE"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("(service)"), std::string::npos) << table.output;
  EXPECT_EQ(table.output.find("web-a"), std::string::npos) << "instances only with --instances";
  EXPECT_EQ(cli({"availability", "nope"}).exit_code, 4) << "an unknown service";
}

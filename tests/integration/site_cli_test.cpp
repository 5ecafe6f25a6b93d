// The `switchyard site` and `switchyard drill` commands against a real
// switchyardd: argument errors, unknown sites and ids, the read-only
// commands, roles and the audit of refused site switchovers and drills.
#include <fstream>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/cli_fixture.hpp"

using namespace std::chrono_literals;
using switchyard::testing::read_file;
using switchyard::testing::wait_until;

namespace {

class site_cli : public switchyard::testing::cli_integration {
protected:
  void SetUp() override {
    cli_integration::SetUp();
    if (HasFatalFailure())
      return;
    // web-b moves to dc2, and both sites are declared.
    auto text =
        std::regex_replace(read_file(root + "/switchyard.yaml"),
                           std::regex("site: dc1, role: standby"), "site: dc2, role: standby");
    std::ofstream(root + "/switchyard.yaml", std::ios::trunc)
        << text << "sites:\n  - {name: dc1, description: primary data center}\n"
        << "  - {name: dc2, description: standby data center}\n";
  }

  void start() {
    daemon = start_daemon(root + "/switchyardd.log");
    ASSERT_TRUE(wait_until(
        [&] { return cli({"services"}).output.find("2/2 healthy") != std::string::npos; }, 15s))
        << read_file(root + "/switchyardd.log");
  }
};

} // namespace

TEST_F(site_cli, argument_errors_are_exit_1_before_anything_is_asked) {
  // No daemon runs: a usage error must not even try to connect (that would be exit 2).
  auto no_sub = cli({"site"});
  EXPECT_EQ(no_sub.exit_code, 1) << no_sub.output;
  auto no_to = cli({"site", "assess", "--from", "dc1"});
  EXPECT_EQ(no_to.exit_code, 1) << no_to.output;
  EXPECT_NE(no_to.output.find("--to is required"), std::string::npos) << no_to.output;
  auto no_id = cli({"site", "show"});
  EXPECT_EQ(no_id.exit_code, 1) << no_id.output;
  auto no_site = cli({"drill"}, "operator-token");
  EXPECT_EQ(no_site.exit_code, 1) << no_site.output;
  EXPECT_NE(no_site.output.find("drill needs --site SITE"), std::string::npos) << no_site.output;
  auto bad_format = cli({"drill", "report", "1", "--format", "pdf"});
  EXPECT_EQ(bad_format.exit_code, 1) << bad_format.output;
}

TEST_F(site_cli, bad_sites_and_unknown_ids_are_refused_with_clear_messages) {
  start();
  auto same = cli({"site", "assess", "--from", "dc1", "--to", "dc1"});
  EXPECT_EQ(same.exit_code, 5) << same.output;
  EXPECT_NE(same.output.find("from_site and to_site are both 'dc1'"), std::string::npos)
      << same.output;
  auto unknown = cli({"site", "assess", "--from", "dc1", "--to", "mars"});
  EXPECT_EQ(unknown.exit_code, 5) << unknown.output;
  EXPECT_NE(unknown.output.find("no site named 'mars' (configured: dc1, dc2)"), std::string::npos)
      << unknown.output;
  auto unknown_drill = cli({"drill", "--site", "mars", "--yes"}, "operator-token");
  EXPECT_EQ(unknown_drill.exit_code, 5) << unknown_drill.output;
  EXPECT_NE(unknown_drill.output.find("no site named 'mars'"), std::string::npos);
  auto unconfirmed = cli({"drill", "--site", "dc2"}, "operator-token");
  EXPECT_EQ(unconfirmed.exit_code, 1) << "a script must confirm with --yes";
  EXPECT_NE(unconfirmed.output.find("add --yes"), std::string::npos) << unconfirmed.output;

  auto no_such = cli({"site", "show", "42"});
  EXPECT_EQ(no_such.exit_code, 4) << no_such.output;
  EXPECT_NE(no_such.output.find("no site switchover #42"), std::string::npos) << no_such.output;
  auto bad_id = cli({"site", "show", "0"});
  EXPECT_EQ(bad_id.exit_code, 5) << bad_id.output;
  EXPECT_NE(bad_id.output.find("id must be a positive site switchover id"), std::string::npos);
  auto no_report = cli({"drill", "report", "9"});
  EXPECT_EQ(no_report.exit_code, 4) << no_report.output;
}

TEST_F(site_cli, read_only_commands_show_the_assessment_lists_and_drill_status) {
  start();
  auto assess = cli({"site", "assess", "--from", "dc1", "--to", "dc2"});
  ASSERT_EQ(assess.exit_code, 0) << assess.output << read_file(root + "/switchyardd.log");
  EXPECT_NE(assess.output.find("Assessment of a site switchover from dc1 to dc2"),
            std::string::npos)
      << assess.output;
  EXPECT_NE(assess.output.find("web: web-a -> web-b"), std::string::npos) << assess.output;
  EXPECT_NE(assess.output.find("Level 0"), std::string::npos) << assess.output;

  auto json = cli({"--output", "json", "site", "assess", "--from", "dc1", "--to", "dc2"});
  ASSERT_EQ(json.exit_code, 0) << json.output;
  auto doc = nlohmann::json::parse(json.output);
  EXPECT_EQ(doc["id"], "0");
  EXPECT_EQ(doc["from_site"], "dc1");
  ASSERT_EQ(doc["participants"].size(), 1u) << json.output;
  EXPECT_EQ(doc["participants"][0]["service"], "web");
  EXPECT_EQ(doc["participants"][0]["to_instance"], "web-b");

  auto list = cli({"site", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find("ID  OPERATION"), std::string::npos) << list.output;
  auto drills = cli({"drill", "list"});
  EXPECT_EQ(drills.exit_code, 0) << drills.output;
  EXPECT_NE(drills.output.find("ID  FROM"), std::string::npos) << drills.output;

  auto services = cli({"services"});
  EXPECT_NE(services.output.find("LAST DRILL"), std::string::npos) << services.output;
  EXPECT_NE(services.output.find("NEVER"), std::string::npos) << services.output;
  auto service = cli({"service", "web"});
  EXPECT_NE(service.output.find("last DR drill: NEVER (drill overdue)"), std::string::npos)
      << service.output;
  auto status = cli({"status"});
  EXPECT_NE(status.output.find("DR drills: NEVER drilled; OVERDUE for 1 service"),
            std::string::npos)
      << status.output;
  auto status_json = nlohmann::json::parse(cli({"--output", "json", "services"}).output);
  EXPECT_EQ(status_json["services"][0]["drill_overdue"], true);
  EXPECT_EQ(status_json["services"][0]["last_drill_id"], "0");
}

TEST_F(site_cli, site_switchovers_and_drills_need_the_operator_role_and_are_audited) {
  start();
  auto viewer = cli({"site", "switchover", "--from", "dc1", "--to", "dc2", "--yes"});
  EXPECT_EQ(viewer.exit_code, 3) << viewer.output;
  EXPECT_NE(viewer.output.find("'test-viewer' has role viewer; SiteSwitchover needs operator"),
            std::string::npos)
      << viewer.output;
  auto drill = cli({"drill", "--site", "dc2", "--yes"});
  EXPECT_EQ(drill.exit_code, 3) << drill.output;
  auto same = cli({"site", "failback", "--from", "dc2", "--to", "dc2", "--yes"}, "operator-token");
  EXPECT_EQ(same.exit_code, 5) << same.output;

  auto dry =
      cli({"site", "switchover", "--from", "dc1", "--to", "dc2", "--dry-run"}, "operator-token");
  EXPECT_EQ(dry.exit_code, 0) << dry.output << read_file(root + "/switchyardd.log");
  EXPECT_NE(dry.output.find("dry run: nothing was changed"), std::string::npos) << dry.output;
  EXPECT_EQ(read_file(actions_log), "") << "a dry run runs no action but the read-only ones";

  auto audit = cli({"--output", "json", "audit"}, "admin-token");
  ASSERT_EQ(audit.exit_code, 0) << audit.output;
  auto doc = nlohmann::json::parse(audit.output);
  ASSERT_GE(doc["entries"].size(), 4u) << audit.output;
  std::vector<std::string> rows;
  for (const auto& e : doc["entries"])
    rows.push_back(e["call"].get<std::string>() + " " + e["result"].get<std::string>());
  auto has = [&](const std::string& prefix) {
    for (const auto& c : rows)
      if (c.rfind(prefix, 0) == 0)
        return true;
    return false;
  };
  EXPECT_TRUE(has("SiteSwitchover PERMISSION_DENIED: ")) << audit.output;
  EXPECT_TRUE(has("Drill PERMISSION_DENIED: ")) << audit.output;
  EXPECT_TRUE(has("SiteSwitchover INVALID_ARGUMENT: from_site and to_site are both 'dc2'"))
      << audit.output;
  EXPECT_TRUE(has("SiteSwitchover dry run requested")) << audit.output;
}

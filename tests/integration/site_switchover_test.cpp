// Whole-site switchovers with real processes: eight demo_service instances
// (a database, a cache and two apps, each with one instance on dc1 and one on
// dc2), a real switchyardd, the real CLI, the real SQLite file. The apps
// depend on the database (app1 also on the cache), so the database and the
// cache must be switched before either app.
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "messages/error.hpp"
#include "persistence/sqlite_store.hpp"
#include "tests/integration/cli_fixture.hpp"
#include "tests/integration/site_services.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using switchyard::testing::child_process;
using switchyard::testing::http_request;
using switchyard::testing::lines_with;
using switchyard::testing::read_file;
using switchyard::testing::wait_until;

namespace {

const std::vector<std::string> service_names = switchyard::testing::site_service_names();

class site_switchover : public switchyard::testing::cli_integration {
protected:
  void SetUp() override {
    cli_integration::SetUp(); // web-a/web-b: a fifth service, alone on dc1
    if (HasFatalFailure())
      return;
    ASSERT_EQ(switchyard::testing::start_site_instances(root, ports, instances), "")
        << "did not answer";
    extra_services = site_services();
    write_config();
    // The deployment's web service is on dc1 only; declare both sites.
    auto text = read_file(root + "/switchyard.yaml");
    std::ofstream(root + "/switchyard.yaml", std::ios::trunc)
        << text << switchyard::testing::site_declarations();
  }

  std::string site_services() {
    return switchyard::testing::site_services_yaml(ports, root, actions_log);
  }

  void start() {
    daemon = start_daemon(root + "/switchyardd.log");
    wait_all_healthy();
  }

  void wait_all_healthy() {
    ASSERT_TRUE(wait_until(
        [&] {
          auto r = cli({"services"});
          return r.exit_code == 0 && lines_with(r.output, "2/2 healthy").size() == 5;
        },
        20s))
        << cli({"services"}).output << read_file(root + "/switchyardd.log");
  }

  /// A site or drill command; retried while switchyardd is still looking for
  /// (or recovering) unfinished site switchovers at start: it refuses new ones until then.
  switchyard::testing::cli_result site_cli(std::vector<std::string> args,
                                           const std::string& token = "operator-token") {
    switchyard::testing::cli_result r;
    wait_until(
        [&] {
          r = cli(args, token);
          return r.output.find("still starting") == std::string::npos &&
                 r.output.find("the recovery of unfinished") == std::string::npos;
        },
        20s);
    return r;
  }

  std::string role(const std::string& instance) {
    auto reply = http_request("GET", ports[instance], "/role");
    return reply.find("primary") != std::string::npos ? "primary" : "standby";
  }

  site_record newest_site() {
    auto db = persistence::sqlite_store::open(db_path());
    EXPECT_TRUE(db) << (db ? "" : describe(db.error()));
    if (!db)
      return {};
    auto rows = (*db)->list_sites(site_query{0, 1, false});
    EXPECT_TRUE(rows && !rows->empty());
    return rows && !rows->empty() ? rows->front() : site_record{};
  }

  std::size_t site_count() {
    auto db = persistence::sqlite_store::open(db_path());
    auto rows = db ? (*db)->list_sites(site_query{0, 100, false}) : site_record_list{};
    return rows ? rows->size() : 0;
  }

  /// The participant row of `service`; an empty one (and a failure) if there is none.
  const site_participant& participant(const site_record& r, const std::string& service) {
    for (const auto& p : r.participants)
      if (p.service.value == service)
        return p;
    ADD_FAILURE() << "no participant " << service << " in site switchover #" << r.id;
    static const site_participant none;
    return none;
  }

  void expect_on(const std::string& side) {
    for (const auto& svc : service_names) {
      EXPECT_EQ(role(svc + "-" + side), "primary") << svc;
      EXPECT_EQ(role(svc + "-" + std::string{side == "a" ? "b" : "a"}), "standby") << svc;
    }
  }

  // Dependencies first: every promote of db and cache precedes every app's.
  void expect_dependency_order(const std::string& log, const std::string& target_side) {
    auto first_app = std::min(lines_with(log, "promote app1 app1-" + target_side).at(0),
                              lines_with(log, "promote app2 app2-" + target_side).at(0));
    for (const char* dep : {"db", "cache"})
      EXPECT_LT(lines_with(log, fmt::format("promote {0} {0}-{1}", dep, target_side)).at(0),
                first_app)
          << log;
  }

  std::map<std::string, std::uint16_t> ports;
  std::map<std::string, std::unique_ptr<child_process>> instances;
};

TEST_F(site_switchover, moves_every_service_in_dependency_order_and_verifies) {
  start();
  auto assess = site_cli({"site", "assess", "--from", "dc1", "--to", "dc2"}, "viewer-token");
  ASSERT_EQ(assess.exit_code, 0) << assess.output;
  for (const auto& svc : service_names)
    EXPECT_NE(assess.output.find(svc), std::string::npos) << assess.output;
  EXPECT_EQ(site_count(), 0u) << "an assessment is not journaled";
  // A script must confirm with --yes, as for every mutating command.
  auto unconfirmed = cli({"site", "switchover", "--from", "dc1", "--to", "dc2"}, "operator-token");
  EXPECT_EQ(unconfirmed.exit_code, 1) << unconfirmed.output;
  EXPECT_NE(unconfirmed.output.find("add --yes"), std::string::npos) << unconfirmed.output;
  EXPECT_EQ(site_count(), 0u);
  EXPECT_TRUE(lines_with(read_file(actions_log), "prepare ").empty()) << "an assessment only reads";

  auto run =
      site_cli({"site", "switchover", "--yes", "--from", "dc1", "--to", "dc2", "--reason", "test"});
  ASSERT_EQ(run.exit_code, 0) << run.output << read_file(root + "/switchyardd.log");
  auto r = newest_site();
  EXPECT_EQ(r.state, site_state::completed) << r.detail;
  EXPECT_NE(r.decided_ms, 0);
  ASSERT_EQ(r.participants.size(), 4u) << "web has no instance on dc2 and no primary there";
  for (const auto& svc : service_names) {
    const auto* p = &participant(r, svc);
    EXPECT_EQ(p->state, participant_state::committed) << svc << ": " << p->detail;
    EXPECT_TRUE(p->verified) << svc;
    EXPECT_EQ(p->to.value, svc + "-b");
    EXPECT_NE(p->switchover.value, 0) << "each service has its own journaled switchover";
    bool integrity = false;
    for (const auto& c : p->checks)
      integrity |= c.name == "integrity:role-report" && c.ok &&
                   c.detail.find("role=primary") != std::string::npos;
    EXPECT_TRUE(integrity) << svc;
  }
  EXPECT_EQ(participant(r, "db").level, 0u);
  EXPECT_EQ(participant(r, "cache").level, 0u);
  EXPECT_EQ(participant(r, "app1").level, 1u);
  EXPECT_EQ(participant(r, "app2").level, 1u);
  expect_on("b");
  auto log = read_file(actions_log);
  expect_dependency_order(log, "b");
  EXPECT_EQ(lines_with(log, "prepare ").size(), 4u) << log;
  EXPECT_TRUE(lines_with(log, "unprepare").empty()) << log;
  // The audit trail has the call.
  auto audit = cli({"audit"}, "admin-token");
  EXPECT_NE(audit.output.find("SiteSwitchover"), std::string::npos) << audit.output;
}

TEST_F(site_switchover, a_failing_prepare_aborts_everything_and_changes_nothing) {
  start();
  std::ofstream(root + "/fail-prepare-app2") << "no capacity on dc2\n";
  auto run = site_cli({"site", "switchover", "--yes", "--from", "dc1", "--to", "dc2"});
  EXPECT_NE(run.exit_code, 0) << run.output;
  auto r = newest_site();
  EXPECT_EQ(r.state, site_state::aborted);
  EXPECT_EQ(r.decided_ms, 0) << "no commit decision";
  EXPECT_EQ(participant(r, "app2").state, participant_state::prepare_failed);
  for (const char* svc : {"db", "cache", "app1"})
    EXPECT_EQ(participant(r, svc).state, participant_state::aborted) << svc;
  expect_on("a");
  auto log = read_file(actions_log);
  EXPECT_TRUE(lines_with(log, "promote ").empty()) << log;
  EXPECT_TRUE(lines_with(log, "demote ").empty()) << log;
  // What was prepared was rolled back.
  for (const char* svc : {"db", "cache", "app1"})
    EXPECT_EQ(lines_with(log, fmt::format("unprepare {}", svc)).size(), 1u) << svc << "\n" << log;
  // Released: a single-service switchover works again.
  auto one = cli({"switchover", "--yes", "db", "--reason", "released"}, "operator-token");
  EXPECT_EQ(one.exit_code, 0) << one.output;
}

TEST_F(site_switchover, killed_after_the_commit_decision_it_completes_on_restart) {
  ::setenv("SWITCHYARD_FAULT_AT", "site_committed", 1);
  daemon = start_daemon(root + "/switchyardd-1.log");
  ::unsetenv("SWITCHYARD_FAULT_AT");
  wait_all_healthy();
  auto run = site_cli({"site", "switchover", "--yes", "--from", "dc1", "--to", "dc2"});
  EXPECT_NE(run.exit_code, 0) << "switchyardd died under it";
  EXPECT_EQ(daemon->wait_for_exit(10s), 128 + SIGKILL) << "killed by its fault injection";
  daemon.reset();
  auto before = newest_site();
  EXPECT_EQ(before.state, site_state::committed);
  expect_on("a"); // nothing was switched before the kill

  daemon = start_daemon(root + "/switchyardd-2.log");
  ASSERT_TRUE(wait_until([&] { return newest_site().state == site_state::completed; }, 60s))
      << newest_site().detail << read_file(root + "/switchyardd-2.log");
  expect_on("b");
  expect_dependency_order(read_file(actions_log), "b");
  EXPECT_EQ(site_count(), 1u);
}

TEST_F(site_switchover, killed_before_the_decision_it_aborts_cleanly_on_restart) {
  ::setenv("SWITCHYARD_FAULT_AT", "site_prepared", 1);
  daemon = start_daemon(root + "/switchyardd-1.log");
  ::unsetenv("SWITCHYARD_FAULT_AT");
  wait_all_healthy();
  auto run = site_cli({"site", "switchover", "--yes", "--from", "dc1", "--to", "dc2"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_EQ(daemon->wait_for_exit(10s), 128 + SIGKILL) << "killed by its fault injection";
  daemon.reset();
  EXPECT_EQ(newest_site().state, site_state::preparing);

  daemon = start_daemon(root + "/switchyardd-2.log");
  ASSERT_TRUE(wait_until([&] { return newest_site().state == site_state::aborted; }, 30s))
      << read_file(root + "/switchyardd-2.log");
  expect_on("a");
  auto log = read_file(actions_log);
  EXPECT_TRUE(lines_with(log, "promote ").empty()) << log;
  for (const auto& svc : service_names)
    EXPECT_GE(lines_with(log, "unprepare " + svc).size(), 1u) << svc << "\n" << log;
  // Nothing stays reserved: a site switchover runs now.
  wait_all_healthy();
  auto again = site_cli({"site", "switchover", "--yes", "--from", "dc1", "--to", "dc2"});
  EXPECT_EQ(again.exit_code, 0) << again.output << read_file(root + "/switchyardd-2.log");
  expect_on("b");
}

TEST_F(site_switchover, a_drill_measures_rto_and_rpo_and_fails_back_to_where_it_started) {
  start();
  auto run = site_cli({"drill", "--yes", "--site", "dc2"});
  ASSERT_EQ(run.exit_code, 0) << run.output << read_file(root + "/switchyardd.log");
  expect_on("a");
  auto db = persistence::sqlite_store::open(db_path());
  ASSERT_TRUE(db);
  auto drills = (*db)->list_drills(drill_query{0, 5});
  ASSERT_TRUE(drills && drills->size() == 1u);
  const auto& d = drills->front();
  EXPECT_TRUE(d.passed) << d.detail;
  EXPECT_TRUE(d.topology_restored);
  EXPECT_EQ(d.from_site, "dc1");
  EXPECT_EQ(d.to_site, "dc2");
  EXPECT_NE(d.failback_switchover, 0);
  ASSERT_EQ(d.services.size(), 4u);
  for (const auto& s : d.services) {
    EXPECT_TRUE(s.passed) << s.service.value << ": " << s.detail;
    EXPECT_GE(s.rto_ms, 0);
    EXPECT_LE(s.rto_ms, d.rto_ms);
    EXPECT_EQ(s.rpo, -1) << "no position action: RPO unknown, not invented";
    EXPECT_GE(s.steps.size(), 3u) << "demote, promote, verify timed from the journal";
  }
  auto json = cli({"drill", "report", std::to_string(d.id), "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.output;
  auto parsed = nlohmann::json::parse(json.output, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << json.output;
  auto md = cli({"drill", "report", std::to_string(d.id), "--format", "markdown"});
  ASSERT_EQ(md.exit_code, 0) << md.output;
  EXPECT_NE(md.output.find("PASS"), std::string::npos) << md.output;
  // The last drill of each drilled service, for the status; web never was.
  auto last = (*db)->last_drills();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->size(), 4u);
  for (const auto& s : *last) {
    EXPECT_NE(s.service.value, "web");
    EXPECT_EQ(s.drill, d.id);
    EXPECT_TRUE(s.passed);
  }
}

TEST_F(site_switchover, failback_is_refused_while_the_old_site_is_unhealthy) {
  start();
  auto run = site_cli({"site", "switchover", "--yes", "--from", "dc1", "--to", "dc2"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  instances["db-a"]->signal(SIGKILL);
  ASSERT_TRUE(wait_until(
      [&] { return cli({"services"}).output.find("1/2 healthy") != std::string::npos; }, 10s));
  auto back = site_cli({"site", "failback", "--yes", "--from", "dc2", "--to", "dc1"});
  EXPECT_NE(back.exit_code, 0) << back.output;
  EXPECT_NE(back.output.find("db-a"), std::string::npos) << back.output;
  EXPECT_EQ(site_count(), 1u) << "a refused failback changes nothing";
  for (const auto& svc : service_names)
    EXPECT_EQ(role(svc + "-b"), "primary") << svc;
}

TEST_F(site_switchover, failback_is_refused_while_data_that_diverged_is_not_resolved) {
  start();
  auto run = site_cli({"site", "switchover", "--yes", "--from", "dc1", "--to", "dc2"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  {
    // cache-a, back as a replica on dc1, held writes the new primary never got
    // (what the redis rejoin records; written here as switchyardd would).
    auto db = persistence::sqlite_store::open(db_path());
    ASSERT_TRUE(db);
    failure_detection d;
    d.service = service_id{"cache"};
    d.instance = instance_id{"cache-a"};
    d.type = failure_type::diverged;
    d.level = severity::critical;
    d.evidence = "312 bytes past the promotion point";
    d.at = caf::make_timestamp();
    ASSERT_TRUE((*db)->record_detection(d));
  }
  auto back = site_cli({"site", "failback", "--yes", "--from", "dc2", "--to", "dc1"});
  EXPECT_EQ(back.exit_code, 5) << back.output;
  EXPECT_NE(back.output.find("cache-a holds data that diverged"), std::string::npos) << back.output;
  EXPECT_NE(back.output.find("--accept-divergence"), std::string::npos) << back.output;
  EXPECT_EQ(site_count(), 1u) << "refused: nothing journaled, nothing changed";
  expect_on("b");
  // The operator resolved it and says so: the failback runs.
  auto accepted = site_cli(
      {"site", "failback", "--yes", "--accept-divergence", "--from", "dc2", "--to", "dc1"});
  EXPECT_EQ(accepted.exit_code, 0) << accepted.output;
  EXPECT_EQ(newest_site().operation, site_operation::failback);
  expect_on("a");
  auto audit = cli({"audit"}, "admin-token");
  EXPECT_NE(audit.output.find("accept_divergence"), std::string::npos) << audit.output;
}

} // namespace

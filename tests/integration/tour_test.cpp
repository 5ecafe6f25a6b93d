// The README's tour on the shipped demo configuration: config/examples/demo.yaml
// as it is, with its ports, data folder and metrics port replaced by free ones
// (and verify_timeout shortened), four real demo_service instances, a real
// switchyardd, the real CLI and the real SQLite file. Kill web-a, bring it back,
// run a DR drill; the drills that must not pass or must not start; a second
// run's roles (scripts/demo-roles.sh); the downtime of the failover.
#include <csignal>
#include <fstream>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "messages/error.hpp"
#include "persistence/sqlite_store.hpp"
#include "tests/integration/deployment.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using switchyard::testing::child_process;
using switchyard::testing::free_port;
using switchyard::testing::http_request;
using switchyard::testing::read_file;
using switchyard::testing::wait_until;

namespace {

const std::string source_dir = SWITCHYARD_SOURCE_DIR;

// Replaces every `from` in `text`; the number of replacements.
int replace_all(std::string& text, const std::string& from, const std::string& to) {
  int n = 0;
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
    ++n;
  }
  return n;
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct run_result {
  int exit_code = -1;
  std::string output;
};

class demo_tour : public ::testing::Test {
protected:
  void SetUp() override {
    root = dir.str();
    yaml = read_file(source_dir + "/config/examples/demo.yaml");
    ASSERT_FALSE(yaml.empty());
    const std::pair<const char*, const char*> demo_ports[] = {
        {"web-a", "18081"}, {"web-b", "18082"}, {"db-a", "18083"}, {"db-b", "18084"}};
    for (const auto& [name, port] : demo_ports) {
      ports[name] = free_port();
      ASSERT_EQ(replace_all(yaml, fmt::format("127.0.0.1:{}", port),
                            fmt::format("127.0.0.1:{}", ports[name])),
                1)
          << name;
    }
    api_port = free_port();
    ASSERT_EQ(replace_all(yaml, "127.0.0.1:7400", fmt::format("127.0.0.1:{}", api_port)), 1);
    ASSERT_EQ(replace_all(yaml, "data_dir: ../../data", "data_dir: data"), 1);
    ASSERT_EQ(replace_all(yaml, "  log_level: info\n",
                          "  log_level: debug\n  metrics_listen: 127.0.0.1:0\n"
                          "  site_switchover: {verify_timeout: 5s}\n"),
              1);
    std::ofstream(root + "/demo-tokens.yaml")
        << read_file(source_dir + "/config/examples/demo-tokens.yaml");
  }

  void TearDown() override {
    if (daemon) {
      daemon->signal(SIGTERM);
      EXPECT_EQ(daemon->wait_for_exit(15s), 0);
    }
  }

  void start_instance(const std::string& name, const std::string& role) {
    if (ports.count(name) == 0)
      ports[name] = free_port();
    instances[name] = std::make_unique<child_process>(
        std::vector<std::string>{DEMO_SERVICE_PATH, "--name", name, "--port",
                                 std::to_string(ports[name]), "--role", role},
        root + "/" + name + ".log");
    auto port = ports[name];
    ASSERT_TRUE(
        wait_until([&] { return http_request("GET", port, "/health").rfind("200", 0) == 0; }, 10s))
        << name;
  }

  /// Step 1: the four instances in their configured roles, and switchyardd.
  void start(const std::string& healthy = "2/2 healthy", std::size_t services_healthy = 2) {
    std::ofstream(root + "/demo.yaml", std::ios::trunc) << yaml;
    for (const char* name : {"web-a", "db-a"})
      if (instances.count(name) == 0)
        start_instance(name, "primary");
    for (const char* name : {"web-b", "db-b"})
      if (instances.count(name) == 0)
        start_instance(name, "standby");
    start_daemon();
    wait_services(healthy, services_healthy);
  }

  void start_daemon() {
    daemon = std::make_unique<child_process>(
        std::vector<std::string>{SWITCHYARDD_PATH, "--config", root + "/demo.yaml"},
        root + "/switchyardd.log");
  }

  void wait_services(const std::string& part, std::size_t lines) {
    ASSERT_TRUE(
        wait_until([&] { return count_lines(cli({"services"}).output, part) == lines; }, 20s))
        << cli({"services"}).output << log();
  }

  // Lines, not occurrences: "healthy" is in a healthy service's line twice
  // (its primary's health and "3/3 healthy").
  static std::size_t count_lines(const std::string& text, const std::string& part) {
    return static_cast<std::size_t>(switchyard::testing::count_lines_with(text, part));
  }

  run_result cli(std::vector<std::string> args, const std::string& token = "demo-viewer-token") {
    std::vector<std::string> argv{SWITCHYARD_CLI_PATH, "--server",
                                  fmt::format("127.0.0.1:{}", api_port), "--token", token};
    argv.insert(argv.end(), args.begin(), args.end());
    auto out = fmt::format("{}/cli-{}.out", root, ++calls);
    child_process p(argv, out);
    run_result r;
    r.exit_code = p.wait_for_exit(60s);
    r.output = read_file(out);
    return r;
  }

  /// `bash scripts/demo-roles.sh ARGS...`, as run-demo.sh uses it.
  run_result demo_role(const std::string& db, const std::string& service,
                       const std::string& instance, const std::string& configured) {
    auto out = fmt::format("{}/roles-{}.out", root, ++calls);
    child_process p(
        {"/bin/bash", source_dir + "/scripts/demo-roles.sh", db, service, instance, configured},
        out);
    run_result r;
    r.exit_code = p.wait_for_exit(10s);
    r.output = read_file(out);
    return r;
  }

  /// Step 2: kill -9 the primary of web; it fails over to web-b.
  void kill_web_a_and_fail_over() {
    instances["web-a"]->signal(SIGKILL);
    ASSERT_EQ(instances["web-a"]->wait_for_exit(5s), 128 + SIGKILL);
    ASSERT_TRUE(wait_until(
        [&] { return cli({"switchovers"}).output.find("completed") != std::string::npos; }, 20s))
        << log();
    EXPECT_EQ(role("web-b"), "primary");
  }

  std::string role(const std::string& instance) {
    auto reply = http_request("GET", ports[instance], "/role");
    return reply.find("primary") != std::string::npos   ? "primary"
           : reply.find("standby") != std::string::npos ? "standby"
                                                        : "down";
  }

  /// The `switchyard services` line of `service`.
  std::string services_line(const std::string& service) {
    auto out = cli({"services"}).output;
    for (auto at = out.find('\n'); at != std::string::npos; at = out.find('\n', at + 1))
      if (out.compare(at + 1, service.size() + 1, service + " ") == 0)
        return out.substr(at + 1, out.find('\n', at + 1) - at - 1);
    return {};
  }

  drill_report_list drills() {
    auto db = persistence::sqlite_store::open(db_path());
    EXPECT_TRUE(db) << (db ? "" : describe(db.error()));
    if (!db)
      return {};
    auto rows = (*db)->list_drills(drill_query{0, 10});
    return rows ? *rows : drill_report_list{};
  }

  std::string db_path() const { return root + "/data/switchyard.db"; }
  std::string log() const { return read_file(root + "/switchyardd.log"); }

  switchyard::testing::temp_dir dir;
  std::string root;
  std::string yaml; ///< demo.yaml with free ports; a test may change it before start()
  std::uint16_t api_port = 0;
  std::map<std::string, std::uint16_t> ports;
  std::map<std::string, std::unique_ptr<child_process>> instances;
  std::unique_ptr<child_process> daemon;
  int calls = 0;
};

} // namespace

TEST_F(demo_tour, the_tour_works_as_written) {
  start();
  kill_web_a_and_fail_over();
  // Step 3: web-a back, as the README says: healthy again, and rejoined as a standby.
  start_instance("web-a", "standby");
  ASSERT_TRUE(wait_until([&] { return log().find("web-a rejoin done") != std::string::npos; }, 20s))
      << log();
  wait_services("2/2 healthy", 2);
  EXPECT_EQ(role("web-a"), "standby");
  EXPECT_EQ(role("web-b"), "primary");
  auto web = cli({"service", "web"}).output;
  EXPECT_NE(web.find("returned"), std::string::npos) << web;
  // Step 5: the assessment and the drill, as written.
  auto assess = cli({"site", "assess", "--from", "dc1", "--to", "dc2"}, "demo-operator-token");
  ASSERT_EQ(assess.exit_code, 0) << assess.output;
  EXPECT_NE(assess.output.find("Can run now: yes"), std::string::npos) << assess.output;
  EXPECT_EQ(assess.output.find("warning"), std::string::npos) << assess.output;
  auto drill = cli({"drill", "--site", "dc2", "--yes"}, "demo-operator-token");
  ASSERT_EQ(drill.exit_code, 0) << drill.output << log();
  EXPECT_NE(drill.output.find(": PASS"), std::string::npos) << drill.output;
  EXPECT_NE(drill.output.find("topology restored: yes"), std::string::npos) << drill.output;
  auto report = cli({"drill", "report", "1", "--format", "markdown"});
  EXPECT_NE(report.output.find("**Result: PASS**"), std::string::npos) << report.output;
  EXPECT_EQ(role("db-a"), "primary");
  EXPECT_EQ(role("web-b"), "primary") << "web started on dc2: the drill leaves it there";
  EXPECT_NE(services_line("db").find("PASS"), std::string::npos) << services_line("db");
}

// The tour's step 5 right after step 2 (web-a still dead): web's primary is
// on dc2 already, so the drill moves db alone, and back. It used to drag web
// into the failback (no healthy target on dc1), fail after waiting, leave db
// on dc2 and still show db's LAST DRILL as PASS.
TEST_F(demo_tour, a_drill_after_the_failover_moves_only_db_and_brings_it_back) {
  start();
  kill_web_a_and_fail_over();
  auto drill = cli({"drill", "--site", "dc2", "--yes"}, "demo-operator-token");
  EXPECT_EQ(drill.exit_code, 0) << drill.output << log();
  auto all = drills();
  ASSERT_EQ(all.size(), 1u);
  const auto& d = all.front();
  EXPECT_TRUE(d.passed) << d.detail;
  EXPECT_TRUE(d.topology_restored) << d.detail;
  ASSERT_EQ(d.services.size(), 1u);
  EXPECT_EQ(d.services[0].service.value, "db");
  EXPECT_EQ(role("db-a"), "primary") << "db is back where it started";
  EXPECT_EQ(role("db-b"), "standby");
  EXPECT_EQ(role("web-b"), "primary");
}

// A drill must not start when its way back cannot run: db-c (a third db
// instance on dc1) is down, and a failback to dc1 needs all of dc1 healthy.
TEST_F(demo_tour, a_drill_whose_failback_could_not_run_is_refused_before_anything_moves) {
  ports["db-c"] = free_port();
  ASSERT_EQ(replace_all(yaml, "site: dc2, role: standby, priority: 90}\n",
                        fmt::format("site: dc2, role: standby, priority: 90}}\n      - {{name: "
                                    "db-c, address: 127.0.0.1:{}, site: dc1, role: standby, "
                                    "priority: 80}}\n",
                                    ports["db-c"])),
            1);
  start_instance("db-c", "standby");
  start("healthy", 2);
  wait_services("3/3 healthy", 1);
  instances["db-c"]->signal(SIGKILL);
  wait_services("2/3 healthy", 1);

  // A plain site switchover can run (moving away from trouble is what it is
  // for), with a warning that it could not come back now.
  auto assess = cli({"site", "assess", "--from", "dc1", "--to", "dc2"});
  ASSERT_EQ(assess.exit_code, 0) << assess.output;
  EXPECT_NE(assess.output.find("Can run now: yes"), std::string::npos) << assess.output;
  EXPECT_NE(assess.output.find("warning: a failback to site dc1 could not run now"),
            std::string::npos)
      << assess.output;
  EXPECT_NE(assess.output.find("db: db-c is unhealthy"), std::string::npos) << assess.output;

  auto drill = cli({"drill", "--site", "dc2", "--yes"}, "demo-operator-token");
  EXPECT_EQ(drill.exit_code, 5) << drill.output; // failed precondition
  EXPECT_NE(drill.output.find("its failback to site dc1 could not run: db-c is unhealthy"),
            std::string::npos)
      << drill.output;
  EXPECT_TRUE(drills().empty()) << "refused: no drill recorded";
  EXPECT_EQ(role("db-a"), "primary") << "nothing moved";
  EXPECT_EQ(role("web-a"), "primary");
  EXPECT_NE(services_line("db").find("NEVER"), std::string::npos) << services_line("db");
}

// A drill whose failback fails (db's prepare refuses db-a) leaves the
// services on dc2: it failed, and no view may call any of it a pass.
TEST_F(demo_tour, a_drill_whose_failback_fails_shows_fail_everywhere) {
  ASSERT_EQ(replace_all(
                yaml, R"(command: echo "db will move to $SWITCHYARD_TARGET")",
                fmt::format(R"(command: test ! -f {}/refuse-$SWITCHYARD_TARGET && echo ok)", root)),
            1);
  std::ofstream(root + "/refuse-db-a") << "dc1 has no capacity\n";
  start();
  auto drill = cli({"drill", "--site", "dc2", "--yes"}, "demo-operator-token");
  EXPECT_NE(drill.output.find(": FAIL"), std::string::npos) << drill.output << log();
  EXPECT_EQ(drill.output.find("PASS"), std::string::npos) << drill.output;
  EXPECT_EQ(role("db-b"), "primary") << "the failback did not run";

  auto all = drills();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_FALSE(all.front().passed);
  EXPECT_FALSE(all.front().services.empty());
  for (const auto& s : all.front().services) {
    EXPECT_FALSE(s.passed) << s.service.value;
    EXPECT_NE(s.detail.find("the drill failed"), std::string::npos) << s.detail;
  }
  auto md = cli({"drill", "report", "1", "--format", "markdown"}).output;
  EXPECT_EQ(md.find("PASS"), std::string::npos) << md;
  auto json = nlohmann::json::parse(cli({"drill", "report", "1", "--format", "json"}).output,
                                    nullptr, false);
  ASSERT_FALSE(json.is_discarded());
  for (const char* service : {"db", "web"}) {
    auto line = services_line(service);
    EXPECT_NE(line.find("FAIL"), std::string::npos) << line;
    EXPECT_EQ(line.find("PASS"), std::string::npos) << line;
    auto one = cli({"service", service}).output;
    EXPECT_NE(one.find("last DR drill: #1"), std::string::npos) << one;
    EXPECT_NE(one.find("FAILED"), std::string::npos) << one;
  }
  auto listed = nlohmann::json::parse(cli({"--output", "json", "services"}).output);
  for (const auto& s : listed["services"])
    EXPECT_EQ(s.value("last_drill_passed", false), false) << s.dump();
}

// Step 6: a second run. switchyardd takes web's primary from the database;
// scripts/demo-roles.sh (which run-demo.sh uses) says the same, so each
// instance starts in the role switchyardd holds.
TEST_F(demo_tour, a_second_run_starts_each_instance_in_the_role_the_database_holds) {
  // Before any run there is no database: the configuration's roles.
  EXPECT_EQ(demo_role(db_path(), "web", "web-a", "primary").output, "primary\n");
  EXPECT_EQ(demo_role(db_path(), "web", "web-b", "standby").output, "standby\n");
  start();
  kill_web_a_and_fail_over();
  daemon->signal(SIGTERM); // Ctrl-C
  ASSERT_EQ(daemon->wait_for_exit(15s), 0);
  daemon.reset();
  std::map<std::string, std::pair<std::string, std::string>> expected{
      {"web-a", {"primary", "standby"}},
      {"web-b", {"standby", "primary"}},
      {"db-a", {"primary", "primary"}},
      {"db-b", {"standby", "standby"}}};
  for (const auto& [name, roles] : expected) {
    auto r = demo_role(db_path(), name.substr(0, name.find('-')), name, roles.first);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output, roles.second + "\n") << name;
  }
  // The run again, in those roles: web-b stays primary, web-a a healthy standby.
  instances["web-b"]->signal(SIGTERM);
  ASSERT_GE(instances["web-b"]->wait_for_exit(5s), 0);
  start_instance("web-a", demo_role(db_path(), "web", "web-a", "primary").output == "standby\n"
                              ? "standby"
                              : "primary");
  start_instance("web-b", demo_role(db_path(), "web", "web-b", "standby").output == "primary\n"
                              ? "primary"
                              : "standby");
  start_daemon();
  wait_services("2/2 healthy", 2);
  EXPECT_NE(services_line("web").find("web-b"), std::string::npos) << services_line("web");
  EXPECT_EQ(role("web-b"), "primary");
  EXPECT_EQ(role("web-a"), "standby");
}

// Availability: the service was down from web-a's first failed probe (after
// the kill) to the end of the failover, detection time included.
TEST_F(demo_tour, the_downtime_of_a_failover_counts_from_the_first_failed_probe) {
  start();
  auto killed_ms = wall_ms();
  kill_web_a_and_fail_over();
  auto db = persistence::sqlite_store::open(db_path());
  ASSERT_TRUE(db) << describe(db.error());
  auto sw = (*db)->get_switchover(switchover_id{1});
  ASSERT_TRUE(sw) << describe(sw.error());
  auto finished_ms = sw->switchover.finished_at_ms;
  ASSERT_GT(finished_ms, killed_ms);
  auto detections = (*db)->list_detections("web");
  ASSERT_TRUE(detections && !detections->empty());
  std::int64_t detected_ms = 0; // web-a's unhealthy transition (fall: 2 probes, 500 ms apart)
  for (const auto& d : *detections)
    if (d.instance.value == "web-a" && d.type == failure_type::unreachable)
      detected_ms = d.at_ms;
  ASSERT_GT(detected_ms, killed_ms);
  auto rows = (*db)->availability("web", wall_ms());
  ASSERT_TRUE(rows) << describe(rows.error());
  std::int64_t down_ms = -1;
  for (const auto& r : *rows)
    if (r.instance.value.empty() && r.window == "1h")
      down_ms = r.down_ms;
  // Detection took a probe interval (500 ms, jitter 50 ms) at least; the
  // outage is longer than detection-to-failover by about that much...
  EXPECT_GE(down_ms, finished_ms - detected_ms + 300)
      << "detected " << detected_ms - killed_ms << " ms after the kill, failed over "
      << finished_ms - killed_ms << " ms after it";
  // ...and no longer than the time since the kill.
  EXPECT_LE(down_ms, finished_ms - killed_ms);
}

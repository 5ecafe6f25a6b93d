// Hardening through the real binaries: --check-config on a device file,
// global CLI options after the command, "did you mean" for an unknown command,
// an UNAVAILABLE answered by switchyardd told apart from an unreachable one,
// the supervisor's restart counters present from the start, and a data
// folder switchyardd cannot write being a start-up failure (exit 3).
#include <regex>

#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "tests/integration/cli_fixture.hpp"

using namespace std::chrono_literals;
using namespace switchyard::testing;

namespace {

/// Runs argv to its end (at most `limit`), returning its exit code and output.
cli_result run(const std::vector<std::string>& argv, const std::string& log,
               std::chrono::milliseconds limit = 20s) {
  child_process p(argv, log);
  cli_result r;
  r.exit_code = p.wait_for_exit(limit);
  r.output = read_file(log);
  return r;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

// -- item 8: configuration files that are not regular files -----------------

TEST(check_config, refuses_device_files_at_once_and_names_them) {
  temp_dir dir;
  for (const std::string dev : {"/dev/zero", "/dev/urandom"}) {
    auto r = run({SWITCHYARDD_PATH, "--check-config", dev}, dir.str() + "/check.log", 10s);
    EXPECT_EQ(r.exit_code, 1) << dev << "\n" << r.output; // -1: still reading after 10 s
    EXPECT_TRUE(contains(r.output, dev + ":0:0: (file): cannot read: it is a character device, "
                                         "not a regular file"))
        << r.output;
  }
}

// -- item 12 and 14(b): the command line -------------------------------------

TEST(cli_command_line, an_unknown_command_suggests_the_closest) {
  temp_dir dir;
  auto log = dir.str() + "/cli.log";
  auto r = run({SWITCHYARD_CLI_PATH, "export"}, log);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "switchyard: unknown command 'export', did you mean "
                                 "`plans export`?"))
      << r.output;
  EXPECT_FALSE(contains(r.output, "not expected")) << r.output;

  r = run({SWITCHYARD_CLI_PATH, "--server", "127.0.0.1:1", "sevices", "-o", "json"}, log);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "unknown command 'sevices', did you mean `services`?"))
      << r.output;

  r = run({SWITCHYARD_CLI_PATH, "site", "asess", "--from", "dc1", "--to", "dc2"}, log);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "unknown command 'site asess', did you mean `site assess`?"))
      << r.output;

  r = run({SWITCHYARD_CLI_PATH, "frobnicate"}, log);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "unknown command 'frobnicate'; switchyard --help lists them"))
      << r.output;
}

TEST(cli_command_line, a_token_or_tls_file_that_is_a_device_is_refused_at_once) {
  temp_dir dir;
  auto log = dir.str() + "/cli.log";
  auto r = run({SWITCHYARD_CLI_PATH, "--token-file", "/dev/zero", "status"}, log, 10s);
  EXPECT_EQ(r.exit_code, 1) << r.output; // -1: still reading after 10 s
  EXPECT_TRUE(contains(r.output, "switchyard: cannot read token file /dev/zero: it is a character "
                                 "device, not a regular file"))
      << r.output;
  r = run({SWITCHYARD_CLI_PATH, "status", "--tls-ca", "/dev/urandom"}, log, 10s);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "--tls-ca (or SWITCHYARD_TLS_CA): cannot read /dev/urandom: it "
                                 "is a character device, not a regular file"))
      << r.output;
}

TEST_F(cli_integration, global_options_work_after_the_command) {
  daemon = start_daemon(root + "/switchyardd.log");
  ASSERT_TRUE(wait_until([&] { return cli({"status"}).exit_code == 0; }, 15s))
      << read_file(root + "/switchyardd.log");
  auto server = "127.0.0.1:" + std::to_string(api_port);
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"services", "--output", "json"},
                                             {"services", "-o", "json"},
                                             {"services", "--output=json"},
                                             {"switchovers", "--limit", "5", "-o", "json"}}) {
    auto r = cli(args);
    ASSERT_EQ(r.exit_code, 0) << args[0] << "\n" << r.output;
    EXPECT_TRUE(nlohmann::json::accept(r.output)) << r.output;
  }
  // Connection options after the command too, nothing before it.
  auto r = run({SWITCHYARD_CLI_PATH, "services", "--server", server, "--token", "viewer-token",
                "--timeout", "10", "--output", "json"},
               root + "/after.log");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto doc = nlohmann::json::parse(r.output);
  EXPECT_EQ(doc["services"][0]["name"], "web") << r.output;
  r = run({SWITCHYARD_CLI_PATH, "site", "list", "--server", server, "--token", "viewer-token", "-o",
           "json"},
          root + "/after-nested.log");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(nlohmann::json::accept(r.output)) << r.output;
}

// -- item 14(e): UNAVAILABLE from switchyardd is not "cannot reach" ----------

TEST_F(cli_integration, an_unavailable_answer_is_not_reported_as_unreachable) {
  daemon = start_daemon(root + "/switchyardd.log");
  ASSERT_TRUE(wait_until([&] { return cli({"status"}).exit_code == 0; }, 15s))
      << read_file(root + "/switchyardd.log");

  // Another writer holds the database's write lock: switchyardd cannot write
  // the audit row of the call, so it answers UNAVAILABLE and changes nothing.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto r = cli({"maintenance", "on", "web", "--reason", "test", "--yes", "--timeout", "30"},
               "operator-token");
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(
      contains(r.output, "switchyard: switchyardd at 127.0.0.1:" + std::to_string(api_port) +
                             " answered that it cannot do this now (unavailable): "
                             "the audit trail cannot be written"))
      << r.output;
  EXPECT_FALSE(contains(r.output, "cannot reach")) << r.output;
  EXPECT_FALSE(contains(r.output, "is it running")) << r.output;

  // No daemon at all: that one is "cannot reach".
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait_for_exit(15s), 0);
  daemon.reset();
  r = cli({"status"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(
      contains(r.output, "cannot reach switchyardd at 127.0.0.1:" + std::to_string(api_port)))
      << r.output;
  EXPECT_FALSE(contains(r.output, "answered")) << r.output;
}

// -- item 14(a): restart counters exist before the first restart -------------

TEST_F(cli_integration, supervisor_restart_counters_are_zero_from_the_start) {
  daemon = start_daemon(root + "/switchyardd.log");
  static const std::regex line{R"(metrics: GET /metrics on \S+ \(port (\d+)\))"};
  std::uint16_t port = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        std::smatch m;
        auto text = read_file(root + "/switchyardd.log");
        if (!std::regex_search(text, m, line))
          return false;
        port = static_cast<std::uint16_t>(std::stoi(m[1].str()));
        return true;
      },
      15s))
      << read_file(root + "/switchyardd.log");
  auto body = http_request("GET", port, "/metrics");
  ASSERT_EQ(body.rfind("200 ", 0), 0u) << body.substr(0, 200);
  for (const char* child : {"store", "event_hub", "failure_classifier", "performance_monitor",
                            "failover_runner", "failover_coordinator", "site_coordinator",
                            "health_checker web/web-a", "health_checker web/web-b"})
    EXPECT_TRUE(contains(body, std::string("switchyard_supervisor_restarts_total{child=\"") +
                                   child + "\"} 0\n"))
        << child << "\n"
        << body;
}

// -- item 14(d): a data folder switchyardd cannot write -----------------------

TEST_F(cli_integration, a_database_path_that_is_a_folder_exits_3_with_the_reason) {
  std::filesystem::create_directories(db_path()); // switchyard.db is a folder: EISDIR
  auto r = run({SWITCHYARDD_PATH, "--config", root + "/switchyard.yaml"}, root + "/d.log", 30s);
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_TRUE(contains(r.output, "cannot create/open database " + db_path() + ": Is a directory"))
      << r.output;
}

TEST_F(cli_integration, a_read_only_data_folder_exits_3_with_the_reason) {
  // A read-only tmpfs over data/ in a private mount namespace: EROFS even for root.
  if (run({"/usr/bin/unshare", "-m", "/bin/true"}, root + "/probe.log", 10s).exit_code != 0)
    GTEST_SKIP() << "needs unshare -m (CAP_SYS_ADMIN) for a read-only mount";
  std::filesystem::create_directories(root + "/data");
  auto r = run({"/usr/bin/unshare", "-m", "/bin/sh", "-c",
                "mount -t tmpfs -o ro tmpfs \"$1\" && exec \"$2\" --config \"$3\"", "sh",
                root + "/data", SWITCHYARDD_PATH, root + "/switchyard.yaml"},
               root + "/ro.log", 30s);
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_TRUE(
      contains(r.output, "cannot create/open database " + db_path() + ": Read-only file system"))
      << r.output;
}

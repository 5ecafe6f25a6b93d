// Operator actions through the real CLI against a real switchyardd:
// maintenance (persisted, suppresses automatic failover, expires), forced
// failover (skips demote, never fencing), live events (in order; a stalled
// watcher does not delay a switchover) and plan export in all four formats.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "tests/integration/cli_fixture.hpp"
#include "tests/support/silent_listener.hpp"

using namespace std::chrono_literals;
using switchyard::testing::child_process;
using switchyard::testing::cli_integration;
using switchyard::testing::read_file;
using switchyard::testing::wait_until;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The JSON lines of a watcher's output (its stderr notes are skipped).
std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line.front() == '{')
      out.push_back(nlohmann::json::parse(line));
  return out;
}

class operations : public cli_integration {
protected:
  void start_healthy() {
    daemon = start_daemon(root + "/switchyardd.log");
    ASSERT_TRUE(wait_until([&] { return contains(cli({"services"}).output, "2/2 healthy"); }, 15s))
        << read_file(root + "/switchyardd.log");
  }

  std::string log() const { return read_file(root + "/switchyardd.log"); }
};

} // namespace

TEST_F(operations, maintenance_suppresses_automatic_failover_survives_a_restart_and_ends) {
  start_healthy();
  // Bad input first: each refused with a message, nothing changed.
  auto no_reason = cli({"maintenance", "on", "web", "--yes"}, "operator-token");
  EXPECT_EQ(no_reason.exit_code, 5) << no_reason.output;
  EXPECT_TRUE(contains(no_reason.output, "reason is required")) << no_reason.output;
  auto bad_duration = cli({"maintenance", "on", "web", "--reason", "x", "--for", "soon", "--yes"},
                          "operator-token");
  EXPECT_EQ(bad_duration.exit_code, 5);
  EXPECT_TRUE(contains(bad_duration.output, "'soon' is not a positive duration"))
      << bad_duration.output;
  auto unknown = cli({"maintenance", "on", "web", "--instance", "web-z", "--reason", "x", "--yes"},
                     "operator-token");
  EXPECT_EQ(unknown.exit_code, 4);
  EXPECT_EQ(cli({"maintenance", "on", "web", "--reason", "x", "--yes"}).exit_code, 3) << "viewer";
  auto unconfirmed = cli({"maintenance", "on", "web", "--reason", "x"}, "operator-token");
  EXPECT_EQ(unconfirmed.exit_code, 1) << "no terminal to ask on, no --yes";
  EXPECT_TRUE(contains(unconfirmed.output, "add --yes to confirm the maintenance change"))
      << unconfirmed.output;

  auto on =
      cli({"maintenance", "on", "web", "--reason", "storage upgrade", "--yes"}, "operator-token");
  ASSERT_EQ(on.exit_code, 0) << on.output;
  EXPECT_TRUE(contains(on.output, "service is in maintenance")) << on.output;
  EXPECT_TRUE(contains(cli({"services"}).output, "maintenance"));

  web_a->signal(SIGKILL);
  ASSERT_TRUE(wait_until(
      [&] {
        auto s = cli({"service", "web"}).output;
        return contains(s, "failover blocked") || contains(s, "blocked: service in maintenance");
      },
      15s))
      << cli({"service", "web"}).output << log();
  EXPECT_EQ(read_file(actions_log), "") << "no automatic action in maintenance";

  // The window is in SQLite: a restarted switchyardd still holds back.
  daemon->signal(SIGTERM);
  ASSERT_EQ(daemon->wait_for_exit(15s), 0);
  daemon = start_daemon(root + "/switchyardd-2.log");
  ASSERT_TRUE(wait_until(
      [&] {
        auto s = cli({"service", "web"}).output;
        return contains(s, "IN MAINTENANCE: storage upgrade (by test-operator") &&
               contains(s, "blocked: service in maintenance");
      },
      15s))
      << cli({"service", "web"}).output << read_file(root + "/switchyardd-2.log");
  EXPECT_EQ(read_file(actions_log), "");

  // Ending it lets the held-back failover go ahead: web-a is still down.
  auto off = cli({"maintenance", "off", "web", "--yes"}, "operator-token");
  ASSERT_EQ(off.exit_code, 0) << off.output;
  EXPECT_TRUE(contains(off.output, "out of maintenance")) << off.output;
  ASSERT_TRUE(wait_until([&] { return contains(cli({"switchovers"}).output, "completed"); }, 15s))
      << read_file(root + "/switchyardd-2.log");
  EXPECT_TRUE(contains(cli({"services"}).output, "web-b")) << cli({"services"}).output;

  auto audit = cli({"--output", "json", "audit"}, "admin-token");
  auto doc = nlohmann::json::parse(audit.output);
  int maintenance_rows = 0;
  for (const auto& e : doc["entries"])
    maintenance_rows += e["call"] == "SetMaintenance" ? 1 : 0;
  // 4 refusals + on (requested, outcome) + off (requested, outcome)
  EXPECT_EQ(maintenance_rows, 8) << audit.output;
}

TEST_F(operations, instance_maintenance_expires_by_itself) {
  start_healthy();
  // Long enough for the two calls below on a loaded machine (each starts a
  // CLI process), short enough to watch it expire.
  auto on = cli({"maintenance", "on", "web", "--instance", "web-b", "--reason", "patching", "--for",
                 "3s", "--yes"},
                "operator-token");
  ASSERT_EQ(on.exit_code, 0) << on.output;
  EXPECT_TRUE(contains(cli({"service", "web"}).output, "healthy (maintenance)"));
  // An instance in maintenance is no target for a switchover unless forced.
  auto refused = cli({"switchover", "web", "--dry-run"}, "operator-token");
  EXPECT_EQ(refused.exit_code, 5) << refused.output;
  EXPECT_TRUE(contains(refused.output, "no healthy standby")) << refused.output;
  ASSERT_TRUE(wait_until(
      [&] {
        return !contains(cli({"service", "web"}).output, "(maintenance)");
      },
      10s))
      << log();
  EXPECT_TRUE(contains(log(), "instance web-b out of maintenance: expired")) << log();
  EXPECT_EQ(cli({"switchover", "web", "--dry-run"}, "operator-token").exit_code, 0);
}

TEST_F(operations, forced_failover_skips_demote_but_never_fencing) {
  start_healthy();
  auto healthy = cli({"failover", "web", "--reason", "x", "--yes"}, "operator-token");
  EXPECT_EQ(healthy.exit_code, 5) << healthy.output;
  EXPECT_TRUE(contains(healthy.output, "primary web-a is healthy: use a planned switchover"))
      << healthy.output;

  // Maintenance keeps the automatic failover out of the way; an operator's
  // own failover is still allowed.
  ASSERT_EQ(
      cli({"maintenance", "on", "web", "--reason", "manual recovery", "--yes"}, "operator-token")
          .exit_code,
      0);
  web_a->signal(SIGKILL);
  ASSERT_TRUE(wait_until(
      [&] {
        return contains(cli({"service", "web"}).output, "unhealthy");
      },
      15s));
  auto dry = cli({"failover", "web", "--dry-run"}, "operator-token");
  EXPECT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_TRUE(contains(dry.output, "4 steps")) << dry.output;
  EXPECT_FALSE(contains(dry.output, "drain-old")) << dry.output;

  auto run = cli({"failover", "web", "--reason", "web-a host lost", "--yes"}, "operator-token");
  ASSERT_EQ(run.exit_code, 0) << run.output << log();
  EXPECT_TRUE(contains(run.output, "completed")) << run.output;
  auto actions = read_file(actions_log);
  EXPECT_FALSE(contains(actions, "drain-old")) << actions;
  EXPECT_TRUE(contains(actions, "fence fence-old")) << actions;
  EXPECT_TRUE(contains(actions, "promote promote-new")) << actions;
  auto journal = cli({"--output", "json", "switchovers", "1"});
  auto doc = nlohmann::json::parse(journal.output);
  EXPECT_EQ(doc["kind"], "forced_failover");
  EXPECT_EQ(doc["status"], "completed");
  EXPECT_EQ(doc["reason"], "forced by test-operator: web-a host lost");
  EXPECT_EQ(switchyard::testing::http_request("GET", port_b, "/role"), "200 primary\n");
}

TEST_F(operations, a_watcher_sees_a_switchover_in_order_and_a_stalled_one_delays_nothing) {
  start_healthy();
  auto watch = [&](const std::string& name, const std::string& output,
                   std::vector<std::string> filter) {
    std::vector<std::string> argv{SWITCHYARD_CLI_PATH, "--server",
                                  "127.0.0.1:" + std::to_string(api_port)};
    for (const char* a : {"--token", "viewer-token", "--output"})
      argv.emplace_back(a);
    argv.push_back(output);
    argv.emplace_back("events");
    argv.emplace_back("--follow");
    argv.insert(argv.end(), filter.begin(), filter.end());
    auto out = root + "/" + name + ".out";
    auto p = std::make_unique<child_process>(argv, out);
    EXPECT_TRUE(wait_until([&] { return contains(read_file(out), "watching events"); }, 10s))
        << read_file(out);
    return p;
  };
  auto follower = watch("follower", "json", {"--service", "web"});
  auto stalled = watch("stalled", "table", {});
  stalled->signal(SIGSTOP); // reads nothing from now on

  auto bad_kind = cli({"events", "--kind", "gossip"});
  EXPECT_EQ(bad_kind.exit_code, 5);
  EXPECT_TRUE(contains(bad_kind.output, "unknown event kind 'gossip'")) << bad_kind.output;

  auto run = cli({"switchover", "web", "--reason", "watched", "--yes"}, "operator-token");
  ASSERT_EQ(run.exit_code, 0) << run.output << log();
  ASSERT_TRUE(wait_until(
      [&] { return contains(read_file(root + "/follower.out"), "switchover #1 completed"); }, 10s))
      << read_file(root + "/follower.out");

  auto events = json_lines(read_file(root + "/follower.out"));
  std::vector<std::string> seen;
  std::uint64_t last = 0;
  for (const auto& e : events) {
    auto seq = std::stoull(e["sequence"].get<std::string>());
    EXPECT_GT(seq, last) << "sequence numbers increase";
    last = seq;
    EXPECT_EQ(e["service"], "web");
    auto kind = e["kind"].get<std::string>();
    if (kind == "switchover" || kind == "step" || kind == "decision")
      seen.push_back(kind + ": " + e["summary"].get<std::string>());
  }
  std::vector<std::string> expected_prefixes{
      "decision: switchover requested by test-operator",
      "switchover: planned_switchover #1 started: web-a -> web-b",
      "step: step 1 drain-old [demote] on web-a: started",
      "step: step 1 drain-old: done",
      "step: step 2 fence-old [fence] on web-a: started",
      "step: step 2 fence-old: done",
      "step: step 3 promote-new [promote] on web-b: started",
      "step: step 3 promote-new: done",
      "step: step 4 reroute [reroute] on web-b: started",
      "step: step 4 reroute: done",
      "step: step 5 verify-role [verify] on web-b: started",
      "step: step 5 verify-role: done",
      "switchover: switchover #1 completed: web-b is primary (epoch 2)"};
  ASSERT_GE(seen.size(), expected_prefixes.size()) << read_file(root + "/follower.out");
  for (std::size_t i = 0; i < expected_prefixes.size(); ++i)
    EXPECT_EQ(seen[i].rfind(expected_prefixes[i], 0), 0u)
        << "event " << i << ": " << seen[i] << "\nexpected: " << expected_prefixes[i];

  EXPECT_TRUE(stalled->running()) << "the stalled watcher was not in the way";
  stalled->signal(SIGCONT);
  stalled->signal(SIGTERM);
  EXPECT_NE(stalled->wait_for_exit(10s), -1);
  follower->signal(SIGTERM);
  EXPECT_NE(follower->wait_for_exit(10s), -1);
}

TEST_F(operations, plans_export_in_all_four_formats) {
  start_healthy();
  auto json = cli({"plans", "export", "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.output;
  auto doc = nlohmann::json::parse(json.output);
  ASSERT_EQ(doc["services"].size(), 1u);
  const auto& web = doc["services"][0];
  EXPECT_EQ(web["service"], "web");
  EXPECT_EQ(web["primary"], "web-a");
  EXPECT_EQ(web["plan"]["to"], "web-b");
  ASSERT_EQ(web["plan"]["steps"].size(), 4u) << "the failover plan: no demote";
  EXPECT_EQ(web["plan"]["steps"][1]["name"], "promote-new");
  EXPECT_FALSE(web["plan"]["steps"][1]["rollback"].is_null());

  auto yaml = cli({"plans", "export", "web", "--format", "yaml"});
  ASSERT_EQ(yaml.exit_code, 0) << yaml.output;
  auto y = YAML::Load(yaml.output);
  EXPECT_EQ(y["services"][0]["service"].as<std::string>(), "web");
  EXPECT_EQ(y["services"][0]["plan"]["steps"].size(), 4u);

  auto md = cli({"plans", "export", "web", "--format", "markdown"});
  ASSERT_EQ(md.exit_code, 0) << md.output;
  EXPECT_TRUE(contains(md.output, "# Failover runbook")) << md.output;
  EXPECT_TRUE(contains(md.output, "## web")) << md.output;
  EXPECT_TRUE(contains(md.output, "1. ")) << md.output;

  auto dot_file = root + "/plans.dot";
  auto dot = cli({"plans", "export", "--format", "dot", "-f", dot_file});
  ASSERT_EQ(dot.exit_code, 0) << dot.output;
  child_process graphviz({"/usr/bin/dot", "-Tsvg", dot_file, "-o", root + "/plans.svg"},
                         root + "/dot.log");
  EXPECT_EQ(graphviz.wait_for_exit(20s), 0) << read_file(root + "/dot.log") << read_file(dot_file);
  auto svg = read_file(root + "/plans.svg");
  EXPECT_TRUE(contains(svg, "<svg")) << svg;
  // Graphviz writes '-' in text as &#45;
  EXPECT_TRUE(contains(svg, "web&#45;b") || contains(svg, "web-b")) << svg;

  EXPECT_EQ(cli({"plans", "export", "nope"}).exit_code, 4);
  EXPECT_EQ(cli({"plans", "export", "--format", "pdf"}).exit_code, 1);
}

TEST_F(operations, reload_applies_added_changed_and_removed_services_and_rejects_a_bad_file) {
  start_healthy();
  // A second service and a changed block period. The cache's TCP checks go to
  // listeners of their own: a held connection to a (single-threaded) web
  // instance would stall its HTTP checks past their 150 ms timeout.
  switchyard::testing::silent_listener cache_a, cache_b;
  extra_services = fmt::format("  - name: cache\n"
                               "    health_check: {{type: tcp, interval: 200ms, timeout: 150ms, "
                               "rise: 1, fall: 2}}\n"
                               "    instances:\n"
                               "      - {{name: cache-a, address: 127.0.0.1:{}, role: primary}}\n"
                               "      - {{name: cache-b, address: 127.0.0.1:{}, role: standby}}\n"
                               "    strategy:\n"
                               "      type: active_passive\n"
                               "      verify:\n"
                               "        - {{name: check, type: exec, command: 'true'}}\n",
                               cache_a.port(), cache_b.port());
  web_block_period = "30s";
  write_config();
  EXPECT_EQ(cli({"reload", "--yes"}, "operator-token").exit_code, 3) << "reload needs admin";
  auto applied = cli({"reload", "--yes"}, "admin-token");
  ASSERT_EQ(applied.exit_code, 0) << applied.output << log();
  EXPECT_TRUE(contains(applied.output, "reloaded: added cache; changed web")) << applied.output;
  ASSERT_TRUE(wait_until(
      [&] {
        auto s = cli({"services"}).output;
        return contains(s, "cache    cache-a  healthy") && !contains(s, "0/2") &&
               !contains(s, "1/2");
      },
      10s))
      << cli({"services"}).output << log();
  EXPECT_EQ(cli({"reload", "--yes"}, "admin-token").output,
            "nothing to apply: no service changed\n");

  // A broken file is refused with its errors; the running configuration stays.
  {
    std::ofstream(root + "/switchyard.yaml", std::ios::trunc)
        << "services:\n  - name: web\n    block_period: soon\n";
  }
  auto bad = cli({"reload", "--yes"}, "admin-token");
  EXPECT_EQ(bad.exit_code, 5) << bad.output;
  EXPECT_TRUE(contains(bad.output, "switchyard.yaml:3:19: services[0].block_period:"))
      << bad.output;
  EXPECT_TRUE(contains(cli({"services"}).output, "cache")) << "nothing changed";

  // SIGHUP does the same: cache goes away, web stays as it was.
  extra_services.clear();
  write_config();
  daemon->signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return !contains(cli({"services"}).output, "cache"); }, 10s))
      << log();
  EXPECT_TRUE(contains(log(), "reload by SIGHUP: removed cache")) << log();
  EXPECT_TRUE(contains(cli({"services"}).output, "web      web-a    healthy         1"))
      << cli({"services"}).output << log();

  auto audit = cli({"--output", "json", "audit"}, "admin-token");
  EXPECT_TRUE(contains(audit.output, "applied: added cache; changed web")) << audit.output;
  EXPECT_TRUE(contains(audit.output, "INVALID_ARGUMENT")) << audit.output;
}

TEST_F(operations, reload_waits_for_a_switchover_of_a_service_it_would_change) {
  start_healthy();
  std::ofstream(root + "/slow") << "x"; // the demote step now takes 2 s
  child_process switchover({SWITCHYARD_CLI_PATH, "--server",
                            "127.0.0.1:" + std::to_string(api_port), "--token", "operator-token",
                            "switchover", "web", "--reason", "slow", "--yes"},
                           root + "/switchover.out");
  ASSERT_TRUE(wait_until([&] { return contains(cli({"services"}).output, "failing over"); }, 10s));
  web_block_period = "30s";
  write_config();
  auto refused = cli({"reload", "--yes"}, "admin-token");
  EXPECT_EQ(refused.exit_code, 5) << refused.output;
  EXPECT_TRUE(contains(refused.output, "service 'web' is switching over right now"))
      << refused.output;
  EXPECT_EQ(switchover.wait_for_exit(20s), 0) << read_file(root + "/switchover.out");
  auto applied = cli({"reload", "--yes"}, "admin-token");
  EXPECT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_TRUE(contains(applied.output, "changed web")) << applied.output;
  EXPECT_TRUE(contains(cli({"services"}).output, "web      web-b")) << "state kept";
}

TEST_F(operations, a_switchover_to_a_standby_that_lags_beyond_the_rpo_is_refused) {
  start_healthy();
  std::ofstream(root + "/lagging") << "x";
  auto dry = cli({"switchover", "web", "--dry-run"}, "operator-token");
  EXPECT_EQ(dry.exit_code, 5) << dry.output;
  EXPECT_TRUE(contains(dry.output, "no candidate passed the pre-checks: check replication-lag "
                                   "refused web-b"))
      << dry.output;
  EXPECT_TRUE(contains(dry.output, "web-b lags 90000 ms, RPO is 0 ms")) << dry.output;
  auto run = cli({"switchover", "web", "--reason", "x", "--yes"}, "operator-token");
  EXPECT_EQ(run.exit_code, 5) << run.output;
  EXPECT_EQ(read_file(actions_log), "") << "nothing ran";
  std::filesystem::remove(root + "/lagging");
  auto ok = cli({"switchover", "web", "--reason", "caught up", "--yes"}, "operator-token");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
}

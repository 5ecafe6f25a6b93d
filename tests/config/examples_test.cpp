// The shipped examples: both are valid, the demo has exactly the topology and
// commands the README's demo relies on, and every action command is valid shell.
#include <spawn.h>
#include <sys/wait.h>

#include "tests/config/config_test_support.hpp"

using namespace std::chrono_literals;
using namespace switchyard::config;
using namespace switchyard::config::testing;

extern char** environ;

namespace {

// Exit status of `/bin/sh -n -c command`: 0 when the shell can parse it (nothing is run).
int shell_syntax_check(const std::string& command) {
  std::string sh = "/bin/sh", n = "-n", c = "-c", cmd = command;
  char* argv[] = {sh.data(), n.data(), c.data(), cmd.data(), nullptr};
  pid_t pid = 0;
  if (::posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv, environ) != 0)
    return -1;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<const action_settings*> all_actions(const service_settings& s) {
  std::vector<const action_settings*> out;
  for (const auto* phase : {&s.strategy.fence, &s.strategy.promote, &s.strategy.reroute,
                            &s.strategy.verify, &s.strategy.rejoin})
    for (const auto& a : *phase)
      out.push_back(&a);
  return out;
}

} // namespace

TEST(config_examples, every_example_is_valid) {
  for (const char* name : {"demo.yaml", "full.yaml", "postgres.yaml"}) {
    auto r = load_config_file(example_path(name));
    std::string all;
    for (const auto& e : r.errors)
      all += to_string(e) + "\n";
    EXPECT_TRUE(r.ok()) << name << ":\n" << all;
  }
}

TEST(config_examples, demo_has_the_documented_topology) {
  auto r = load_config_file(example_path("demo.yaml"));
  ASSERT_TRUE(r.ok());
  const auto& c = r.config;
  // ../../data from config/examples/ is the repository's data/ folder.
  auto repo_data =
      (std::filesystem::path(SWITCHYARD_SOURCE_DIR) / "data").lexically_normal().string();
  EXPECT_EQ(c.orchestrator.data_dir, repo_data);
  EXPECT_EQ(c.database_path(), repo_data + "/switchyard.db");
  EXPECT_EQ(c.orchestrator.level, log_level::info);
  EXPECT_EQ(c.orchestrator.supervisor.max_restarts, 5);

  ASSERT_EQ(c.sites.size(), 2u);
  EXPECT_EQ(c.sites[0].name, "dc1");
  EXPECT_EQ(c.sites[1].name, "dc2");
  ASSERT_EQ(c.services.size(), 2u);
  EXPECT_EQ(c.services[0].name, "db");
  EXPECT_EQ(c.services[0].instances.at(1).site, "dc2");
  const auto& web = c.services.back();
  EXPECT_EQ(web.depends_on, std::vector<std::string>{"db"});
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.block_period, 60s);
  EXPECT_EQ(web.objective.rto, 30s);
  EXPECT_EQ(web.objective.rpo, 0s);
  const auto& hc = web.health_check;
  EXPECT_EQ(hc.type, check_type::http);
  EXPECT_EQ(hc.path, "/health");
  EXPECT_EQ(hc.expected_status, 200);
  EXPECT_EQ(hc.interval, 500ms);
  EXPECT_EQ(hc.timeout, 300ms);
  EXPECT_EQ(hc.jitter, 50ms);
  EXPECT_EQ(hc.rise, 2);
  EXPECT_EQ(hc.fall, 2);

  ASSERT_EQ(web.instances.size(), 2u);
  const auto& a = web.instances[0];
  const auto& b = web.instances[1];
  EXPECT_EQ(a.name, "web-a");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 18081);
  EXPECT_EQ(a.site, "dc1");
  EXPECT_EQ(a.role, instance_role::primary);
  EXPECT_EQ(a.priority, 100);
  EXPECT_EQ(b.name, "web-b");
  EXPECT_EQ(b.host, "127.0.0.1");
  EXPECT_EQ(b.port, 18082);
  EXPECT_EQ(b.site, "dc2");
  EXPECT_EQ(b.role, instance_role::standby);
  EXPECT_EQ(b.priority, 90);
}

TEST(config_examples, demo_actions_are_the_documented_commands) {
  auto r = load_config_file(example_path("demo.yaml"));
  ASSERT_TRUE(r.ok());
  const auto& s = r.config.services.back().strategy;
  EXPECT_EQ(s.type, strategy_type::active_passive);
  ASSERT_EQ(s.fence.size(), 1u);
  ASSERT_EQ(s.promote.size(), 1u);
  ASSERT_EQ(s.reroute.size(), 1u);
  ASSERT_EQ(s.verify.size(), 1u);
  EXPECT_EQ(s.fence[0].name, "fence-old-primary");
  EXPECT_EQ(s.fence[0].command,
            R"(curl -fsS -m 2 -X POST "http://$SWITCHYARD_OLD_PRIMARY_ADDRESS/demote" || )"
            R"(echo "old primary $SWITCHYARD_OLD_PRIMARY unreachable: nothing to demote")");
  EXPECT_EQ(s.promote[0].name, "promote-standby");
  EXPECT_EQ(s.promote[0].command,
            R"(curl -fsS -m 2 -X POST "http://$SWITCHYARD_NEW_PRIMARY_ADDRESS/promote")");
  EXPECT_EQ(s.reroute[0].name, "point-traffic");
  EXPECT_EQ(s.reroute[0].command,
            R"sh(echo "$SWITCHYARD_NEW_PRIMARY_ADDRESS" > )sh"
            R"sh("${TMPDIR:-/tmp}/switchyard-demo-web.primary" && )sh"
            R"sh(echo "traffic for $SWITCHYARD_SERVICE now goes to )sh"
            R"sh($SWITCHYARD_NEW_PRIMARY_ADDRESS (epoch $SWITCHYARD_EPOCH)")sh");
  EXPECT_EQ(s.verify[0].name, "verify-role");
  EXPECT_EQ(s.verify[0].command,
            R"(curl -fsS -m 2 "http://$SWITCHYARD_NEW_PRIMARY_ADDRESS/role" | grep -qx primary)");
  // A returning old primary (the tour restarts web-a) is made a standby.
  ASSERT_EQ(s.rejoin.size(), 1u);
  EXPECT_EQ(s.rejoin[0].name, "rejoin-as-standby");
  EXPECT_EQ(s.rejoin[0].command,
            R"(curl -fsS -m 2 -X POST "http://$SWITCHYARD_TARGET_ADDRESS/demote" && )"
            R"(echo "$SWITCHYARD_TARGET is a standby of $SWITCHYARD_NEW_PRIMARY")");
  ASSERT_EQ(r.config.services.front().strategy.rejoin.size(), 1u) << "db too";
  for (const auto* a : all_actions(r.config.services.back())) {
    EXPECT_EQ(a->type, action_type::exec) << a->name;
    EXPECT_EQ(a->timeout, 5s) << a->name;
    EXPECT_TRUE(a->env.empty()) << a->name;
  }
}

TEST(config_examples, full_example_sets_every_key) {
  auto r = load_config_file(example_path("full.yaml"));
  ASSERT_TRUE(r.ok());
  const auto& c = r.config;
  EXPECT_EQ(c.orchestrator.data_dir, "/var/lib/switchyard");
  EXPECT_EQ(c.database_path(), "/var/lib/switchyard/switchyard.db");
  ASSERT_EQ(c.services.size(), 3u);
  const auto* db = c.find_service("orders-db");
  const auto* web = c.find_service("web");
  const auto* batch = c.find_service("batch");
  ASSERT_NE(db, nullptr);
  ASSERT_NE(web, nullptr);
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(c.find_service("nope"), nullptr);
  EXPECT_EQ(db->health_check.type, check_type::tcp);
  EXPECT_EQ(web->health_check.type, check_type::http);
  EXPECT_EQ(batch->health_check.type, check_type::exec);
  EXPECT_EQ(db->block_period, 10min);
  EXPECT_EQ(db->health_check.jitter, 100ms);
  EXPECT_EQ(db->instances[1].site, "dc2");
  ASSERT_EQ(c.sites.size(), 2u);
  EXPECT_EQ(c.sites[1].name, "dc2");
  EXPECT_EQ(c.sites[1].description, "Dublin, disaster recovery");
  EXPECT_EQ(c.orchestrator.site_switchover.parallelism, 4);
  EXPECT_EQ(c.orchestrator.site_switchover.drill_interval, std::chrono::hours(24 * 90));
  ASSERT_EQ(db->strategy.prepare.size(), 1u);
  EXPECT_FALSE(db->strategy.prepare[0].rollback.empty());
  ASSERT_EQ(db->strategy.integrity.size(), 1u);
  ASSERT_TRUE(db->objective.backup.has_value());
  EXPECT_EQ(db->objective.backup->copies, 3);
  ASSERT_EQ(db->strategy.fence.size(), 1u);
  EXPECT_EQ(db->strategy.fence[0].env.at("PGCONNECT_TIMEOUT"), "3");
  EXPECT_EQ(db->strategy.promote[0].timeout, 30s);
  EXPECT_EQ(db->strategy.reroute[0].timeout, 10s); // the default
  EXPECT_FALSE(batch->health_check.command.empty());
}

TEST(config_examples, every_action_command_is_valid_shell) {
  for (const char* name : {"demo.yaml", "full.yaml", "postgres.yaml"}) {
    auto r = load_config_file(example_path(name));
    ASSERT_TRUE(r.ok()) << name;
    for (const auto& s : r.config.services) {
      for (const auto* a : all_actions(s)) {
        EXPECT_EQ(shell_syntax_check(a->command), 0) << name << ": " << a->name;
      }
      if (s.health_check.type == check_type::exec) {
        EXPECT_EQ(shell_syntax_check(s.health_check.command), 0) << name << ": " << s.name;
      }
    }
  }
}

TEST(config_examples, the_postgres_example_has_the_documented_steps) {
  auto r = load_config_file(example_path("postgres.yaml"));
  ASSERT_TRUE(r.ok());
  const auto& s = r.config.services.at(0);
  EXPECT_EQ(s.health_check.type, check_type::postgres);
  ASSERT_TRUE(s.postgres.has_value());
  EXPECT_FALSE(s.postgres->rewind);
  ASSERT_EQ(s.strategy.fence.size(), 3u) << "the postgres fence and one step per HAProxy";
  EXPECT_EQ(s.strategy.fence[1].name, "cut-old@1");
  EXPECT_EQ(s.strategy.fence[2].socket, "10.0.2.5:9999");
  EXPECT_TRUE(s.strategy.fence[2].shutdown_sessions);
  EXPECT_TRUE(s.strategy.reroute[0].on_other_standbys);
  EXPECT_TRUE(s.strategy.rejoin_defaulted);
  EXPECT_EQ(s.strategy.rejoin.at(0).pg_operation, postgres_operation::rejoin);
  ASSERT_TRUE(s.strategy.restart_in_place.has_value());
  EXPECT_EQ(s.strategy.restart_in_place->deadline, 10s);
  EXPECT_EQ(shell_syntax_check(s.strategy.restart_in_place->actions.at(0).command), 0);
}

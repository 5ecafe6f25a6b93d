// Loading valid files: defaults, paths resolved against the file's folder,
// source marks, file errors, and the promise that loading never throws.
#include <fstream>
#include <sstream>

#include "tests/config/config_test_support.hpp"

using namespace std::chrono_literals;
using namespace switchyard::config;
using namespace switchyard::config::testing;

TEST(config_load, defaults_apply_to_keys_left_out) {
  auto r = load_config_text(valid_yaml, "/etc/switchyard/main.yaml");
  ASSERT_TRUE(r.ok()) << to_string(r.errors.front());
  const auto& c = r.config;
  EXPECT_EQ(c.source_file, "/etc/switchyard/main.yaml");
  EXPECT_EQ(c.orchestrator.database, "switchyard.db");
  EXPECT_EQ(c.orchestrator.level, log_level::info);
  const auto& sup = c.orchestrator.supervisor;
  EXPECT_EQ(sup.max_restarts, 5);
  EXPECT_EQ(sup.restart_window, 60s);
  EXPECT_EQ(sup.initial_backoff, 100ms);
  EXPECT_EQ(sup.max_backoff, 5s);
  const auto& s = c.services.front();
  EXPECT_EQ(s.block_period, 5min);
  EXPECT_EQ(s.objective.rto, 60s);
  EXPECT_EQ(s.objective.rpo, 0s);
  EXPECT_EQ(s.health_check.type, check_type::tcp);
  EXPECT_EQ(s.health_check.interval, 1s);
  EXPECT_EQ(s.health_check.timeout, 500ms);
  EXPECT_EQ(s.health_check.jitter, 0s);
  EXPECT_EQ(s.health_check.rise, 2);
  EXPECT_EQ(s.health_check.fall, 3);
  EXPECT_EQ(s.instances[0].host, "127.0.0.1");
  EXPECT_EQ(s.instances[0].port, 8081);
  EXPECT_EQ(s.instances[0].site, "default");
  EXPECT_EQ(s.instances[0].priority, 100);
  EXPECT_EQ(s.strategy.type, strategy_type::active_passive);
  EXPECT_TRUE(s.strategy.fence.empty());
  EXPECT_TRUE(s.strategy.verify.empty());
}

TEST(config_load, relative_data_dir_resolves_against_the_files_folder) {
  temp_dir dir;
  auto file = dir.write("etc/switchyard.yaml", valid_yaml);
  auto r = load_config_file(file);
  ASSERT_TRUE(r.ok()) << to_string(r.errors.front());
  EXPECT_EQ(r.config.source_file, file);
  EXPECT_EQ(r.config.orchestrator.data_dir, dir.str() + "/etc/state");
  EXPECT_EQ(r.config.database_path(), dir.str() + "/etc/state/switchyard.db");
}

TEST(config_load, relative_file_name_becomes_absolute) {
  temp_dir dir;
  dir.write("conf/sy.yaml", replace(valid_yaml, "data_dir: state", "data_dir: ../db/"));
  auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  auto r = load_config_file("conf/sy.yaml");
  std::filesystem::current_path(cwd);
  ASSERT_TRUE(r.ok()) << to_string(r.errors.front());
  EXPECT_EQ(r.config.source_file, dir.str() + "/conf/sy.yaml");
  EXPECT_EQ(r.config.orchestrator.data_dir, dir.str() + "/db"); // no trailing '/'
}

TEST(config_load, absolute_data_dir_and_database_are_kept) {
  auto yaml = replace(valid_yaml, "  data_dir: state\n",
                      "  data_dir: /srv/sy/\n  database: main.sqlite\n  log_level: debug\n");
  auto r = load_config_text(yaml, "/etc/sy.yaml");
  ASSERT_TRUE(r.ok()) << to_string(r.errors.front());
  EXPECT_EQ(r.config.orchestrator.data_dir, "/srv/sy");
  EXPECT_EQ(r.config.database_path(), "/srv/sy/main.sqlite");
  EXPECT_EQ(r.config.orchestrator.level, log_level::debug);
}

TEST(config_load, services_and_instances_know_where_they_were_written) {
  auto r = load_config_text(valid_yaml, "/etc/sy.yaml");
  ASSERT_TRUE(r.ok());
  const auto& s = r.config.services.front();
  EXPECT_EQ(s.mark.file, "/etc/sy.yaml");
  EXPECT_EQ(s.mark.line, 4);
  EXPECT_EQ(s.mark.column, 5);
  EXPECT_EQ(s.instances[0].mark.line, 8);
  EXPECT_EQ(s.instances[0].mark.column, 9);
  EXPECT_EQ(s.instances[1].mark.line, 11);
  EXPECT_EQ(s.instances[1].mark.column, 9);
}

TEST(config_load, ipv6_and_host_names_are_addresses) {
  auto r = load_config_text(replace(replace(valid_yaml, "127.0.0.1:8081", "\"[::1]:8081\""),
                                    "127.0.0.1:8082", "db-2.example.com:65535"),
                            "/etc/sy.yaml");
  ASSERT_TRUE(r.ok()) << to_string(r.errors.front());
  const auto& inst = r.config.services.front().instances;
  EXPECT_EQ(inst[0].host, "::1");
  EXPECT_EQ(inst[0].port, 8081);
  EXPECT_EQ(inst[1].host, "db-2.example.com");
  EXPECT_EQ(inst[1].port, 65535);
}

TEST(config_load, action_settings_are_read) {
  auto yaml = replace(valid_yaml, "      type: active_passive\n",
                      "      type: active_passive\n"
                      "      verify:\n"
                      "        - name: check\n"
                      "          type: exec\n"
                      "          command: test -s /tmp/x\n"
                      "          timeout: 1m30s\n"
                      "          env: {MODE: strict, RETRIES: 3}\n");
  auto r = load_config_text(yaml, "/etc/sy.yaml");
  ASSERT_TRUE(r.ok()) << to_string(r.errors.front());
  const auto& v = r.config.services.front().strategy.verify;
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].name, "check");
  EXPECT_EQ(v[0].command, "test -s /tmp/x");
  EXPECT_EQ(v[0].timeout, 90s);
  EXPECT_EQ(v[0].env, (std::map<std::string, std::string>{{"MODE", "strict"}, {"RETRIES", "3"}}));
}

TEST(config_load, missing_file_names_the_file_and_the_reason) {
  temp_dir dir;
  auto path = dir.str() + "/absent.yaml";
  auto r = load_config_file(path);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(to_string(r.errors[0]), path + ":0:0: (file): cannot read: No such file or directory");
}

TEST(config_load, a_directory_is_not_a_configuration) {
  temp_dir dir;
  auto r = load_config_file(dir.str());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(to_string(r.errors[0]),
            dir.str() + ":0:0: (file): cannot read: it is a directory, not a file");
}

TEST(config_load, empty_file_is_reported_not_thrown) {
  temp_dir dir;
  auto path = dir.write("empty.yaml", "# nothing here\n");
  auto r = load_config_file(path);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(to_string(r.errors[0]),
            path + ":1:1: (top level): expected a mapping (key: value), got nothing");
}

// Cutting a valid file anywhere gives odd YAML (half-written maps, dangling
// keys): every cut must come back as errors or a config, never an exception.
TEST(config_load, never_throws_on_any_prefix_of_the_full_example) {
  std::ifstream in(example_path("full.yaml"));
  std::stringstream ss;
  ss << in.rdbuf();
  auto text = ss.str();
  ASSERT_GT(text.size(), 1000u);
  std::size_t with_errors = 0;
  for (std::size_t n = 0; n <= text.size(); n += 7) {
    load_result r;
    EXPECT_NO_THROW(r = load_config_text(text.substr(0, n), "cut.yaml")) << n;
    if (!r.ok())
      ++with_errors;
    for (const auto& e : r.errors)
      EXPECT_GE(e.where.line, 1) << n << ": " << to_string(e);
  }
  EXPECT_GT(with_errors, 0u);
}

// Configuration loading and validation: the examples load, defaults and
// durations are right, and every kind of mistake is reported with
// file:line:column, the field and what is wrong.
#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "config/loader.hpp"

using namespace std::chrono_literals;
using namespace switchyard::config;

namespace {

// A valid service to build bad variations from (line numbers matter below).
const std::string valid_yaml = R"(orchestrator:
  data_dir: state
services:
  - name: web
    health_check:
      type: tcp
    instances:
      - name: web-a
        address: 127.0.0.1:8081
        role: primary
      - name: web-b
        address: 127.0.0.1:8082
        role: standby
    strategy:
      type: active_passive
)";

std::vector<std::string> errors_of(const std::string& yaml) {
  auto r = load_config_text(yaml, "test.yaml");
  std::vector<std::string> out;
  for (const auto& e : r.errors)
    out.push_back(to_string(e));
  return out;
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

} // namespace

TEST(config_examples, demo_and_full_examples_are_valid) {
  for (const char* name : {"demo.yaml", "full.yaml"}) {
    auto path = std::string(SWITCHYARD_SOURCE_DIR) + "/config/examples/" + name;
    auto r = load_config_file(path);
    EXPECT_TRUE(r.ok()) << name << ": " << (r.errors.empty() ? "" : to_string(r.errors.front()));
  }
}

TEST(config_examples, demo_topology) {
  auto r = load_config_file(std::string(SWITCHYARD_SOURCE_DIR) + "/config/examples/demo.yaml");
  ASSERT_TRUE(r.ok());
  const auto& c = r.config;
  ASSERT_EQ(c.services.size(), 1u);
  const auto& web = c.services.front();
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.health_check.type, check_type::http);
  EXPECT_EQ(web.health_check.interval, 500ms);
  ASSERT_EQ(web.instances.size(), 2u);
  EXPECT_EQ(web.instances[0].role, instance_role::primary);
  EXPECT_EQ(web.instances[1].port, 18082);
  EXPECT_EQ(web.strategy.fence.size() + web.strategy.promote.size() + web.strategy.reroute.size() +
                web.strategy.verify.size(),
            4u);
  // data_dir is relative to the file: config/examples/../../data = <repo>/data
  EXPECT_EQ(c.orchestrator.data_dir,
            std::filesystem::path(std::string(SWITCHYARD_SOURCE_DIR) + "/data")
                .lexically_normal()
                .string());
}

TEST(config_load, defaults_and_relative_data_dir) {
  auto r = load_config_text(valid_yaml, "/etc/switchyard/main.yaml");
  ASSERT_TRUE(r.ok()) << to_string(r.errors.front());
  const auto& c = r.config;
  EXPECT_EQ(c.source_file, "/etc/switchyard/main.yaml");
  EXPECT_EQ(c.orchestrator.data_dir, "/etc/switchyard/state");
  EXPECT_EQ(c.database_path(), "/etc/switchyard/state/switchyard.db");
  EXPECT_EQ(c.orchestrator.level, log_level::info);
  EXPECT_EQ(c.orchestrator.supervisor.max_restarts, 5);
  const auto& s = c.services.front();
  EXPECT_EQ(s.block_period, 300s);
  EXPECT_EQ(s.objective.rto, 60s);
  EXPECT_EQ(s.health_check.interval, 1s);
  EXPECT_EQ(s.health_check.timeout, 500ms);
  EXPECT_EQ(s.health_check.rise, 2);
  EXPECT_EQ(s.health_check.fall, 3);
  EXPECT_EQ(s.instances[0].host, "127.0.0.1");
  EXPECT_EQ(s.instances[0].port, 8081);
  EXPECT_EQ(s.instances[0].site, "default");
  EXPECT_EQ(s.instances[0].priority, 100);
  EXPECT_EQ(s.instances[0].mark.line, 8);
  EXPECT_EQ(s.instances[0].mark.column, 9);
}

TEST(config_load, durations) {
  milliseconds d{};
  EXPECT_TRUE(parse_duration("250ms", d));
  EXPECT_EQ(d, 250ms);
  EXPECT_TRUE(parse_duration("2s", d));
  EXPECT_EQ(d, 2s);
  EXPECT_TRUE(parse_duration("1m30s", d));
  EXPECT_EQ(d, 90s);
  EXPECT_TRUE(parse_duration("1h", d));
  EXPECT_EQ(d, 3600s);
  for (const char* bad : {"", "5", "s", "1.5s", "2 s", "3d", "-1s", "10sm"})
    EXPECT_FALSE(parse_duration(bad, d)) << bad;
}

TEST(config_errors, unknown_key_names_the_allowed_ones) {
  auto e = errors_of(replace(valid_yaml, "        role: standby\n",
                             "        role: standby\n        colour: blue\n"));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "test.yaml:14:9: services[0].instances[1].colour: unknown key (allowed: name, "
                  "address, site, role, priority)");
}

TEST(config_errors, bad_duration_and_missing_unit) {
  auto e = errors_of(replace(valid_yaml, "      type: tcp\n",
                             "      type: tcp\n      interval: abc\n      timeout: 5\n"));
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0], "test.yaml:7:17: services[0].health_check.interval: 'abc' is not a duration "
                  "(use e.g. 500ms, 2s, 1m, 1m30s)");
  EXPECT_EQ(e[1], "test.yaml:8:16: services[0].health_check.timeout: '5' has no unit (add one: "
                  "ms, s, m, h; e.g. 5s)");
}

TEST(config_errors, wrong_type) {
  auto e =
      errors_of(replace(valid_yaml, "      type: tcp\n", "      type: tcp\n      rise: [1]\n"));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0],
            "test.yaml:7:13: services[0].health_check.rise: expected a single value, got a list");
  auto e2 =
      errors_of(replace(valid_yaml, "      type: tcp\n", "      type: tcp\n      fall: many\n"));
  ASSERT_EQ(e2.size(), 1u);
  EXPECT_EQ(e2[0], "test.yaml:7:13: services[0].health_check.fall: 'many' is not a whole number");
}

TEST(config_errors, missing_required_key) {
  auto e = errors_of(replace(valid_yaml, "    health_check:\n      type: tcp\n", ""));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "test.yaml:4:5: services[0]: missing required key 'health_check'");
}

TEST(config_errors, bad_enum_value) {
  auto e = errors_of(replace(valid_yaml, "type: tcp", "type: ping"));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0],
            "test.yaml:6:13: services[0].health_check.type: 'ping' is not one of: tcp, http, exec");
}

TEST(config_errors, two_primaries) {
  auto e = errors_of(replace(valid_yaml, "role: standby", "role: primary"));
  ASSERT_GE(e.size(), 1u);
  EXPECT_EQ(e[0], "test.yaml:13:15: services[0].instances[1].role: a second primary: a service has "
                  "exactly one");
}

TEST(config_errors, no_primary_and_no_standby) {
  auto e = errors_of(replace(valid_yaml, "role: primary", "role: standby"));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "test.yaml:8:7: services[0].instances: no instance has role primary: a service "
                  "needs exactly one");
  auto e2 = errors_of(replace(valid_yaml, "role: standby", "role: primary\n        priority: 1"));
  EXPECT_NE(std::find(e2.begin(), e2.end(),
                      "test.yaml:8:7: services[0].instances: no standby: an active_passive service "
                      "needs at least one to fail over to"),
            e2.end());
}

TEST(config_errors, duplicate_instance_across_services) {
  auto two = valid_yaml + R"(  - name: api
    health_check: {type: tcp}
    instances:
      - {name: web-a, address: "10.0.0.1:80", role: primary}
      - {name: api-b, address: "10.0.0.2:80", role: standby}
    strategy: {type: active_passive}
)";
  auto e = errors_of(two);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "test.yaml:19:16: services[1].instances[0].name: 'web-a' is already used by "
                  "services[0].instances[0]");
}

TEST(config_errors, bad_address_and_port) {
  auto e = errors_of(replace(valid_yaml, "127.0.0.1:8081", "127.0.0.1:70000"));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "test.yaml:9:18: services[0].instances[0].address: '127.0.0.1:70000' is not "
                  "host:port with a port in 1..65535");
  EXPECT_EQ(errors_of(replace(valid_yaml, "127.0.0.1:8081", "localhost")).size(), 1u);
  EXPECT_TRUE(errors_of(replace(valid_yaml, "127.0.0.1:8081", "\"[::1]:8081\"")).empty());
}

TEST(config_errors, timeout_longer_than_interval) {
  auto e = errors_of(replace(valid_yaml, "      type: tcp\n",
                             "      type: tcp\n      interval: 1s\n      timeout: 2s\n"));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "test.yaml:8:16: services[0].health_check.timeout: must not be longer than "
                  "interval (1000ms)");
}

TEST(config_errors, exec_check_needs_a_command_and_http_keys_belong_to_http) {
  auto e = errors_of(replace(valid_yaml, "type: tcp", "type: exec"));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "test.yaml:6:7: services[0].health_check.command: an exec check needs a "
                  "non-empty command");
  auto e2 = errors_of(replace(valid_yaml, "type: tcp", "type: tcp\n      path: /health"));
  ASSERT_EQ(e2.size(), 1u);
  EXPECT_EQ(e2[0],
            "test.yaml:7:13: services[0].health_check.path: only applies to http checks, not tcp");
}

TEST(config_errors, actions_are_validated) {
  auto e = errors_of(replace(valid_yaml, "      type: active_passive\n",
                             "      type: active_passive\n"
                             "      promote:\n"
                             "        - {name: up, type: exec, command: 'true', timeout: 0s}\n"
                             "        - {name: up, type: ssh, command: ''}\n"));
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0],
            "test.yaml:17:60: services[0].strategy.promote[0].timeout: must be greater than 0");
  EXPECT_EQ(e[1],
            "test.yaml:18:28: services[0].strategy.promote[1].type: 'ssh' is not one of: exec");
  EXPECT_EQ(e[2], "test.yaml:18:42: services[0].strategy.promote[1].command: must not be empty");
  EXPECT_EQ(e[3], "test.yaml:18:18: services[0].strategy.promote[1].name: 'up' is already used by "
                  "services[0].strategy.promote[0]");
}

TEST(config_errors, syntax_error_has_a_location) {
  auto e = errors_of("services:\n  - name: [web\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].rfind("test.yaml:3:1: (syntax): ", 0), 0u) << e[0];
}

TEST(config_errors, missing_file) {
  auto r = load_config_file("/nonexistent/switchyard.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(to_string(r.errors[0]),
            "/nonexistent/switchyard.yaml:0:0: (file): cannot read: No such file or directory");
}

TEST(config_errors, every_error_is_reported_at_once) {
  auto e = errors_of(R"(orchestrator:
  log_level: loud
  database: a/b.db
services:
  - name: Web
    health_check: {type: http, rise: 0}
    instances: []
    strategy: {type: active_passive}
)");
  EXPECT_EQ(e.size(), 6u);
  auto has = [&](const std::string& s) { return std::find(e.begin(), e.end(), s) != e.end(); };
  EXPECT_TRUE(has("test.yaml:2:14: orchestrator.log_level: 'loud' is not one of: trace, debug, "
                  "info, warn, error"));
  EXPECT_TRUE(has("test.yaml:3:13: orchestrator.database: 'a/b.db' must be a plain file name (the "
                  "folder is data_dir)"));
  EXPECT_TRUE(has("test.yaml:6:38: services[0].health_check.rise: '0' is out of range (1..100)"));
}

TEST(config_errors, top_level_must_be_a_mapping_with_services) {
  EXPECT_EQ(errors_of("- 1\n"),
            std::vector<std::string>{
                "test.yaml:1:1: (top level): expected a mapping (key: value), got a list"});
  EXPECT_EQ(
      errors_of("orchestrator: {}\n"),
      std::vector<std::string>{"test.yaml:1:1: (top level): missing required key 'services'"});
}

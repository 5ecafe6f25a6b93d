// Every kind of mistake is reported as `file:line:column: field: message`,
// with what is allowed, and all mistakes of a file come back at once.
#include <gmock/gmock.h>

#include "tests/config/config_test_support.hpp"

using namespace switchyard::config;
using namespace switchyard::config::testing;
using errors = std::vector<std::string>;

// Insert `lines` after the health check's `type: tcp` (line 6), so they are lines 7, 8, ...
static std::string with_check(const std::string& lines) {
  return replace(valid_yaml, "      type: tcp\n", "      type: tcp\n" + lines);
}

TEST(config_errors, the_base_file_is_valid) {
  EXPECT_EQ(errors_of(valid_yaml), errors{});
}

TEST(config_errors, unknown_key_names_the_allowed_ones) {
  EXPECT_EQ(errors_of(replace(valid_yaml, "        role: standby\n",
                              "        role: standby\n        colour: blue\n")),
            errors{"test.yaml:14:9: services[0].instances[1].colour: unknown key (allowed: name, "
                   "address, site, role, priority, data_directory)"});
  EXPECT_EQ(errors_of(with_check("      retries: 3\n")),
            errors{"test.yaml:7:7: services[0].health_check.retries: unknown key (allowed: type, "
                   "path, expected_status, command, interval, timeout, jitter, rise, fall, "
                   "fast_detection, grpc_service, phi_threshold)"});
  EXPECT_EQ(errors_of(replace(valid_yaml, "  data_dir: state\n", "  datadir: state\n")),
            errors{"test.yaml:2:3: orchestrator.datadir: unknown key (allowed: data_dir, database, "
                   "log_level, supervisor, safety, detection, site_switchover, metrics_listen)"});
}

TEST(config_errors, a_key_given_twice) {
  EXPECT_EQ(errors_of(with_check("      type: http\n")),
            errors{"test.yaml:7:7: services[0].health_check.type: given twice (first at 6:7); keep "
                   "one"});
}

TEST(config_errors, wrong_kind_of_value) {
  EXPECT_EQ(errors_of(with_check("      rise: [1]\n")),
            errors{"test.yaml:7:13: services[0].health_check.rise: expected a single value, got a "
                   "list"});
  EXPECT_EQ(errors_of(with_check("      fall: many\n")),
            errors{"test.yaml:7:13: services[0].health_check.fall: 'many' is not a whole number"});
  EXPECT_EQ(errors_of(replace(valid_yaml, "    health_check:\n      type: tcp\n",
                              "    health_check: tcp\n")),
            errors{"test.yaml:5:19: services[0].health_check: expected a mapping (key: value), got "
                   "a single value"});
  EXPECT_EQ(errors_of(replace(valid_yaml, "  data_dir: state\n", "  supervisor: [1]\n")),
            errors{"test.yaml:2:15: orchestrator.supervisor: expected a mapping (key: value), got "
                   "a list"});
  EXPECT_EQ(errors_of("services: web\n"),
            errors{"test.yaml:1:11: services: expected a list, got a single value"});
}

TEST(config_errors, wrong_kinds_everywhere_are_errors_not_exceptions) {
  auto e = errors_of(R"(orchestrator: [1]
services:
  - name: [a]
    health_check: 5
    instances: {a: b}
    strategy: [x]
  - name: b
    objectives: 3
    health_check: {type: [tcp]}
    instances: [1, {name: {x: 1}, address: [1], role: {a: 1}, priority: []}]
    strategy: {type: active_passive, fence: x, promote: [1, {command: [x], env: [1]}]}
)");
  EXPECT_THAT(e, ::testing::UnorderedElementsAre(
                     "test.yaml:1:15: orchestrator: expected a mapping (key: value), got a list",
                     "test.yaml:3:11: services[0].name: expected a single value, got a list",
                     "test.yaml:4:19: services[0].health_check: expected a mapping (key: value), "
                     "got a single value",
                     "test.yaml:5:16: services[0].instances: expected a list, got a mapping",
                     "test.yaml:6:15: services[0].strategy: expected a mapping (key: value), got "
                     "a list",
                     "test.yaml:8:17: services[1].objectives: expected a mapping (key: value), "
                     "got a single value",
                     "test.yaml:9:26: services[1].health_check.type: expected a single value, got "
                     "a list",
                     "test.yaml:10:17: services[1].instances[0]: expected a mapping (key: value), "
                     "got a single value",
                     "test.yaml:10:27: services[1].instances[1].name: expected a single value, got "
                     "a mapping",
                     "test.yaml:10:44: services[1].instances[1].address: expected a single value, "
                     "got a list",
                     "test.yaml:10:55: services[1].instances[1].role: expected a single value, got "
                     "a mapping",
                     "test.yaml:10:73: services[1].instances[1].priority: expected a single value, "
                     "got a list",
                     "test.yaml:10:16: services[1].instances: no instance has role primary: a "
                     "service needs exactly one",
                     "test.yaml:10:16: services[1].instances: no standby: an active_passive "
                     "service needs at least one to fail over to",
                     "test.yaml:11:45: services[1].strategy.fence: expected a list, got a single "
                     "value",
                     "test.yaml:11:58: services[1].strategy.promote[0]: expected a mapping (key: "
                     "value), got a single value",
                     "test.yaml:11:61: services[1].strategy.promote[1]: missing required key "
                     "'name'",
                     "test.yaml:11:61: services[1].strategy.promote[1]: missing required key "
                     "'type'",
                     "test.yaml:11:71: services[1].strategy.promote[1].command: expected a single "
                     "value, got a list",
                     "test.yaml:11:81: services[1].strategy.promote[1].env: expected a mapping "
                     "(key: value), got a list"));
}

TEST(config_errors, bad_duration_and_missing_unit) {
  EXPECT_EQ(errors_of(with_check("      interval: abc\n      timeout: 5\n")),
            (errors{"test.yaml:7:17: services[0].health_check.interval: 'abc' is not a duration "
                    "(use e.g. 500ms, 2s, 1m)",
                    "test.yaml:8:16: services[0].health_check.timeout: '5' has no unit (add a "
                    "unit: ms, s, m, h; e.g. 5s)"}));
}

TEST(config_errors, a_bad_value_does_not_cascade_into_comparisons) {
  // With interval unreadable, "timeout <= interval" can't be judged: one error, not two.
  EXPECT_EQ(errors_of(with_check("      interval: 1 s\n      timeout: 2s\n")),
            errors{"test.yaml:7:17: services[0].health_check.interval: '1 s' is not a duration "
                   "(use e.g. 500ms, 2s, 1m)"});
  // With the type unknown, "path only applies to http" can't be judged either.
  EXPECT_EQ(errors_of(replace(valid_yaml, "type: tcp", "type: htp\n      path: /up")),
            errors{"test.yaml:6:13: services[0].health_check.type: 'htp' is not one of: tcp, "
                   "http, exec, redis, grpc, postgres"});
}

TEST(config_errors, missing_required_keys) {
  EXPECT_EQ(errors_of(replace(valid_yaml, "    health_check:\n      type: tcp\n", "")),
            errors{"test.yaml:4:5: services[0]: missing required key 'health_check'"});
  EXPECT_EQ(errors_of(replace(valid_yaml,
                              "        address: 127.0.0.1:8082\n        role: standby\n", "")),
            (errors{"test.yaml:11:9: services[0].instances[1]: missing required key 'address'",
                    "test.yaml:11:9: services[0].instances[1]: missing required key 'role'",
                    "test.yaml:8:7: services[0].instances: no standby: an active_passive service "
                    "needs at least one to fail over to"}));
  EXPECT_EQ(errors_of(replace(valid_yaml, "      type: tcp\n", "      interval: 2s\n")),
            errors{"test.yaml:6:7: services[0].health_check: missing required key 'type'"});
  EXPECT_EQ(errors_of("orchestrator: {}\n"),
            errors{"test.yaml:1:1: (top level): missing required key 'services'"});
  EXPECT_EQ(errors_of("services: []\n"),
            errors{"test.yaml:1:11: services: at least one service is required"});
}

TEST(config_errors, bad_enum_value_lists_the_allowed_ones) {
  EXPECT_EQ(errors_of(replace(valid_yaml, "type: tcp", "type: ping")),
            errors{"test.yaml:6:13: services[0].health_check.type: 'ping' is not one of: tcp, "
                   "http, exec, redis, grpc, postgres"});
  EXPECT_EQ(errors_of(replace(valid_yaml, "type: active_passive", "type: active_active")),
            errors{"test.yaml:15:13: services[0].strategy.type: 'active_active' is not one of: "
                   "active_passive"});
}

TEST(config_errors, bad_names) {
  EXPECT_EQ(errors_of(replace(valid_yaml, "name: web\n", "name: Web\n")),
            errors{"test.yaml:4:11: services[0].name: 'Web' is not a valid name (lowercase "
                   "letters, digits, '_', '.', '-'; starts with a letter or digit; at most 63 "
                   "characters)"});
  auto bad_instance_name = [](const std::string& name) {
    return "test.yaml:8:15: services[0].instances[0].name: '" + name +
           "' is not a valid name (lowercase letters, digits, '_', '.', '-'; starts with a letter "
           "or digit; at most 63 characters)";
  };
  for (const std::string& name :
       std::vector<std::string>{"", "-web", "web a", "web/a", std::string(64, 'a')})
    EXPECT_EQ(errors_of(replace(valid_yaml, "name: web-a", "name: '" + name + "'")),
              errors{bad_instance_name(name)});
  EXPECT_EQ(errors_of(replace(valid_yaml, "name: web-a", "name: " + std::string(63, 'a'))),
            errors{});
}

TEST(config_errors, two_primaries) {
  EXPECT_EQ(errors_of(replace(valid_yaml, "role: standby", "role: primary")),
            (errors{"test.yaml:13:15: services[0].instances[1].role: a second primary: a service "
                    "has exactly one",
                    "test.yaml:8:7: services[0].instances: no standby: an active_passive service "
                    "needs at least one to fail over to"}));
}

TEST(config_errors, no_primary) {
  EXPECT_EQ(errors_of(replace(valid_yaml, "role: primary", "role: standby")),
            errors{"test.yaml:8:7: services[0].instances: no instance has role primary: a service "
                   "needs exactly one"});
}

TEST(config_errors, no_standby) {
  EXPECT_EQ(errors_of(replace(valid_yaml,
                              "      - name: web-b\n        address: 127.0.0.1:8082\n"
                              "        role: standby\n",
                              "")),
            errors{"test.yaml:8:7: services[0].instances: no standby: an active_passive service "
                   "needs at least one to fail over to"});
}

TEST(config_errors, duplicate_names) {
  auto two = valid_yaml + R"(  - name: api
    health_check: {type: tcp}
    instances:
      - {name: web-a, address: "10.0.0.1:80", role: primary}
      - {name: api-b, address: "10.0.0.2:80", role: standby}
    strategy: {type: active_passive}
)";
  EXPECT_EQ(errors_of(two), errors{"test.yaml:19:16: services[1].instances[0].name: 'web-a' is "
                                   "already used by services[0].instances[0]"});
  EXPECT_EQ(errors_of(replace(replace(two, "name: api\n", "name: web\n"), "name: web-a,",
                              "name: api-a,")),
            errors{"test.yaml:16:11: services[1].name: 'web' is already used by services[0]"});
}

TEST(config_errors, bad_address_or_port) {
  auto bad = [](const std::string& address, int column) {
    return "test.yaml:9:" + std::to_string(column) + ": services[0].instances[0].address: '" +
           address +
           "' is not host:port (host: a name, an IPv4 address or an [IPv6] address; port: "
           "1..65535)";
  };
  for (std::string address : {"127.0.0.1:70000", "127.0.0.1:0", "localhost", "127.0.0.1:", ":8081",
                              "::1:8081", "my host:80", "10.0.0.1:80x"})
    EXPECT_EQ(errors_of(replace(valid_yaml, "127.0.0.1:8081", "'" + address + "'")),
              errors{bad(address, 18)});
  for (std::string address : {"[::1]:8081", "[fe80::1%eth0]:22", "db_1.internal:5432"})
    EXPECT_EQ(errors_of(replace(valid_yaml, "127.0.0.1:8081", "'" + address + "'")), errors{})
        << address;
}

TEST(config_errors, health_check_timing_rules) {
  EXPECT_EQ(errors_of(with_check("      interval: 1s\n      timeout: 2s\n")),
            errors{"test.yaml:8:16: services[0].health_check.timeout: must not be longer than "
                   "interval (1000ms)"});
  EXPECT_EQ(errors_of(with_check("      interval: 5ms\n      timeout: 0s\n      jitter: 1s\n")),
            (errors{"test.yaml:7:17: services[0].health_check.interval: must be at least 10ms",
                    "test.yaml:8:16: services[0].health_check.timeout: must be greater than 0"}));
  EXPECT_EQ(errors_of(with_check("      interval: 100ms\n      jitter: 100ms\n")),
            (errors{"test.yaml:6:7: services[0].health_check.timeout: must not be longer than "
                    "interval (100ms)",
                    "test.yaml:8:15: services[0].health_check.jitter: must be shorter than "
                    "interval"}));
  EXPECT_EQ(errors_of(with_check("      rise: 0\n      fall: 101\n")),
            (errors{"test.yaml:7:13: services[0].health_check.rise: '0' is out of range (1..100)",
                    "test.yaml:8:13: services[0].health_check.fall: '101' is out of range "
                    "(1..100)"}));
}

TEST(config_errors, check_type_specific_keys) {
  EXPECT_EQ(errors_of(replace(valid_yaml, "type: tcp", "type: exec")),
            errors{"test.yaml:6:7: services[0].health_check.command: an exec check needs a "
                   "non-empty command"});
  EXPECT_EQ(errors_of(with_check("      path: /health\n      command: 'true'\n")),
            (errors{"test.yaml:7:13: services[0].health_check.path: only applies to http checks, "
                    "not tcp",
                    "test.yaml:8:16: services[0].health_check.command: only applies to exec "
                    "checks, not tcp"}));
  EXPECT_EQ(errors_of(replace(valid_yaml, "type: tcp", "type: http\n      path: health")),
            errors{"test.yaml:7:13: services[0].health_check.path: 'health' must start with '/'"});
  EXPECT_EQ(errors_of(replace(valid_yaml, "type: tcp", "type: http\n      expected_status: 99")),
            errors{"test.yaml:7:24: services[0].health_check.expected_status: '99' is out of "
                   "range (100..599)"});
}

TEST(config_errors, actions_are_validated) {
  auto e =
      errors_of(replace(valid_yaml, "      type: active_passive\n",
                        "      type: active_passive\n"
                        "      promote:\n"
                        "        - {name: up, type: exec, command: 'true', timeout: 0s}\n"
                        "        - {name: up, type: ssh, command: ''}\n"
                        "        - {name: env, type: exec, command: x, env: {lower: 1, OK: 2}}\n"
                        "        - {name: nocmd, type: exec}\n"));
  EXPECT_EQ(e, (errors{
                   "test.yaml:17:60: services[0].strategy.promote[0].timeout: must be greater "
                   "than 0",
                   "test.yaml:18:28: services[0].strategy.promote[1].type: 'ssh' is not one of: "
                   "exec, haproxy, redis, webhook, postgres",
                   "test.yaml:18:42: services[0].strategy.promote[1].command: must not be empty",
                   "test.yaml:18:18: services[0].strategy.promote[1].name: 'up' is already used "
                   "by services[0].strategy.promote[0]",
                   "test.yaml:19:53: services[0].strategy.promote[2].env.lower: 'lower' is not a "
                   "valid variable name ([A-Z_][A-Z0-9_]*)",
                   "test.yaml:20:11: services[0].strategy.promote[3]: missing required key "
                   "'command'",
               }));
}

TEST(config_errors, orchestrator_rules) {
  auto e = errors_of(replace(valid_yaml, "  data_dir: state\n",
                             "  database: ../x.db\n"
                             "  log_level: verbose\n"
                             "  supervisor:\n"
                             "    max_restarts: 0\n"
                             "    initial_backoff: 2s\n"
                             "    max_backoff: 1s\n"));
  EXPECT_EQ(e, (errors{
                   "test.yaml:2:13: orchestrator.database: '../x.db' must be a plain file name "
                   "(the folder is data_dir)",
                   "test.yaml:3:14: orchestrator.log_level: 'verbose' is not one of: trace, "
                   "debug, info, warn, error",
                   "test.yaml:5:19: orchestrator.supervisor.max_restarts: '0' is out of range "
                   "(1..1000)",
                   "test.yaml:7:18: orchestrator.supervisor.max_backoff: must not be shorter than "
                   "initial_backoff",
               }));
}

TEST(config_errors, syntax_error_has_a_location) {
  EXPECT_EQ(errors_of("services:\n  - name: [web\n"),
            errors{"test.yaml:3:1: (syntax): end of sequence flow not found"});
  EXPECT_EQ(errors_of("services:\n  - name: web\n   bad: 1\n"),
            errors{"test.yaml:3:4: (syntax): end of sequence not found"});
}

TEST(config_errors, top_level_must_be_a_mapping) {
  EXPECT_EQ(errors_of("- 1\n"),
            errors{"test.yaml:1:1: (top level): expected a mapping (key: value), got a list"});
  EXPECT_EQ(errors_of(""),
            errors{"test.yaml:1:1: (top level): expected a mapping (key: value), got nothing"});
}

TEST(config_errors, every_error_is_reported_at_once) {
  EXPECT_EQ(errors_of(R"(orchestrator:
  log_level: loud
  database: a/b.db
services:
  - name: Web
    colour: red
    health_check: {type: http, rise: 0, interval: 2}
    instances: []
    strategy: {type: active_passive}
)"),
            (errors{
                "test.yaml:3:13: orchestrator.database: 'a/b.db' must be a plain file name (the "
                "folder is data_dir)",
                "test.yaml:2:14: orchestrator.log_level: 'loud' is not one of: trace, debug, info, "
                "warn, error",
                "test.yaml:6:5: services[0].colour: unknown key (allowed: name, block_period, "
                "objectives, health_check, instances, strategy, shadow, min_healthy_standbys, "
                "depends_on, performance, readiness_interval, backup, postgres)",
                "test.yaml:5:11: services[0].name: 'Web' is not a valid name (lowercase letters, "
                "digits, '_', '.', '-'; starts with a letter or digit; at most 63 characters)",
                "test.yaml:7:51: services[0].health_check.interval: '2' has no unit (add a unit: "
                "ms, s, m, h; e.g. 2s)",
                "test.yaml:7:38: services[0].health_check.rise: '0' is out of range (1..100)",
                "test.yaml:8:16: services[0].instances: no instance has role primary: a service "
                "needs exactly one",
                "test.yaml:8:16: services[0].instances: no standby: an active_passive service "
                "needs at least one to fail over to",
            }));
}

TEST(config_errors, haproxy_redis_and_webhook_actions_need_their_own_keys) {
  auto has = [](const std::vector<std::string>& all, const std::string& part) {
    for (const auto& e : all)
      if (e.find(part) != std::string::npos)
        return true;
    return false;
  };
  auto e = errors_of(valid_yaml + "      promote:\n"
                                  "        - {name: lb, type: haproxy, backend: be, state: up}\n"
                                  "        - {name: r, type: redis, operation: pause_writes}\n"
                                  "        - {name: x, type: redis, operation: promote, "
                                  "command: 'true'}\n");
  EXPECT_TRUE(has(e, "services[0].strategy.promote[0]: missing required key 'socket'")) << e[0];
  EXPECT_TRUE(has(e, "services[0].strategy.promote[0].state: 'up' is not one of"));
  EXPECT_TRUE(has(e, "services[0].strategy.promote[1].pause: pause_writes needs pause"));
  EXPECT_TRUE(has(e, "services[0].strategy.promote[2].command: unknown key (allowed: name, type, "
                     "operation"));
  auto w = errors_of(valid_yaml + "      reroute:\n"
                                  "        - {name: w, type: webhook, url: 'ftp://x', method: "
                                  "FETCH, retries: 20}\n");
  EXPECT_TRUE(has(w, "reroute[0].url: must start with http:// or https://")) << w[0];
  EXPECT_TRUE(has(w, "reroute[0].method: 'FETCH' is not one of: GET, POST, PUT, PATCH, DELETE"));
  EXPECT_TRUE(has(w, "reroute[0].retries:"));
  EXPECT_EQ(errors_of(valid_yaml + "      fence:\n"
                                   "        - {name: lb, type: haproxy, socket: /run/h.sock, "
                                   "backend: be, state: maint, weight: 0}\n"
                                   "        - {name: r, type: redis, operation: pause_writes, "
                                   "pause: 30s}\n"
                                   "        - {name: w, type: webhook, url: 'https://lb/x', "
                                   "headers: {X-A: b}, body: '{}', retries: 2}\n"),
            errors{});
}

TEST(config_errors, fencing_position_rejoin_and_fast_detection_rules) {
  auto has = [](const std::vector<std::string>& all, const std::string& part) {
    for (const auto& e : all)
      if (e.find(part) != std::string::npos)
        return true;
    return false;
  };
  auto e = errors_of(valid_yaml + "      dead_when: sometimes\n"
                                  "      position: {name: p, type: redis, operation: promote}\n"
                                  "      rejoin:\n"
                                  "        - {name: f, type: redis, operation: follow, "
                                  "max_lag_bytes: 10}\n");
  EXPECT_TRUE(has(e, "services[0].strategy.dead_when: 'sometimes' is not one of: never, refused"))
      << (e.empty() ? "" : e[0]);
  EXPECT_TRUE(has(e, "services[0].strategy.position: must be a redis action with operation "
                     "offset, a postgres action with operation lsn, or an exec action"));
  EXPECT_TRUE(has(e, "services[0].strategy.rejoin[0].max_lag_bytes: only applies to the caught_up "
                     "operation"));
  EXPECT_EQ(errors_of(replace(valid_yaml, "      type: tcp\n",
                              "      type: http\n      fast_detection: true\n")),
            errors{"test.yaml:7:23: services[0].health_check.fast_detection: only applies to tcp, "
                   "redis and postgres checks, not http"});

  auto ok = load_config_text(
      replace(valid_yaml, "      type: tcp\n", "      type: redis\n      fast_detection: false\n") +
          "      dead_when: refused\n"
          "      position: {name: offset, type: redis, operation: offset}\n"
          "      checks:\n"
          "        - {name: in-sync, type: redis, operation: caught_up, max_lag_bytes: 4096}\n"
          "      rejoin:\n"
          "        - {name: follow, type: redis, operation: follow}\n",
      "test.yaml");
  ASSERT_TRUE(ok.errors.empty()) << to_string(ok.errors.front());
  const auto& svc = ok.config.services.front();
  EXPECT_EQ(svc.health_check.type, check_type::redis);
  EXPECT_FALSE(svc.health_check.fast_detection);
  EXPECT_EQ(svc.strategy.dead_when, dead_rule::refused);
  ASSERT_EQ(svc.strategy.position.size(), 1u);
  EXPECT_EQ(svc.strategy.position[0].operation, redis_operation::offset);
  EXPECT_EQ(svc.strategy.checks[0].max_lag_bytes, 4096);
  EXPECT_EQ(svc.strategy.rejoin[0].operation, redis_operation::follow);
}

TEST(config_errors, sla_is_a_percentage) {
  auto with_objectives = [](const std::string& sla) {
    return replace(valid_yaml, "    health_check:\n",
                   "    objectives: {sla: " + sla + "}\n    health_check:\n");
  };
  auto ok = load_config_text(with_objectives("'99.95%'"), "test.yaml");
  ASSERT_TRUE(ok.errors.empty()) << to_string(ok.errors.front());
  EXPECT_DOUBLE_EQ(ok.config.services[0].objective.sla_percent, 99.95);
  EXPECT_DOUBLE_EQ(load_config_text(valid_yaml, "t.yaml").config.services[0].objective.sla_percent,
                   99.9);
  EXPECT_EQ(errors_of(with_objectives("101")),
            errors{"test.yaml:5:23: services[0].objectives.sla: '101' is not a percentage above 0 "
                   "and at most 100"});
  EXPECT_EQ(errors_of(with_objectives("high")).size(), 1u);
}

TEST(config_errors, readiness_interval_and_actions) {
  EXPECT_EQ(errors_of(replace(valid_yaml, "    health_check:\n",
                              "    readiness_interval: 200ms\n    health_check:\n")),
            errors{"test.yaml:5:25: services[0].readiness_interval: must be at least 1s"});
  auto ok = load_config_text(valid_yaml + "      readiness:\n"
                                          "        - {name: lb-api, type: exec, command: 'true'}\n",
                             "test.yaml");
  ASSERT_TRUE(ok.errors.empty()) << to_string(ok.errors.front());
  EXPECT_EQ(ok.config.services[0].strategy.readiness.size(), 1u);
  EXPECT_EQ(ok.config.services[0].readiness_interval, std::chrono::seconds(30));
}

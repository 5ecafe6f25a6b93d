// PostgreSQL services (postgres: section, check, actions, data directories),
// the HAProxy action's new fields and socket lists, and the safe rejoin
// default of services whose data has one writer.
#include <gmock/gmock.h>

#include "tests/config/config_test_support.hpp"

using namespace switchyard::config;
using namespace switchyard::config::testing;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

// valid_yaml with its health check type and strategy actions replaced.
std::string service(const std::string& check, const std::string& strategy,
                    const std::string& extra = "") {
  auto yaml = replace(valid_yaml, "      type: tcp\n", "      type: " + check + "\n");
  yaml = replace(yaml, "      type: active_passive\n", "      type: active_passive\n" + strategy);
  if (!extra.empty())
    yaml = replace(yaml, "    health_check:\n", extra + "    health_check:\n");
  return yaml;
}

const service_settings& only_service(const load_result& r) {
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : to_string(r.errors.front()));
  return r.config.services.front();
}

} // namespace

TEST(data_service_config, a_redis_service_without_rejoin_gets_redis_follow_by_default) {
  auto r = load_config_text(service("redis", ""), "test.yaml");
  const auto& s = only_service(r);
  ASSERT_EQ(s.strategy.rejoin.size(), 1u);
  EXPECT_EQ(s.strategy.rejoin[0].type, action_type::redis);
  EXPECT_EQ(s.strategy.rejoin[0].operation, redis_operation::follow);
  EXPECT_TRUE(s.strategy.rejoin_defaulted);
  EXPECT_THAT(describe_rejoin(s), HasSubstr("default: redis follow"));
}

TEST(data_service_config, a_redis_action_alone_makes_a_service_one_with_a_single_writer) {
  auto r = load_config_text(
      service("tcp", "      promote:\n        - {name: p, type: redis, operation: promote}\n"),
      "test.yaml");
  EXPECT_TRUE(only_service(r).strategy.rejoin_defaulted);
}

TEST(data_service_config, rejoin_none_turns_the_default_off_and_says_what_that_means) {
  auto r = load_config_text(service("redis", "      rejoin: none\n"), "test.yaml");
  const auto& s = only_service(r);
  EXPECT_TRUE(s.strategy.rejoin.empty());
  EXPECT_TRUE(s.strategy.rejoin_none);
  EXPECT_FALSE(s.strategy.rejoin_defaulted);
  EXPECT_THAT(describe_rejoin(s), HasSubstr("may stay writable"));
}

TEST(data_service_config, configured_rejoin_actions_are_kept_as_written) {
  auto r = load_config_text(
      service("redis", "      rejoin:\n        - {name: mine, type: exec, command: 'true'}\n"),
      "test.yaml");
  const auto& s = only_service(r);
  ASSERT_EQ(s.strategy.rejoin.size(), 1u);
  EXPECT_EQ(s.strategy.rejoin[0].name, "mine");
  EXPECT_FALSE(s.strategy.rejoin_defaulted);
  EXPECT_THAT(describe_rejoin(s), HasSubstr("rejoin: mine"));
}

TEST(data_service_config, a_tcp_service_gets_no_default_rejoin) {
  auto r = load_config_text(valid_yaml, "test.yaml");
  const auto& s = only_service(r);
  EXPECT_TRUE(s.strategy.rejoin.empty());
  EXPECT_FALSE(s.strategy.rejoin_defaulted);
}

TEST(data_service_config, rejoin_must_be_a_list_or_none) {
  EXPECT_THAT(errors_of(service("redis", "      rejoin: never\n")),
              ElementsAre("test.yaml:16:15: services[0].strategy.rejoin: 'never' is not a list of "
                          "actions or none"));
}

TEST(data_service_config, a_postgres_service_gets_connection_defaults_and_postgres_rejoin) {
  auto r = load_config_text(service("postgres", ""), "test.yaml");
  const auto& s = only_service(r);
  ASSERT_TRUE(s.postgres.has_value());
  EXPECT_EQ(s.postgres->options, "dbname=postgres");
  EXPECT_FALSE(s.postgres->rewind);
  EXPECT_EQ(s.health_check.postgres_options, "dbname=postgres");
  ASSERT_EQ(s.strategy.rejoin.size(), 1u);
  EXPECT_EQ(s.strategy.rejoin[0].type, action_type::postgres);
  EXPECT_EQ(s.strategy.rejoin[0].pg_operation, postgres_operation::rejoin);
}

TEST(data_service_config, postgres_settings_and_actions_are_read) {
  auto r = load_config_text(
      service("postgres",
              "      position: {name: lsn, type: postgres, operation: lsn}\n"
              "      checks:\n"
              "        - {name: rpo, type: postgres, operation: caught_up, max_lag_bytes: 4096}\n"
              "      promote:\n        - {name: promote, type: postgres, operation: promote}\n",
              "    postgres:\n      options: user=switchyard dbname=app\n      rewind: true\n"),
      "test.yaml");
  // rewind needs every instance's data directory
  ASSERT_FALSE(r.errors.empty());
  EXPECT_THAT(to_string(r.errors.front()), HasSubstr("missing: web-a, web-b"));

  auto yaml = service("postgres",
                      "      position: {name: lsn, type: postgres, operation: lsn}\n"
                      "      checks:\n"
                      "        - {name: rpo, type: postgres, operation: caught_up, "
                      "max_lag_bytes: 4096}\n",
                      "    postgres:\n      options: user=switchyard dbname=app\n"
                      "      rewind: true\n");
  yaml = replace(yaml, "        role: primary\n",
                 "        role: primary\n        data_directory: /srv/pg/a\n");
  yaml = replace(yaml, "        role: standby\n",
                 "        role: standby\n        data_directory: /srv/pg/b\n");
  auto ok = load_config_text(yaml, "test.yaml");
  const auto& s = only_service(ok);
  EXPECT_EQ(s.postgres->options, "user=switchyard dbname=app");
  EXPECT_TRUE(s.postgres->rewind);
  EXPECT_EQ(s.instances[0].data_directory, "/srv/pg/a");
  ASSERT_EQ(s.strategy.position.size(), 1u);
  EXPECT_EQ(s.strategy.position[0].pg_operation, postgres_operation::lsn);
  ASSERT_EQ(s.strategy.checks.size(), 1u);
  EXPECT_EQ(s.strategy.checks[0].max_lag_bytes, 4096);
}

TEST(data_service_config, postgres_errors_name_file_line_and_field) {
  EXPECT_THAT(errors_of(service("postgres", "", "    postgres: {options: 'host=db1 dbname=x'}\n")),
              ElementsAre("test.yaml:5:25: services[0].postgres.options: 'host=db1 dbname=x' must "
                          "not set host: the host and port come from each instance's address"));
  EXPECT_THAT(errors_of(service("postgres", "", "    postgres: {options: 'dbname'}\n")),
              ElementsAre(HasSubstr("is not a libpq connection string: missing \"=\" after "
                                    "\"dbname\"")));
  EXPECT_THAT(errors_of(service("postgres", "", "    postgres: {bin_dir: bin}\n")),
              ElementsAre(HasSubstr("postgres.bin_dir: 'bin' must be an absolute path")));
  EXPECT_THAT(errors_of(service("postgres", "      fence:\n        - {name: f, type: postgres, "
                                            "operation: shout}\n")),
              ElementsAre(HasSubstr("services[0].strategy.fence[0].operation: 'shout'")));
  EXPECT_THAT(errors_of(service("postgres", "      fence:\n        - {name: f, type: postgres, "
                                            "operation: fence, max_lag_bytes: 5}\n")),
              ElementsAre(HasSubstr("max_lag_bytes: only applies to the caught_up operation")));
  EXPECT_THAT(
      errors_of(service("postgres", "      fence:\n        - {name: f, type: postgres, "
                                    "operation: stop}\n")),
      ElementsAre(HasSubstr("need every instance's data_directory (missing: web-a, web-b)")));
  auto relative = replace(service("postgres", ""), "        role: primary\n",
                          "        role: primary\n        data_directory: pg/a\n");
  EXPECT_THAT(errors_of(relative),
              ElementsAre(HasSubstr("instances[0].data_directory: 'pg/a' must be an absolute")));
}

TEST(data_service_config, a_haproxy_socket_list_becomes_one_step_per_instance) {
  auto r = load_config_text(service("tcp",
                                    "      fence:\n"
                                    "        - name: cut\n          type: haproxy\n"
                                    "          socket: [/run/haproxy-dc1.sock, 10.0.0.2:9999]\n"
                                    "          backend: be\n          state: maint\n"
                                    "          shutdown_sessions: true\n          health: down\n"),
                            "test.yaml");
  const auto& s = only_service(r);
  ASSERT_EQ(s.strategy.fence.size(), 2u);
  EXPECT_EQ(s.strategy.fence[0].name, "cut@1");
  EXPECT_EQ(s.strategy.fence[0].socket, "/run/haproxy-dc1.sock");
  EXPECT_EQ(s.strategy.fence[1].name, "cut@2");
  EXPECT_EQ(s.strategy.fence[1].socket, "10.0.0.2:9999");
  for (const auto& a : s.strategy.fence) {
    EXPECT_TRUE(a.shutdown_sessions);
    EXPECT_EQ(a.health, haproxy_health::down);
    EXPECT_EQ(a.state, haproxy_state::maint);
  }
}

TEST(data_service_config, haproxy_errors_name_the_field) {
  EXPECT_THAT(errors_of(service("tcp", "      reroute:\n"
                                       "        - {name: r, type: haproxy, socket: /s, backend: "
                                       "be, state: ready, shutdown_sessions: true}\n")),
              ElementsAre(HasSubstr("shutdown_sessions: only applies to state drain or maint")));
  EXPECT_THAT(errors_of(service("tcp", "      reroute:\n"
                                       "        - {name: r, type: haproxy, socket: [], backend: "
                                       "be, state: ready}\n")),
              ElementsAre(HasSubstr("reroute[0].socket: lists no socket")));
  EXPECT_THAT(errors_of(service("tcp", "      reroute:\n"
                                       "        - {name: r, type: haproxy, socket: /s, backend: "
                                       "be, state: ready, health: sideways}\n")),
              ElementsAre(HasSubstr("reroute[0].health: 'sideways'")));
}

TEST(data_service_config, an_action_may_target_the_other_standbys_after_the_fence) {
  auto r = load_config_text(service("postgres",
                                    "      reroute:\n        - {name: repoint, type: postgres, "
                                    "operation: follow, target: other_standbys}\n"),
                            "test.yaml");
  const auto& s = only_service(r);
  ASSERT_EQ(s.strategy.reroute.size(), 1u);
  EXPECT_TRUE(s.strategy.reroute[0].on_other_standbys);
  EXPECT_THAT(errors_of(service("postgres", "      fence:\n        - {name: f, type: postgres, "
                                            "operation: fence, target: other_standbys}\n")),
              ElementsAre(HasSubstr("fence[0].target: other_standbys only applies to promote, "
                                    "reroute and verify actions")));
}

TEST(data_service_config, restart_in_place_is_read_and_checked) {
  auto r = load_config_text(
      service("postgres", "      restart_in_place:\n        deadline: 8s\n        actions:\n"
                          "          - {name: start, type: exec, command: 'systemctl start pg'}\n"),
      "test.yaml");
  const auto& s = only_service(r);
  ASSERT_TRUE(s.strategy.restart_in_place.has_value());
  EXPECT_EQ(s.strategy.restart_in_place->deadline, milliseconds{8000});
  ASSERT_EQ(s.strategy.restart_in_place->actions.size(), 1u);
  EXPECT_EQ(s.strategy.restart_in_place->actions[0].name, "start");
  EXPECT_THAT(
      errors_of(service("postgres", "      restart_in_place: {deadline: 0s, actions: []}\n")),
      ElementsAre(HasSubstr("restart_in_place.deadline: must be greater than 0"),
                  HasSubstr("restart_in_place.actions: lists no action")));
  EXPECT_THAT(errors_of(service("postgres", "      restart_in_place: {deadline: 5s}\n")),
              ElementsAre(HasSubstr("restart_in_place: missing required key 'actions'")));
  EXPECT_THAT(
      errors_of(service("postgres", "      restart_in_place:\n        actions:\n"
                                    "          - {name: s, type: postgres, operation: start}\n")),
      ElementsAre(HasSubstr("need every instance's data_directory (missing: web-a, web-b)")))
      << "postgres start runs pg_ctl here";
}

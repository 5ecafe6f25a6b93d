// cluster: (the replicas, etcd, the leader lease and the quorum): every key
// read, the defaults, no section at all, every mistake as
// `file:line:column: field: message`, and a changed section on reload.
#include <gmock/gmock.h>

#include "config/diff.hpp"
#include "tests/config/config_test_support.hpp"

using namespace std::chrono_literals;
using namespace switchyard::config;
using namespace switchyard::config::testing;
using errors = std::vector<std::string>;
using ::testing::ElementsAre;
using ::testing::StartsWith;

namespace {

// valid_yaml is 15 lines: `cluster:` is line 16, the lines of the section
// from 17 on.
std::string with_cluster(const std::string& lines) {
  return valid_yaml + "cluster:\n" + lines;
}

// The three required keys, lines 17 to 25; lines added after them start at 26.
const std::string required = "  member: sy-a\n"                                              // 17
                             "  members:\n"                                                  // 18
                             "    - name: sy-a\n"                                            // 19
                             "      api: 10.0.0.1:7400\n"                                    // 20
                             "    - name: sy-b\n"                                            // 21
                             "      api: 10.0.0.2:7400\n"                                    // 22
                             "    - name: sy-c\n"                                            // 23
                             "      api: 10.0.0.3:7400\n"                                    // 24
                             "  endpoints: [10.0.0.1:2379, 10.0.0.2:2379, 10.0.0.3:2379]\n"; // 25

std::string cluster_with(const std::string& more) {
  return with_cluster(required + more);
}

std::string first_error(const load_result& r) {
  return r.errors.empty() ? "" : to_string(r.errors.front());
}

} // namespace

TEST(cluster_config, no_section_is_a_single_switchyardd) {
  auto r = load_config_text(valid_yaml, "test.yaml");
  ASSERT_TRUE(r.ok()) << first_error(r);
  EXPECT_FALSE(r.config.cluster.has_value());
}

TEST(cluster_config, every_key_is_read) {
  auto r = load_config_text(with_cluster("  member: sy-b\n"
                                         "  members:\n"
                                         "    - name: sy-a\n"
                                         "      api: 10.0.0.1:7400\n"
                                         "    - {name: sy-b, api: 'node-b.example:7500'}\n"
                                         "    - name: sy-c\n"
                                         "      api: \"[fd00::3]:7400\"\n"
                                         "  endpoints:\n"
                                         "    - 10.0.0.1:2379\n"
                                         "    - etcd-2.example:2379\n"
                                         "  prefix: /prod/switchyard\n"
                                         "  lease_ttl: 5s\n"
                                         "  keepalive_interval: 1s\n"
                                         "  safety_margin: 800ms\n"
                                         "  request_timeout: 2s\n"
                                         "  election_retry: 250ms\n"
                                         "  quorum: 3\n"),
                            "test.yaml");
  ASSERT_TRUE(r.ok()) << first_error(r);
  ASSERT_TRUE(r.config.cluster.has_value());
  const auto& c = *r.config.cluster;
  EXPECT_EQ(c.member, "sy-b");
  EXPECT_EQ(c.members, (std::vector<cluster_member>{{"sy-a", "10.0.0.1:7400"},
                                                    {"sy-b", "node-b.example:7500"},
                                                    {"sy-c", "[fd00::3]:7400"}}));
  EXPECT_EQ(c.endpoints, (std::vector<std::string>{"10.0.0.1:2379", "etcd-2.example:2379"}));
  EXPECT_EQ(c.prefix, "/prod/switchyard");
  EXPECT_EQ(c.lease_ttl, 5s);
  EXPECT_EQ(c.keepalive_interval, 1s);
  EXPECT_EQ(c.safety_margin, 800ms);
  EXPECT_EQ(c.request_timeout, 2s);
  EXPECT_EQ(c.election_retry, 250ms);
  EXPECT_EQ(c.quorum, std::optional<int>{3});
  EXPECT_EQ(c.mark.file, "test.yaml");
  EXPECT_EQ(c.mark.line, 16);
  EXPECT_EQ(c.mark.column, 1);
  ASSERT_NE(c.find("sy-c"), nullptr);
  EXPECT_EQ(c.find("sy-c")->api, "[fd00::3]:7400");
  EXPECT_EQ(c.find("sy-d"), nullptr);
}

TEST(cluster_config, defaults_with_only_the_required_keys) {
  auto r = load_config_text(with_cluster(required), "test.yaml");
  ASSERT_TRUE(r.ok()) << first_error(r);
  ASSERT_TRUE(r.config.cluster.has_value());
  const auto& c = *r.config.cluster;
  EXPECT_EQ(c.member, "sy-a");
  EXPECT_EQ(c.members.size(), 3u);
  EXPECT_EQ(c.endpoints.size(), 3u);
  EXPECT_EQ(c.prefix, "/switchyard");
  EXPECT_EQ(c.lease_ttl, 2s);
  EXPECT_EQ(c.keepalive_interval, 500ms);
  EXPECT_EQ(c.safety_margin, 300ms);
  EXPECT_EQ(c.request_timeout, 1s);
  EXPECT_EQ(c.election_retry, 500ms);
  EXPECT_FALSE(c.quorum.has_value());
}

TEST(cluster_config, a_member_api_other_than_api_listen_is_fine) {
  // Advertised (NAT) addresses: api.listen is 127.0.0.1:7400 by default.
  auto r = load_config_text(with_cluster(required), "test.yaml");
  ASSERT_TRUE(r.ok()) << first_error(r);
  EXPECT_NE(r.config.cluster->find("sy-a")->api, r.config.api.listen);
}

TEST(cluster_config, unknown_keys) {
  EXPECT_EQ(errors_of(cluster_with("  leader_ttl: 2s\n")),
            errors{"test.yaml:26:3: cluster.leader_ttl: unknown key (allowed: member, members, "
                   "endpoints, prefix, lease_ttl, keepalive_interval, safety_margin, "
                   "request_timeout, election_retry, quorum)"});
  EXPECT_EQ(errors_of(with_cluster(replace(required, "      api: 10.0.0.2:7400\n",
                                           "      api: 10.0.0.2:7400\n      port: 7400\n"))),
            errors{"test.yaml:23:7: cluster.members[1].port: unknown key (allowed: name, api)"});
}

TEST(cluster_config, missing_required_keys) {
  EXPECT_EQ(errors_of(with_cluster("  member: sy-a\n"
                                   "  members: [{name: sy-a, api: 10.0.0.1:7400}]\n")),
            errors{"test.yaml:17:3: cluster: missing required key 'endpoints'"});
  EXPECT_EQ(errors_of(with_cluster("  members: [{name: sy-a, api: 10.0.0.1:7400}]\n"
                                   "  endpoints: [10.0.0.1:2379]\n")),
            errors{"test.yaml:17:3: cluster: missing required key 'member'"});
  EXPECT_EQ(errors_of(with_cluster(replace(required, "      api: 10.0.0.3:7400\n", ""))),
            errors{"test.yaml:23:7: cluster.members[2]: missing required key 'api'"});
  EXPECT_EQ(errors_of("cluster:\n" + valid_yaml),
            errors{"test.yaml:2:1: cluster: expected a mapping (key: value), got nothing"});
}

TEST(cluster_config, member_must_be_one_of_the_members) {
  EXPECT_EQ(errors_of(with_cluster(replace(required, "member: sy-a", "member: sy-d"))),
            errors{"test.yaml:17:11: cluster.member: 'sy-d' is not one of cluster.members (sy-a, "
                   "sy-b, sy-c): each replica names itself there"});
  EXPECT_EQ(errors_of(with_cluster(replace(required, "member: sy-a", "member: SY-A"))),
            errors{"test.yaml:17:11: cluster.member: 'SY-A' is not a valid name (lowercase "
                   "letters, digits, '_', '.', '-'; starts with a letter or digit; at most 63 "
                   "characters)"});
}

TEST(cluster_config, member_names_are_valid_and_unique) {
  // The error is at the duplicate, naming the first.
  EXPECT_EQ(errors_of(with_cluster(replace(required, "name: sy-b", "name: sy-a"))),
            errors{"test.yaml:21:13: cluster.members[1].name: 'sy-a' is already used by "
                   "cluster.members[0]"});
  EXPECT_EQ(errors_of(with_cluster(replace(required, "name: sy-c", "name: sy/c"))),
            errors{"test.yaml:23:13: cluster.members[2].name: 'sy/c' is not a valid name "
                   "(lowercase letters, digits, '_', '.', '-'; starts with a letter or digit; at "
                   "most 63 characters)"});
  EXPECT_EQ(errors_of(with_cluster("  member: sy-a\n"
                                   "  members: []\n"
                                   "  endpoints: [10.0.0.1:2379]\n")),
            errors{"test.yaml:18:12: cluster.members: at least one member is required (this "
                   "replica included)"});
}

TEST(cluster_config, member_api_is_host_and_port) {
  const std::string why = "' is not host:port with a port from 1 to 65535 (where that replica's "
                          "API answers, e.g. 10.0.0.1:7400)";
  EXPECT_EQ(errors_of(with_cluster(replace(required, "api: 10.0.0.2:7400", "api: 10.0.0.2"))),
            errors{"test.yaml:22:12: cluster.members[1].api: '10.0.0.2" + why});
  EXPECT_EQ(errors_of(with_cluster(replace(required, "api: 10.0.0.2:7400", "api: 10.0.0.2:0"))),
            errors{"test.yaml:22:12: cluster.members[1].api: '10.0.0.2:0" + why});
  EXPECT_EQ(errors_of(with_cluster(replace(required, "api: 10.0.0.3:7400", "api: 10.0.0.3:70000"))),
            errors{"test.yaml:24:12: cluster.members[2].api: '10.0.0.3:70000" + why});
}

TEST(cluster_config, endpoints) {
  const std::string no_endpoints =
      replace(required, "  endpoints: [10.0.0.1:2379, 10.0.0.2:2379, 10.0.0.3:2379]\n", "");
  EXPECT_EQ(errors_of(with_cluster(no_endpoints + "  endpoints: []\n")),
            errors{"test.yaml:25:14: cluster.endpoints: at least one etcd client endpoint "
                   "(host:port) is required"});
  EXPECT_EQ(errors_of(with_cluster(no_endpoints + "  endpoints:\n"
                                                  "    - 10.0.0.1:2379\n"
                                                  "    - http://10.0.0.2:2379\n"
                                                  "    - 10.0.0.3:0\n")),
            (errors{"test.yaml:27:7: cluster.endpoints[1]: 'http://10.0.0.2:2379' is not "
                    "host:port with a port from 1 to 65535 (an etcd client endpoint, e.g. "
                    "10.0.0.1:2379)",
                    "test.yaml:28:7: cluster.endpoints[2]: '10.0.0.3:0' is not host:port with a "
                    "port from 1 to 65535 (an etcd client endpoint, e.g. 10.0.0.1:2379)"}));
  EXPECT_EQ(errors_of(with_cluster(no_endpoints + "  endpoints:\n"
                                                  "    - 10.0.0.1:2379\n"
                                                  "    - 10.0.0.1:2379\n")),
            errors{"test.yaml:27:7: cluster.endpoints[1]: '10.0.0.1:2379' is already listed as "
                   "cluster.endpoints[0]"});
  EXPECT_EQ(errors_of(with_cluster(no_endpoints + "  endpoints: 10.0.0.1:2379\n")),
            errors{"test.yaml:25:14: cluster.endpoints: expected a list, got a single value"});
}

TEST(cluster_config, prefix) {
  EXPECT_EQ(errors_of(cluster_with("  prefix: switchyard\n")),
            errors{"test.yaml:26:11: cluster.prefix: 'switchyard' must start with '/' (e.g. "
                   "/switchyard)"});
  EXPECT_EQ(errors_of(cluster_with("  prefix: /switchyard/\n")),
            errors{"test.yaml:26:11: cluster.prefix: '/switchyard/' must not end with '/' (the "
                   "keys below it add their own) (e.g. /switchyard)"});
  EXPECT_EQ(errors_of(cluster_with("  prefix: /\n")),
            errors{"test.yaml:26:11: cluster.prefix: '/' must not be just '/' (every key of etcd "
                   "would be ours) (e.g. /switchyard)"});
  EXPECT_EQ(errors_of(cluster_with("  prefix: /switch yard\n")),
            errors{"test.yaml:26:11: cluster.prefix: '/switch yard' must not contain whitespace "
                   "(e.g. /switchyard)"});
  EXPECT_EQ(errors_of(cluster_with("  prefix: ''\n")),
            errors{"test.yaml:26:11: cluster.prefix: '' must start with '/' (e.g. /switchyard)"});
}

TEST(cluster_config, lease_timings_follow_the_lease_rules) {
  EXPECT_EQ(errors_of(cluster_with("  lease_ttl: 1500ms\n")),
            errors{"test.yaml:26:14: cluster.lease_ttl: 1500 ms is not a whole number of seconds "
                   "(etcd counts lease TTLs in seconds)"});
  EXPECT_EQ(errors_of(cluster_with("  lease_ttl: 500ms\n")),
            errors{"test.yaml:26:14: cluster.lease_ttl: 500 ms is below 1 s, the shortest lease "
                   "etcd grants"});
  // keepalive >= ttl: at keepalive_interval, with our name for the TTL.
  EXPECT_EQ(errors_of(cluster_with("  lease_ttl: 2s\n  keepalive_interval: 2s\n")),
            errors{"test.yaml:27:23: cluster.keepalive_interval: 2000 ms must be shorter than "
                   "lease_ttl (2000 ms), or the lease expires between two renewals"});
  EXPECT_EQ(errors_of(cluster_with("  safety_margin: 0ms\n")),
            errors{"test.yaml:26:18: cluster.safety_margin: must be positive, is 0 ms (a leader "
                   "would act up to the instant its lease may expire)"});
  EXPECT_EQ(errors_of(cluster_with("  request_timeout: 0s\n")),
            errors{"test.yaml:26:20: cluster.request_timeout: must be positive, is 0 ms"});
  // retry_interval is election_retry here.
  EXPECT_EQ(errors_of(cluster_with("  election_retry: 0s\n")),
            errors{"test.yaml:26:19: cluster.election_retry: must be positive, is 0 ms"});
  // A malformed duration is one error; the rules do not judge the default.
  EXPECT_EQ(errors_of(cluster_with("  lease_ttl: 2\n")),
            errors{"test.yaml:26:14: cluster.lease_ttl: '2' has no unit (add a unit: ms, s, m, h; "
                   "e.g. 2s)"});
}

TEST(cluster_config, the_combined_rule_is_reported_where_it_can_be_fixed) {
  const std::string rule =
      "keepalive_interval + request_timeout + safety_margin (1000 ms + 1000 ms + 300 ms) must be "
      "shorter than lease_ttl (2000 ms), or a single keep-alive that times out stops a healthy "
      "leader";
  // At keepalive_interval when it is written.
  EXPECT_EQ(errors_of(cluster_with("  lease_ttl: 2s\n"
                                   "  keepalive_interval: 1s\n"
                                   "  request_timeout: 1s\n")),
            errors{"test.yaml:27:23: cluster.keepalive_interval: " + rule});
  // Else at lease_ttl.
  EXPECT_EQ(errors_of(cluster_with("  lease_ttl: 1s\n")),
            errors{"test.yaml:26:14: cluster.lease_ttl: keepalive_interval + request_timeout + "
                   "safety_margin (500 ms + 1000 ms + 300 ms) must be shorter than lease_ttl "
                   "(1000 ms), or a single keep-alive that times out stops a healthy leader"});
  // Else at the section.
  EXPECT_EQ(errors_of(cluster_with("  request_timeout: 2s\n")),
            errors{"test.yaml:17:3: cluster: keepalive_interval + request_timeout + safety_margin "
                   "(500 ms + 2000 ms + 300 ms) must be shorter than lease_ttl (2000 ms), or a "
                   "single keep-alive that times out stops a healthy leader"});
}

TEST(cluster_config, quorum_follows_the_quorum_rules) {
  EXPECT_EQ(errors_of(cluster_with("  quorum: 4\n")),
            errors{"test.yaml:26:11: cluster.quorum: 4 is more than the 3 members (no instance "
                   "could ever be objectively down)"});
  EXPECT_EQ(errors_of(cluster_with("  quorum: 0\n")),
            errors{"test.yaml:26:11: cluster.quorum: 0 is below 1 (every instance would be "
                   "objectively down without a report)"});
  EXPECT_EQ(errors_of(cluster_with("  quorum: -1\n")),
            errors{"test.yaml:26:11: cluster.quorum: -1 is below 1 (every instance would be "
                   "objectively down without a report)"});
  EXPECT_EQ(errors_of(cluster_with("  quorum: two\n")),
            errors{"test.yaml:26:11: cluster.quorum: 'two' is not a whole number"});
  auto r = load_config_text(cluster_with("  quorum: 1\n"), "test.yaml");
  ASSERT_TRUE(r.ok()) << first_error(r);
  EXPECT_EQ(r.config.cluster->quorum, std::optional<int>{1});
}

TEST(cluster_config, every_mistake_is_reported_at_once) {
  auto errs = errors_of(with_cluster("  member: sy-z\n"
                                     "  members:\n"
                                     "    - {name: sy-a, api: 10.0.0.1:7400}\n"
                                     "  endpoints: []\n"
                                     "  lease_ttl: 1500ms\n"));
  ASSERT_EQ(errs.size(), 3u);
  EXPECT_THAT(errs[0], StartsWith("test.yaml:17:11: cluster.member: 'sy-z' is not one of"));
  EXPECT_THAT(errs[1], StartsWith("test.yaml:20:14: cluster.endpoints: at least one"));
  EXPECT_THAT(errs[2], StartsWith("test.yaml:21:14: cluster.lease_ttl: 1500 ms"));
}

TEST(cluster_config, a_changed_cluster_takes_effect_at_restart) {
  auto before = load_config_text(cluster_with(""), "test.yaml");
  auto after = load_config_text(cluster_with("  lease_ttl: 5s\n"), "test.yaml");
  auto none = load_config_text(valid_yaml, "test.yaml");
  ASSERT_TRUE(before.ok() && after.ok() && none.ok());
  auto c = diff_configs(before.config, after.config);
  EXPECT_FALSE(c.services_changed());
  EXPECT_THAT(c.need_restart, ElementsAre("cluster"));
  // Added or removed: the same.
  EXPECT_THAT(diff_configs(none.config, before.config).need_restart, ElementsAre("cluster"));
  EXPECT_THAT(diff_configs(before.config, none.config).need_restart, ElementsAre("cluster"));
  // Moved down the file (another mark) is not a change.
  auto moved = load_config_text("cluster:\n" + required + valid_yaml, "test.yaml");
  ASSERT_TRUE(moved.ok()) << first_error(moved);
  EXPECT_TRUE(diff_configs(before.config, moved.config).need_restart.empty());
}

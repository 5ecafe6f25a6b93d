// backups: policies of tiers and a service's backup: section, with their
// errors at file:line:column: field.
#include <gmock/gmock.h>

#include "tests/config/config_test_support.hpp"

using namespace switchyard::config;
using namespace switchyard::config::testing;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

const std::string policies = R"(backups:
  work_dir: scratch
  state: {policy: standard}
  policies:
    - name: standard
      compression_level: 5
      verify_every: 6h
      tiers:
        - name: local
          destination: {path: backups/local}
          site: dc1
          every: 1h
          full_every: 6
          keep: 48
        - name: cloud
          destination:
            upload: aws s3 cp {file} s3://bucket/{name}
            download: aws s3 cp s3://bucket/{name} {file}
            remove: aws s3 rm s3://bucket/{name}
            timeout: 20m
          site: cloud
          medium: object-store
          every: 7d
          keep_for: 90d
)";

std::string with_service_backup(const std::string& backup) {
  return policies + replace(valid_yaml, "    health_check:\n",
                            "    backup: " + backup + "\n    health_check:\n");
}

} // namespace

TEST(backup_policy_config, policies_tiers_and_a_service_source_are_read) {
  auto r = load_config_text(with_service_backup("{policy: standard, source: redis}"),
                            "/etc/switchyard/test.yaml");
  ASSERT_TRUE(r.errors.empty()) << to_string(r.errors.front());
  const auto& b = r.config.backups;
  ASSERT_EQ(b.policies.size(), 1u);
  const auto& p = b.policies[0];
  EXPECT_EQ(p.compression_level, 5);
  EXPECT_EQ(p.verify_every, milliseconds{6 * 3'600'000});
  ASSERT_EQ(p.tiers.size(), 2u);
  EXPECT_EQ(p.tiers[0].destination.path, "/etc/switchyard/backups/local")
      << "relative to the configuration file";
  EXPECT_EQ(p.tiers[0].full_every, 6);
  EXPECT_EQ(p.tiers[0].keep, 48);
  EXPECT_EQ(p.tiers[0].medium, "disk") << "the default medium";
  EXPECT_FALSE(p.tiers[1].destination.is_directory());
  EXPECT_EQ(p.tiers[1].destination.timeout, milliseconds{20 * 60'000});
  EXPECT_EQ(p.tiers[1].every, milliseconds{7 * 86'400'000LL});
  EXPECT_EQ(p.tiers[1].keep_for, milliseconds{90 * 86'400'000LL});
  EXPECT_EQ(b.state_policy, "standard");
  EXPECT_EQ(b.work_dir, "/etc/switchyard/scratch");
  ASSERT_TRUE(r.config.services[0].backup.has_value());
  EXPECT_EQ(r.config.services[0].backup->policy, "standard");
  EXPECT_EQ(r.config.services[0].backup->source, backup_source_kind::redis);
}

TEST(backup_policy_config, the_work_dir_defaults_to_the_data_dir) {
  auto r = load_config_text(valid_yaml, "/etc/switchyard/test.yaml");
  ASSERT_TRUE(r.errors.empty());
  EXPECT_EQ(r.config.backups.work_dir, "/etc/switchyard/state/backup-work");
  EXPECT_FALSE(r.config.services[0].backup.has_value());
}

TEST(backup_policy_config, an_exec_source_needs_a_command_writing_output) {
  auto ok = load_config_text(
      with_service_backup(
          "{policy: standard, source: exec, command: 'tar -C /srv -cf {output} .'}"),
      "test.yaml");
  ASSERT_TRUE(ok.errors.empty()) << to_string(ok.errors.front());
  EXPECT_EQ(ok.config.services[0].backup->source, backup_source_kind::exec);

  EXPECT_THAT(errors_of(with_service_backup("{policy: standard, source: exec, command: 'true'}")),
              ElementsAre(HasSubstr("test.yaml:29:55: services[0].backup.command: must use "
                                    "{output}")));
  EXPECT_THAT(errors_of(with_service_backup("{policy: standard, source: exec}")),
              ElementsAre(HasSubstr("services[0].backup: source exec needs a command")));
  EXPECT_THAT(errors_of(with_service_backup("{policy: standard, command: 'x {output}'}")),
              ElementsAre(HasSubstr("command and directory are for source exec")));
}

TEST(backup_policy_config, an_unknown_policy_is_named_with_the_known_ones) {
  EXPECT_THAT(errors_of(with_service_backup("{policy: gold}")),
              ElementsAre("test.yaml:29:22: services[0].backup.policy: 'gold' is not a backup "
                          "policy (policies: standard)"));
  EXPECT_THAT(
      errors_of(replace(policies, "state: {policy: standard}", "state: {policy: x}") + valid_yaml),
      ElementsAre(HasSubstr("backups.state.policy: 'x' is not a backup policy")));
}

TEST(backup_policy_config, tiers_are_checked_field_by_field) {
  auto bad = [&](const std::string& from, const std::string& to) {
    return errors_of(replace(policies, from, to) + valid_yaml);
  };
  EXPECT_THAT(
      bad("every: 1h", "every: 10ms"),
      ElementsAre("test.yaml:12:18: backups.policies[0].tiers[0].every: must be at least 1s"));
  EXPECT_THAT(bad("full_every: 6", "full_every: -1"),
              ElementsAre(HasSubstr("backups.policies[0].tiers[0].full_every:")));
  EXPECT_THAT(bad("compression_level: 5", "compression_level: 30"),
              ElementsAre(HasSubstr("backups.policies[0].compression_level:")));
  EXPECT_THAT(bad("destination: {path: backups/local}", "destination: {}"),
              ElementsAre(HasSubstr("tiers[0].destination: path (a directory) or upload and "
                                    "download commands are required")));
  EXPECT_THAT(bad("destination: {path: backups/local}",
                  "destination: {path: x, upload: 'cp {file} {name}'}"),
              ElementsAre(HasSubstr("either path (a directory) or upload/download commands")));
  EXPECT_THAT(
      bad("            download: aws s3 cp s3://bucket/{name} {file}\n", ""),
      ElementsAre(HasSubstr("tiers[1].destination: upload and download are both required")));
  EXPECT_THAT(bad("upload: aws s3 cp {file} s3://bucket/{name}", "upload: aws s3 cp {file} s3://b"),
              ElementsAre(HasSubstr("tiers[1].destination.upload: must use both {file}")));
  EXPECT_THAT(bad("        - name: cloud", "        - name: local"),
              ElementsAre(HasSubstr("tiers[1].name: 'local' is already used by "
                                    "backups.policies[0].tiers[0]")));
  EXPECT_THAT(bad("          every: 1h\n", "          every: 1h\n          hourly: true\n"),
              ElementsAre(HasSubstr("hourly")));
  EXPECT_THAT(bad("      tiers:\n        - name: local",
                  "      tiers: []\n      x:\n        - name: local"),
              ::testing::Contains(HasSubstr("at least one tier is required")));
}

TEST(backup_policy_config, a_tier_site_must_be_a_listed_site) {
  auto yaml = policies + "sites:\n  - name: dc1\n" +
              replace(valid_yaml, "role: primary", "role: primary\n        site: dc1");
  yaml = replace(yaml, "role: standby", "role: standby\n        site: dc1");
  EXPECT_THAT(errors_of(yaml),
              ElementsAre(HasSubstr("backups.policies[0].tiers[1].site: 'cloud' is not one of the "
                                    "sites listed under `sites:`")));
}

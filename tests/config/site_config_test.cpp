// `sites:`, `orchestrator.site_switchover` and the strategy's `prepare` and
// `integrity` actions: what the loader accepts and how it names mistakes.
#include "tests/config/config_test_support.hpp"

using namespace std::chrono_literals;
using namespace switchyard::config;
using namespace switchyard::config::testing;

namespace {

std::string with_sites(const std::string& sites) {
  return replace(valid_yaml, "services:\n", sites + "services:\n");
}

TEST(site_config, without_sites_the_sites_are_those_the_instances_name) {
  auto r = load_config_text(valid_yaml, "test.yaml");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.config.sites.size(), 1u);
  EXPECT_EQ(r.config.sites[0].name, "default");
  EXPECT_EQ(r.config.orchestrator.site_switchover.parallelism, 4);
  EXPECT_EQ(r.config.orchestrator.site_switchover.drill_interval, 90 * 24h);
}

TEST(site_config, an_instance_must_name_a_listed_site) {
  const std::vector<std::string> both{
      "test.yaml:11:9: services[0].instances[0].site: 'default' is not one of the sites "
      "listed under `sites:`",
      "test.yaml:14:9: services[0].instances[1].site: 'default' is not one of the sites "
      "listed under `sites:`"};
  EXPECT_EQ(errors_of(with_sites("sites:\n  - {name: dc1}\n  - {name: dc2}\n")), both);
  auto yaml = with_sites("sites:\n  - {name: dc1}\n  - {name: dc2}\n");
  yaml = replace(yaml, "        role: primary\n", "        role: primary\n        site: dc1\n");
  yaml = replace(yaml, "        role: standby\n", "        role: standby\n        site: dc3\n");
  auto errors = errors_of(yaml);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("services[0].instances[1].site: 'dc3' is not one of the sites"),
            std::string::npos)
      << errors[0];
}

TEST(site_config, site_names_are_unique_and_not_empty) {
  auto errors = errors_of(with_sites("sites:\n  - {name: dc1}\n  - {name: dc1}\n  - {name: \"\"}\n"
                                     "  - {nme: x}\n"));
  std::string all;
  for (const auto& e : errors)
    all += e + "\n";
  EXPECT_NE(all.find("sites[1].name: 'dc1' is already used by sites[0]"), std::string::npos) << all;
  EXPECT_NE(all.find("sites[2].name: must not be empty"), std::string::npos) << all;
  EXPECT_NE(all.find("sites[3].nme: unknown key"), std::string::npos) << all;
}

TEST(site_config, site_switchover_settings_are_checked) {
  auto yaml = replace(valid_yaml, "  data_dir: state\n",
                      "  data_dir: state\n  site_switchover: {parallelism: 0, "
                      "prepare_timeout: 0s, verify_timeout: 5s, drill_interval: 30d}\n");
  auto errors = errors_of(yaml);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find("orchestrator.site_switchover.parallelism"), std::string::npos)
      << errors[0];
  EXPECT_NE(errors[1].find("orchestrator.site_switchover.prepare_timeout: must be greater than 0"),
            std::string::npos)
      << errors[1];
}

TEST(site_config, prepare_and_integrity_are_action_lists) {
  auto yaml = replace(valid_yaml, "      type: active_passive\n",
                      "      type: active_passive\n"
                      "      prepare:\n"
                      "        - {name: pause, type: exec, command: pause, rollback: resume}\n"
                      "      integrity:\n"
                      "        - {name: sum, type: exec, command: checksum}\n");
  auto r = load_config_text(yaml, "test.yaml");
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : to_string(r.errors[0]));
  const auto& s = r.config.services[0].strategy;
  ASSERT_EQ(s.prepare.size(), 1u);
  EXPECT_EQ(s.prepare[0].rollback, "resume");
  ASSERT_EQ(s.integrity.size(), 1u);
  EXPECT_EQ(s.integrity[0].command, "checksum");
}

} // namespace

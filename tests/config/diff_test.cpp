// What a reload changes: services added, removed and changed, restart-only
// sections, and that moving text around in the file is not a change.
#include <gtest/gtest.h>

#include "config/diff.hpp"
#include "tests/config/config_test_support.hpp"

using namespace switchyard::config;
using switchyard::config::testing::valid_yaml;

namespace {

switchyard_config load(const std::string& yaml) {
  auto r = load_config_text(yaml, "test.yaml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : to_string(r.errors.front()));
  return r.config;
}

std::string with_service(const std::string& name, const std::string& extra = {}) {
  return "  - name: " + name + "\n" + extra +
         "    health_check: {type: tcp}\n"
         "    instances:\n"
         "      - {name: " +
         name +
         "-a, address: 127.0.0.1:9001, role: primary}\n"
         "      - {name: " +
         name +
         "-b, address: 127.0.0.1:9002, role: standby}\n"
         "    strategy: {type: active_passive}\n";
}

} // namespace

TEST(config_diff, the_same_file_changes_nothing) {
  auto a = load(valid_yaml);
  auto c = diff_configs(a, load(valid_yaml));
  EXPECT_FALSE(c.services_changed());
  EXPECT_TRUE(c.need_restart.empty());
}

TEST(config_diff, added_removed_and_changed_services_are_named) {
  auto before = load(valid_yaml + with_service("db"));
  auto after = load(valid_yaml + with_service("cache"));
  auto c = diff_configs(before, after);
  EXPECT_EQ(c.added, (std::vector<std::string>{"cache"}));
  EXPECT_EQ(c.removed, (std::vector<std::string>{"db"}));
  EXPECT_TRUE(c.changed.empty());

  auto changed = load(valid_yaml + with_service("db", "    block_period: 10s\n"));
  c = diff_configs(before, changed);
  EXPECT_EQ(c.changed, (std::vector<std::string>{"db"}));
  EXPECT_TRUE(c.added.empty());
  EXPECT_TRUE(c.removed.empty());
}

TEST(config_diff, moving_a_service_in_the_file_is_not_a_change) {
  auto before = load(valid_yaml + with_service("db"));
  // The same services, db first: every line number differs.
  auto text = valid_yaml;
  auto at = text.find("  - name: web");
  text.insert(at, with_service("db"));
  auto c = diff_configs(before, load(text));
  EXPECT_FALSE(c.services_changed()) << (c.changed.empty() ? "" : c.changed.front());
}

TEST(config_diff, api_and_orchestrator_changes_need_a_restart) {
  auto before = load(valid_yaml);
  auto text = valid_yaml;
  const std::string old_line = "  data_dir: state";
  text.replace(text.find(old_line), old_line.size(),
               "  data_dir: elsewhere\napi:\n  listen: 127.0.0.1:7999");
  auto c = diff_configs(before, load(text));
  EXPECT_FALSE(c.services_changed());
  EXPECT_EQ(c.need_restart, (std::vector<std::string>{"orchestrator", "api"}));
}

// objectives.backup: the declared backups a service's 3-2-1 check reads.
#include <gmock/gmock.h>

#include "tests/config/config_test_support.hpp"

using namespace switchyard::config;
using namespace switchyard::config::testing;
using errors = std::vector<std::string>;

namespace {

std::string with_backup(const std::string& backup) {
  return replace(valid_yaml, "    health_check:\n",
                 "    objectives: {rto: 30s, backup: " + backup + "}\n    health_check:\n");
}

} // namespace

TEST(backup_config, absent_means_not_declared) {
  auto r = load_config_text(valid_yaml, "test.yaml");
  ASSERT_TRUE(r.errors.empty()) << to_string(r.errors.front());
  EXPECT_FALSE(r.config.services[0].objective.backup.has_value());
}

TEST(backup_config, counts_are_read_and_checked_against_3_2_1) {
  auto r = load_config_text(with_backup("{copies: 3, media: 2, offsite: 1}"), "test.yaml");
  ASSERT_TRUE(r.errors.empty()) << to_string(r.errors.front());
  ASSERT_TRUE(r.config.services[0].objective.backup.has_value());
  const auto& b = *r.config.services[0].objective.backup;
  EXPECT_EQ(b.copies, 3);
  EXPECT_EQ(b.media, 2);
  EXPECT_EQ(b.offsite, 1);
  EXPECT_TRUE(b.meets_3_2_1());

  auto partial = load_config_text(with_backup("{copies: 2}"), "test.yaml");
  ASSERT_TRUE(partial.errors.empty()) << to_string(partial.errors.front());
  const auto& p = *partial.config.services[0].objective.backup;
  EXPECT_EQ(p.copies, 2);
  EXPECT_EQ(p.media, 0) << "a count left out is 0";
  EXPECT_FALSE(p.meets_3_2_1());
  EXPECT_TRUE(load_config_text(with_backup("{}"), "test.yaml").config.services[0].objective.backup)
      << "declared, with nothing";
}

TEST(backup_config, mistakes_name_file_line_and_field) {
  EXPECT_EQ(errors_of(with_backup("{copies: -1}")),
            errors{"test.yaml:5:45: services[0].objectives.backup.copies: '-1' is out of range "
                   "(0..1000)"});
  EXPECT_EQ(errors_of(with_backup("{copies: 3, tapes: 2}")),
            errors{"test.yaml:5:48: services[0].objectives.backup.tapes: unknown key (allowed: "
                   "copies, media, offsite)"});
  EXPECT_EQ(errors_of(with_backup("{offsite: many}")).size(), 1u);
  EXPECT_THAT(errors_of(with_backup("yes")),
              ::testing::ElementsAre(::testing::HasSubstr("services[0].objectives.backup")));
}

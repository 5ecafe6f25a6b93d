// api.max_watch_streams(_per_token) and api.max_long_calls(_per_token): the
// defaults, values given, and the loader's file:line errors.
#include <gtest/gtest.h>

#include "tests/config/config_test_support.hpp"

using namespace switchyard::config;
using namespace switchyard::config::testing;

namespace {

load_result with_api(const std::string& api) {
  return load_config_text("api:\n" + api + valid_yaml, "test.yaml");
}

} // namespace

TEST(api_limits_config, defaults_bound_streams_and_long_calls) {
  auto r = load_config_text(valid_yaml, "test.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.api.max_watch_streams, 1024);
  EXPECT_EQ(r.config.api.max_watch_streams_per_token, 64);
  EXPECT_EQ(r.config.api.max_long_calls, 16);
  EXPECT_EQ(r.config.api.max_long_calls_per_token, 4);
}

TEST(api_limits_config, values_are_read) {
  auto r = with_api("  max_watch_streams: 4000\n  max_watch_streams_per_token: 500\n"
                    "  max_long_calls: 32\n  max_long_calls_per_token: 8\n");
  ASSERT_TRUE(r.ok()) << to_string(r.errors.front());
  EXPECT_EQ(r.config.api.max_watch_streams, 4000);
  EXPECT_EQ(r.config.api.max_watch_streams_per_token, 500);
  EXPECT_EQ(r.config.api.max_long_calls, 32);
  EXPECT_EQ(r.config.api.max_long_calls_per_token, 8);
}

TEST(api_limits_config, a_default_per_token_limit_follows_a_smaller_total) {
  auto r = with_api("  max_watch_streams: 10\n  max_long_calls: 2\n");
  ASSERT_TRUE(r.ok()) << to_string(r.errors.front());
  EXPECT_EQ(r.config.api.max_watch_streams_per_token, 10);
  EXPECT_EQ(r.config.api.max_long_calls_per_token, 2);
}

TEST(api_limits_config, bad_values_are_errors_at_their_line) {
  auto errors = errors_of("api:\n  max_watch_streams: 0\n  max_long_calls: many\n" + valid_yaml);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0], "test.yaml:2:22: api.max_watch_streams: '0' is out of range (1..100000)");
  EXPECT_EQ(errors[1], "test.yaml:3:19: api.max_long_calls: 'many' is not a whole number");

  auto over = errors_of("api:\n  max_long_calls: 4\n  max_long_calls_per_token: 5\n" + valid_yaml);
  ASSERT_EQ(over.size(), 1u);
  EXPECT_EQ(over[0], "test.yaml:3:29: api.max_long_calls_per_token: 5 is more than "
                     "api.max_long_calls (4): one token cannot have more than all of them");

  auto typo = errors_of("api:\n  max_streams: 5\n" + valid_yaml);
  ASSERT_EQ(typo.size(), 1u);
  EXPECT_NE(typo[0].find("max_streams"), std::string::npos) << typo[0];
}

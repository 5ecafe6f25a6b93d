// The duration syntax: a number with a unit, parts combined from larger to smaller.
#include <gtest/gtest.h>

#include "config/loader.hpp"

using namespace std::chrono_literals;
using switchyard::config::milliseconds;
using switchyard::config::parse_duration;

TEST(config_duration, units_and_combinations) {
  const std::pair<const char*, milliseconds> good[] = {
      {"0s", 0ms},
      {"250ms", 250ms},
      {"2s", 2s},
      {"1m", 1min},
      {"1h", 1h},
      {"1m30s", 90s},
      {"1h2m3s4ms", 3'723'004ms},
      {"90m", 90min},
      {"100000h", 100'000h},
      {"90d", 90 * 24h},
  };
  for (const auto& [text, expected] : good) {
    milliseconds d{-1};
    EXPECT_TRUE(parse_duration(text, d)) << text;
    EXPECT_EQ(d, expected) << text;
  }
}

TEST(config_duration, malformed_text_is_rejected_and_leaves_the_output_alone) {
  for (const char* bad : {"", "5", "s", "ms", "1.5s", "2 s", " 2s", "2s ", "3w", "-1s", "+1s",
                          "10sm", "1S", "1m30", "1e3ms", "0x10s", "99999999999ms", "400000000h"}) {
    milliseconds d{42};
    EXPECT_FALSE(parse_duration(bad, d)) << "'" << bad << "'";
    EXPECT_EQ(d, 42ms) << "'" << bad << "'";
  }
}

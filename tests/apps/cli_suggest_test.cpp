// The CLI's suggestion for an unknown command: a nested command of that name
// first ("export" -> "plans export"), else a close spelling, else nothing.
#include <gtest/gtest.h>

#include "apps/switchyard/suggest.hpp"

using switchyard::cli::closest_command;
using switchyard::cli::edit_distance;

namespace {

const std::vector<std::string> commands{
    "status", "services",     "service",      "switchovers", "switchover",
    "plans",  "plans export", "site",         "site assess", "site list",
    "drill",  "drill list",   "drill report", "maintenance", "availability"};

} // namespace

TEST(cli_suggest, edit_distance_counts_single_character_edits) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("sevices", "services"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(cli_suggest, a_nested_command_of_that_name_wins) {
  EXPECT_EQ(closest_command("export", commands), "plans export");
  EXPECT_EQ(closest_command("assess", commands), "site assess");
  EXPECT_EQ(closest_command("list", commands), "site list") << "the first of equals";
}

TEST(cli_suggest, a_close_spelling_is_suggested) {
  EXPECT_EQ(closest_command("sevices", commands), "services");
  EXPECT_EQ(closest_command("staus", commands), "status");
  EXPECT_EQ(closest_command("asess", commands), "site assess");
}

TEST(cli_suggest, nothing_when_nothing_is_close) {
  EXPECT_EQ(closest_command("frobnicate", commands), "");
  EXPECT_EQ(closest_command("xy", commands), "") << "two edits of a two-letter word is anything";
}

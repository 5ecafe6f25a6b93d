// The vantage points' quorum (pure): validation naming the field, the default
// majority, and objectively-down verdicts with explanations that say who sees
// an instance down, who does not, and which reports were ignored.
#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "rules/quorum_rules.hpp"

using namespace switchyard::cluster;
using switchyard::describe;
using switchyard::sy_errc;

namespace {

// The reason validate() gives, "" when the settings are sound.
std::string why_not(const quorum_settings& s) {
  auto ok = validate(s);
  if (ok)
    return {};
  EXPECT_EQ(ok.error(), sy_errc::invalid_config);
  return describe(ok.error());
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const quorum_settings three{{"r1", "r2", "r3"}, std::nullopt};
const std::set<std::string> all_live{"r1", "r2", "r3"};

} // namespace

TEST(quorum_rules, sound_settings_validate) {
  EXPECT_EQ(why_not(three), "");
  EXPECT_EQ(why_not({{"r1", "r2", "r3"}, 1}), "");
  EXPECT_EQ(why_not({{"r1", "r2", "r3"}, 3}), "");
  EXPECT_EQ(why_not({{"only"}, std::nullopt}), "") << "a single member is allowed";
  EXPECT_EQ(why_not({{"only"}, 1}), "");
}

TEST(quorum_rules, validation_begins_with_the_field_name) {
  auto w = why_not({{"r1", "r2", "r3"}, 0});
  EXPECT_TRUE(has(w, "quorum: 0 is below 1")) << w;
  w = why_not({{"r1", "r2", "r3"}, -2});
  EXPECT_TRUE(has(w, "quorum: -2 is below 1")) << w;
  w = why_not({{"r1", "r2", "r3"}, 4});
  EXPECT_TRUE(has(w, "quorum: 4 is more than the 3 members")) << w;
  w = why_not({{"only"}, 2});
  EXPECT_TRUE(has(w, "quorum: 2 is more than the 1 member ")) << w;

  w = why_not({{}, std::nullopt});
  EXPECT_TRUE(has(w, "members: must list at least one replica id")) << w;
  w = why_not({{}, 1});
  EXPECT_TRUE(has(w, "members: must list")) << w << " (members are checked before the quorum)";
  w = why_not({{"r1", "", "r3"}, std::nullopt});
  EXPECT_TRUE(has(w, "members: entry 2 is an empty replica id")) << w;
  w = why_not({{"r1", "r2", "r1"}, std::nullopt});
  EXPECT_TRUE(has(w, "members: \"r1\" is listed twice")) << w;
  w = why_not({{"r1", "dc/r2"}, std::nullopt});
  EXPECT_TRUE(has(w, "members: \"dc/r2\" contains '/'")) << w;
}

TEST(quorum_rules, the_default_is_a_majority) {
  EXPECT_EQ(effective_quorum({{"a"}, std::nullopt}), 1U);
  EXPECT_EQ(effective_quorum({{"a", "b"}, std::nullopt}), 2U);
  EXPECT_EQ(effective_quorum(three), 2U);
  EXPECT_EQ(effective_quorum({{"a", "b", "c", "d"}, std::nullopt}), 3U);
  EXPECT_EQ(effective_quorum({{"a", "b", "c", "d", "e"}, std::nullopt}), 3U);
  EXPECT_EQ(effective_quorum({{"a", "b", "c", "d", "e"}, 4}), 4U);
  EXPECT_EQ(effective_quorum({{}, std::nullopt}), 1U) << "never zero votes";
}

TEST(quorum_rules, the_description_says_what_an_unusual_quorum_means) {
  EXPECT_EQ(describe_quorum(three), "quorum 2 of 3 members (majority)");
  EXPECT_EQ(describe_quorum({{"r1", "r2", "r3"}, 3}), "quorum 3 of 3 members");
  EXPECT_EQ(describe_quorum({{"only"}, std::nullopt}),
            "quorum 1 of 1 member: a single vantage point, its view alone decides");
  auto d = describe_quorum({{"r1", "r2", "r3"}, 1});
  EXPECT_TRUE(has(d, "quorum 1 of 3 members: below a majority")) << d;
}

TEST(quorum_rules, one_vote_of_three_is_not_objectively_down) {
  auto v = judge_down(three, {"r1"}, all_live);
  EXPECT_FALSE(v.objectively_down);
  EXPECT_EQ(v.votes, 1U);
  EXPECT_EQ(v.needed, 2U);
  EXPECT_EQ(v.explanation, "not objectively down: 1 of 2 votes needed (down: r1; up: r2, r3)");
}

TEST(quorum_rules, a_quorum_of_votes_is_objectively_down) {
  auto v = judge_down(three, {"r1", "r3"}, all_live);
  EXPECT_TRUE(v.objectively_down);
  EXPECT_EQ(v.votes, 2U);
  EXPECT_EQ(v.explanation, "objectively down: 2 of 2 votes needed (down: r1, r3; up: r2)");
  v = judge_down(three, {"r1", "r2", "r3"}, all_live);
  EXPECT_TRUE(v.objectively_down);
  EXPECT_EQ(v.votes, 3U);
  EXPECT_EQ(v.explanation, "objectively down: 3 of 2 votes needed (down: r1, r2, r3)");
}

TEST(quorum_rules, nobody_reporting_down_is_up) {
  auto v = judge_down(three, {}, all_live);
  EXPECT_FALSE(v.objectively_down);
  EXPECT_EQ(v.votes, 0U);
  EXPECT_EQ(v.explanation,
            "not objectively down: 0 of 2 votes needed (down: none; up: r1, r2, r3)");
}

TEST(quorum_rules, an_unknown_replica_does_not_vote_and_is_mentioned) {
  auto v = judge_down(three, {"r1", "r9"}, {"r1", "r2", "r3", "r9"});
  EXPECT_FALSE(v.objectively_down);
  EXPECT_EQ(v.votes, 1U);
  EXPECT_TRUE(has(v.explanation, "ignored reports from r9 (not a configured member)"))
      << v.explanation;
}

TEST(quorum_rules, a_member_that_is_not_live_does_not_vote) {
  // r3 died: its report outlived its membership for a moment.
  auto v = judge_down(three, {"r1", "r3"}, {"r1", "r2"});
  EXPECT_FALSE(v.objectively_down);
  EXPECT_EQ(v.votes, 1U);
  EXPECT_EQ(v.explanation, "not objectively down: 1 of 2 votes needed (down: r1; up: r2; not "
                           "reporting: r3); ignored reports from r3 (not live)");
  // Two live members that agree are still a quorum of three.
  v = judge_down(three, {"r1", "r2"}, {"r1", "r2"});
  EXPECT_TRUE(v.objectively_down);
  EXPECT_TRUE(has(v.explanation, "not reporting: r3")) << v.explanation;
}

TEST(quorum_rules, says_when_too_few_members_are_live_to_reach_the_quorum) {
  auto v = judge_down(three, {"r1"}, {"r1"});
  EXPECT_FALSE(v.objectively_down);
  EXPECT_EQ(v.explanation, "not objectively down: 1 of 2 votes needed (down: r1; not reporting: "
                           "r2, r3); only 1 of 3 members live, fewer than the quorum");
}

TEST(quorum_rules, a_configured_quorum_overrides_the_majority) {
  quorum_settings all{{"r1", "r2", "r3"}, 3};
  EXPECT_FALSE(judge_down(all, {"r1", "r2"}, all_live).objectively_down);
  EXPECT_TRUE(judge_down(all, {"r1", "r2", "r3"}, all_live).objectively_down);
  quorum_settings one{{"r1", "r2", "r3"}, 1};
  auto v = judge_down(one, {"r2"}, all_live);
  EXPECT_TRUE(v.objectively_down);
  EXPECT_EQ(v.needed, 1U);
}

TEST(quorum_rules, a_single_member_decides_alone) {
  quorum_settings solo{{"only"}, std::nullopt};
  EXPECT_TRUE(judge_down(solo, {"only"}, {"only"}).objectively_down);
  auto v = judge_down(solo, {}, {"only"});
  EXPECT_FALSE(v.objectively_down);
  EXPECT_EQ(v.explanation, "not objectively down: 0 of 1 votes needed (down: none; up: only)");
}

// The lease rules (pure): sound timings, the act deadline of a leader on a
// manual clock, and what a campaign transaction's answer means.
#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "rules/lease_rules.hpp"

using namespace std::chrono_literals;
using namespace switchyard::cluster;
using switchyard::describe;
using switchyard::sy_errc;

namespace {

// The reason validate() gives, "" when the timing is sound.
std::string why_not(const lease_timing& t) {
  auto ok = validate(t);
  if (ok)
    return {};
  EXPECT_EQ(ok.error(), sy_errc::invalid_config);
  return describe(ok.error());
}

} // namespace

TEST(lease_rules, the_defaults_are_sound) {
  EXPECT_EQ(why_not(lease_timing{}), "");
  // The tightest sound shape: a 1 s lease renewed every 200 ms.
  EXPECT_EQ(why_not({1000ms, 200ms, 200ms, 500ms, 200ms}), "");
}

TEST(lease_rules, validation_names_the_field_and_the_rule) {
  lease_timing t;
  t.ttl = 500ms;
  EXPECT_NE(why_not(t).find("ttl: 500 ms is below 1 s"), std::string::npos) << why_not(t);
  t.ttl = 1500ms;
  EXPECT_NE(why_not(t).find("ttl: 1500 ms is not a whole number of seconds"), std::string::npos)
      << why_not(t);

  t = lease_timing{};
  t.keepalive_interval = t.ttl;
  EXPECT_NE(why_not(t).find("keepalive_interval: 2000 ms must be shorter than ttl (2000 ms)"),
            std::string::npos)
      << why_not(t);
  t.keepalive_interval = 3000ms;
  EXPECT_NE(why_not(t).find("keepalive_interval: 3000 ms must be shorter than ttl"),
            std::string::npos);
  t.keepalive_interval = 0ms;
  EXPECT_NE(why_not(t).find("keepalive_interval: must be positive"), std::string::npos);

  t = lease_timing{};
  t.safety_margin = 0ms;
  EXPECT_NE(why_not(t).find("safety_margin: must be positive"), std::string::npos);
  t = lease_timing{};
  t.request_timeout = -1ms;
  EXPECT_NE(why_not(t).find("request_timeout: must be positive"), std::string::npos);
  t = lease_timing{};
  t.retry_interval = 0ms;
  EXPECT_NE(why_not(t).find("retry_interval: must be positive"), std::string::npos);
}

TEST(lease_rules, one_timed_out_renewal_must_fit_before_the_act_deadline) {
  // 500 + 1000 + 500 = 2000: a renewal that times out leaves no time for the next.
  lease_timing t{2000ms, 500ms, 500ms, 1000ms, 500ms};
  EXPECT_NE(why_not(t).find("keepalive_interval + request_timeout + safety_margin (500 ms + "
                            "1000 ms + 500 ms) must be shorter than ttl (2000 ms)"),
            std::string::npos)
      << why_not(t);
  t.safety_margin = 499ms;
  EXPECT_EQ(why_not(t), "");
}

TEST(lease_rules, the_act_deadline_is_send_time_plus_ttl_minus_margin) {
  lease_clock::time_point t0{};
  EXPECT_EQ(act_deadline(t0 + 10s, 2000ms, 300ms), t0 + 11700ms);
}

TEST(lease_rules, a_leader_may_act_until_its_last_renewal_s_deadline) {
  lease_clock::time_point t0{};
  lease_fence fence{300ms};
  EXPECT_FALSE(fence.may_act(t0)) << "no renewal yet";
  EXPECT_EQ(fence.remaining(t0), 0ms);
  EXPECT_FALSE(fence.act_until());

  // Granted at t0 (request sent then), answered 50 ms later: the send time counts.
  fence.renewed(t0, 2000ms);
  EXPECT_TRUE(fence.may_act(t0 + 50ms));
  EXPECT_EQ(fence.remaining(t0 + 50ms), 1650ms);
  EXPECT_TRUE(fence.may_act(t0 + 1699ms));
  EXPECT_FALSE(fence.may_act(t0 + 1700ms)) << "300 ms before the lease can expire at etcd";
  EXPECT_EQ(fence.remaining(t0 + 1700ms), 0ms);

  // Renewals every 500 ms keep it acting.
  fence.renewed(t0 + 500ms, 2000ms);
  EXPECT_TRUE(fence.may_act(t0 + 2000ms));
  EXPECT_EQ(*fence.act_until(), t0 + 2200ms);
  EXPECT_EQ(*fence.last_renewal_sent(), t0 + 500ms);
}

TEST(lease_rules, renewals_that_fail_stop_the_leader_before_etcd_can_expire_it) {
  lease_clock::time_point t0{};
  lease_fence fence{300ms};
  fence.renewed(t0, 2000ms);
  // Every later keep-alive fails (etcd unreachable): nothing is acknowledged.
  // etcd received the last renewal no earlier than t0, so the lease lives at
  // least until t0 + 2000 ms; the leader stopped at t0 + 1700 ms.
  auto earliest_expiry = t0 + 2000ms;
  for (auto now = t0 + 1700ms; now < earliest_expiry + 1s; now += 10ms) {
    EXPECT_FALSE(fence.may_act(now)) << (now - t0).count();
  }
}

TEST(lease_rules, a_late_old_acknowledgement_never_moves_the_deadline_back) {
  lease_clock::time_point t0{};
  lease_fence fence{300ms};
  fence.renewed(t0 + 1000ms, 2000ms); // the newer request answered first
  fence.renewed(t0 + 500ms, 2000ms);  // the older one's answer arrives late
  EXPECT_EQ(*fence.act_until(), t0 + 2700ms);
  EXPECT_EQ(*fence.last_renewal_sent(), t0 + 1000ms);
}

TEST(lease_rules, a_lost_lease_fences_at_once_and_a_new_one_starts_fresh) {
  lease_clock::time_point t0{};
  lease_fence fence{300ms};
  fence.renewed(t0, 2000ms);
  fence.lost();
  EXPECT_FALSE(fence.may_act(t0 + 1ms));
  EXPECT_FALSE(fence.act_until());
  fence.renewed(t0 + 100ms, 5000ms); // a new lease, etcd granted 5 s
  EXPECT_TRUE(fence.may_act(t0 + 4799ms));
  EXPECT_FALSE(fence.may_act(t0 + 4800ms));
}

TEST(lease_rules, campaign_verdicts) {
  leader_record mine{"a", leader_epoch{7}, 42};
  leader_record other{"b", leader_epoch{9}, 43};
  EXPECT_EQ(judge_campaign(true, std::nullopt, "a", 42), campaign_verdict::won);
  EXPECT_EQ(judge_campaign(false, other, "a", 42), campaign_verdict::other_leads);
  EXPECT_EQ(judge_campaign(false, mine, "a", 42), campaign_verdict::already_ours);
  // The same id on another lease is another process configured with our id:
  // not ours to act on.
  EXPECT_EQ(judge_campaign(false, mine, "a", 44), campaign_verdict::other_leads);
  EXPECT_EQ(judge_campaign(false, leader_record{"a", leader_epoch{7}, 0}, "a", 0),
            campaign_verdict::other_leads);
  EXPECT_EQ(judge_campaign(false, std::nullopt, "a", 42), campaign_verdict::vacant);
  EXPECT_STREQ(to_string(campaign_verdict::already_ours), "already ours");
}

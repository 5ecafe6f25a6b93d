// The backup manager's decisions, on its state alone (no actor, no clock of
// its own): which tiers are due, which points need verifying, and compliance.
#include "actors/backup_manager.hpp"

#include <gtest/gtest.h>

#include "config/loader.hpp"

using namespace switchyard;
using namespace switchyard::actors;

namespace {

constexpr std::int64_t hour = 3'600'000;
constexpr std::int64_t now = 1'000 * hour;

const char* yaml = R"(backups:
  state: {policy: own}
  policies:
    - name: standard
      verify_every: 6h
      tiers:
        - {name: local, destination: {path: /b/local}, site: dc1, every: 1h}
        - {name: cloud, destination: {path: /b/cloud}, site: dc2, medium: object-store, every: 24h}
    - name: own
      tiers:
        - {name: local, destination: {path: /b/own}, every: 1h}
services:
  - name: cache
    objectives: {rpo: 2h}
    health_check: {type: tcp}
    backup: {policy: standard}
    instances:
      - {name: a, address: 127.0.0.1:1, site: dc1, role: primary}
      - {name: b, address: 127.0.0.1:2, site: dc1, role: standby}
    strategy: {type: active_passive}
  - name: web
    health_check: {type: tcp}
    instances:
      - {name: w1, address: 127.0.0.1:3, role: primary}
      - {name: w2, address: 127.0.0.1:4, role: standby}
    strategy: {type: active_passive}
)";

backup_record backup(std::int64_t id, const std::string& tier, std::int64_t started,
                     backup_status status = backup_status::complete, std::int64_t verified = 0,
                     const std::string& site = "dc1", const std::string& medium = "disk") {
  backup_record b;
  b.id = id;
  b.service = "cache";
  b.tier = tier;
  b.kind = backup_kind::full;
  b.status = status;
  b.started_ms = started;
  b.point_ms = started;
  b.verified_ms = verified;
  b.site = site;
  b.medium = medium;
  return b;
}

class backup_manager_test : public ::testing::Test {
protected:
  void SetUp() override {
    auto loaded = config::load_config_text(yaml, "/etc/switchyard/test.yaml");
    ASSERT_TRUE(loaded.ok()) << config::to_string(loaded.errors.front());
    st.cfg = std::make_shared<const config::switchyard_config>(std::move(loaded.config));
  }
  backup_manager_state st;
};

} // namespace

TEST_F(backup_manager_test, the_state_comes_first_and_services_without_a_policy_not_at_all) {
  EXPECT_EQ(st.backed_up(), (std::vector<std::string>{state_backup_service, "cache"}));
  EXPECT_NE(st.policy_of(state_backup_service), nullptr);
  EXPECT_EQ(st.policy_of("web"), nullptr);
}

TEST_F(backup_manager_test, a_tier_is_due_every_after_its_last_backup_started) {
  EXPECT_EQ(st.due_tiers("cache", now), (std::vector<std::string>{"local", "cloud"}))
      << "never backed up: due at once";
  st.catalog["cache"] = {backup(1, "local", now - hour / 2), backup(2, "cloud", now - 23 * hour)};
  EXPECT_TRUE(st.due_tiers("cache", now).empty());
  EXPECT_EQ(st.due_tiers("cache", now + hour / 2), (std::vector<std::string>{"local"}));
  // A failed attempt counts as a start: no retry storm against a broken destination.
  st.catalog["cache"].push_back(backup(3, "cloud", now - hour, backup_status::failed));
  EXPECT_EQ(st.due_tiers("cache", now + 2 * hour), (std::vector<std::string>{"local"}));
}

TEST_F(backup_manager_test, the_newest_point_of_each_tier_is_verified_when_new_or_stale) {
  st.catalog["cache"] = {backup(1, "local", now - 3 * hour, backup_status::complete, now - hour),
                         backup(2, "local", now - hour),
                         backup(3, "cloud", now - 2 * hour, backup_status::complete, now - hour)};
  EXPECT_EQ(st.due_verifications("cache", now), (std::vector<std::int64_t>{2}))
      << "#2 was never verified; cloud's #3 was an hour ago (verify_every 6h)";
  st.catalog["cache"][1].verified_ms = now;
  EXPECT_TRUE(st.due_verifications("cache", now).empty());
  EXPECT_EQ(st.due_verifications("cache", now + 6 * hour), (std::vector<std::int64_t>{2, 3}));
  // A corrupt newest point is not verified again: the older one is the newest restorable.
  st.catalog["cache"][1].status = backup_status::corrupt;
  EXPECT_EQ(st.due_verifications("cache", now + 2 * hour), (std::vector<std::int64_t>{}));
}

TEST_F(backup_manager_test, compliance_counts_verified_tiers_against_the_primarys_site) {
  st.catalog["cache"] = {
      backup(1, "local", now - hour, backup_status::complete, now),
      backup(2, "cloud", now - 3 * hour, backup_status::complete, now, "dc2", "object-store")};
  auto row = st.compliance("cache", now);
  EXPECT_EQ(row.policy, "standard");
  EXPECT_EQ(row.copies, 2);
  EXPECT_EQ(row.media, 2);
  EXPECT_EQ(row.offsite, 1) << "dc2 is not the primary's site (dc1)";
  EXPECT_FALSE(row.meets_3_2_1);
  EXPECT_EQ(row.rpo_ms, 2 * hour);
  EXPECT_EQ(row.age_ms, hour);
  EXPECT_TRUE(row.rpo_met);
  EXPECT_FALSE(st.compliance("cache", now + 2 * hour).rpo_met) << "3 h old, RPO 2 h";
}

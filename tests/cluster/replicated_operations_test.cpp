// The replicated operations that outlive a leader (replicated_state.hpp):
// maintenance windows and the site switchover in flight, against a real
// three-member etcd cluster: round trips through load(), the site key kept
// for its leader until a successor claims it, the claim, a deposed leader
// refused by etcd itself, a finished site switchover forgotten, and a
// malformed value named by key and field. Each case starts its own cluster.
#include <gtest/gtest.h>

#include "cluster/fencing.hpp"
#include "cluster/replicated_state.hpp"
#include "tests/cluster/cluster_fixture.hpp"
#include "tests/support/etcd_cluster.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::cluster;
using switchyard::testing::etcd_client_of;
using switchyard::testing::etcd_cluster;
using switchyard::testing::lead_without_lease;

namespace {

const std::string leader_key = "/switchyard/leader";

maintenance_record window(const std::string& service, const std::string& instance,
                          std::int64_t until_ms) {
  return {service_id{service}, instance_id{instance}, "kernel upgrade", "alice", 1000, until_ms};
}

site_record site_of(std::int64_t id, site_state state) {
  site_record r;
  r.id = id;
  r.operation = site_operation::switchover;
  r.from_site = "dc1";
  r.to_site = "dc2";
  r.state = state;
  r.principal = "alice";
  r.reason = "power work in dc1";
  r.started_ms = 100;
  r.decided_ms = state == site_state::committed ? 200 : 0;
  r.parallelism = 2;
  site_participant p;
  p.service = service_id{"db"};
  p.from = instance_id{"db-a"};
  p.to = instance_id{"db-b"};
  p.level = 0;
  p.state = participant_state::committed;
  p.switchover = switchover_id{7};
  p.gap = 12;
  p.checks = {{"available", true, "db-b is primary"}};
  r.participants.push_back(p);
  p.service = service_id{"app"};
  p.from = instance_id{"app-a"};
  p.to = instance_id{"app-b"};
  p.level = 1;
  p.state = participant_state::prepared;
  p.switchover = switchover_id{0};
  p.gap = -1;
  p.checks.clear();
  r.participants.push_back(p);
  return r;
}

struct replicated_operations : ::testing::Test {
  void SetUp() override { ASSERT_EQ(etcd.start(), ""); }

  replicated_snapshot loaded() {
    auto snap = state.load();
    if (!snap)
      throw std::runtime_error(describe(snap.error()));
    return *snap;
  }

  /// Another replica leads now: the key is created again, at a higher revision.
  state_writer depose_and_lead(const std::string& id) {
    if (auto gone = client.erase(leader_key); !gone)
      throw std::runtime_error(describe(gone.error()));
    return lead_without_lease(client, leader_key, id);
  }

  etcd_cluster etcd;
  etcd_client client = etcd_client_of(etcd.endpoints(), 500ms);
  replicated_state state{client, "/switchyard/state", leader_key};
};

} // namespace

TEST_F(replicated_operations, maintenance_windows_round_trip_and_end) {
  auto a = lead_without_lease(client, leader_key, "a");
  ASSERT_TRUE(state.record_maintenance(a, window("db", "", 0)));
  ASSERT_TRUE(state.record_maintenance(a, window("db", "db-b", 5000)));
  ASSERT_TRUE(state.record_maintenance(a, window("web", "", 0)));
  auto snap = loaded();
  ASSERT_EQ(snap.maintenance.size(), 3u);
  const auto& w = snap.maintenance[1]; // keys in order: db/, db/db-b, web/
  EXPECT_EQ(w.service.value, "db");
  EXPECT_EQ(w.instance.value, "db-b");
  EXPECT_EQ(w.reason, "kernel upgrade");
  EXPECT_EQ(w.principal, "alice");
  EXPECT_EQ(w.since_ms, 1000);
  EXPECT_EQ(w.until_ms, 5000);
  EXPECT_TRUE(snap.maintenance[0].instance.value.empty());

  // Replacing a window keeps one key; ending one deletes it (twice is fine).
  auto longer = window("db", "db-b", 9000);
  ASSERT_TRUE(state.record_maintenance(a, longer));
  ASSERT_TRUE(state.clear_maintenance(a, service_id{"web"}, instance_id{}));
  ASSERT_TRUE(state.clear_maintenance(a, service_id{"web"}, instance_id{}));
  snap = loaded();
  ASSERT_EQ(snap.maintenance.size(), 2u);
  EXPECT_EQ(snap.maintenance[1].until_ms, 9000);

  // A deposed leader changes nothing.
  auto b = depose_and_lead("b");
  auto refused = state.clear_maintenance(a, service_id{"db"}, instance_id{});
  ASSERT_FALSE(refused);
  EXPECT_TRUE(is_fencing_refusal(refused.error())) << describe(refused.error());
  ASSERT_FALSE(state.record_maintenance(a, window("web", "", 0)));
  EXPECT_EQ(loaded().maintenance.size(), 2u);
  ASSERT_TRUE(state.clear_maintenance(b, service_id{"db"}, instance_id{}));
  EXPECT_EQ(loaded().maintenance.size(), 1u);
}

TEST_F(replicated_operations, a_site_switchover_is_its_leaders_until_a_successor_claims_it) {
  auto a = lead_without_lease(client, leader_key, "a");
  ASSERT_TRUE(state.record_site(a, site_of(5, site_state::preparing)));
  ASSERT_TRUE(state.record_site(a, site_of(5, site_state::committed)));
  auto snap = loaded();
  ASSERT_TRUE(snap.site);
  EXPECT_EQ(snap.site->leader_id, "a");
  EXPECT_EQ(snap.site->written_by, a.epoch);
  const auto& r = snap.site->record;
  EXPECT_EQ(r.id, 5);
  EXPECT_EQ(r.state, site_state::committed);
  EXPECT_EQ(r.decided_ms, 200);
  EXPECT_EQ(r.parallelism, 2u);
  EXPECT_EQ(r.reason, "power work in dc1");
  ASSERT_EQ(r.participants.size(), 2u);
  EXPECT_EQ(r.participants[0].state, participant_state::committed);
  EXPECT_EQ(r.participants[0].switchover.value, 7);
  EXPECT_EQ(r.participants[0].gap, 12);
  ASSERT_EQ(r.participants[0].checks.size(), 1u);
  EXPECT_EQ(r.participants[0].checks[0].detail, "db-b is primary");
  EXPECT_EQ(r.participants[1].level, 1u);
  EXPECT_EQ(r.participants[1].state, participant_state::prepared);

  // Another site switchover of the same leader waits for this one.
  auto other = state.record_site(a, site_of(6, site_state::preparing));
  ASSERT_FALSE(other);
  EXPECT_TRUE(is_stale_refusal(other.error()));
  EXPECT_NE(describe(other.error())
                .find("site switchover #5 (dc1 -> dc2, committed) of leader "
                      "\"a\""),
            std::string::npos)
      << describe(other.error());

  // The successor cannot start its own, nor claim one that is not in flight.
  auto b = depose_and_lead("b");
  ASSERT_FALSE(state.record_site(b, site_of(1, site_state::preparing)));
  auto wrong = state.take_over_site(b, "a", 4, site_of(0, site_state::committed));
  ASSERT_FALSE(wrong);
  EXPECT_NE(describe(wrong.error()).find("is not in flight: the key holds"), std::string::npos)
      << describe(wrong.error());
  // It claims #5, journals it as its own #9 and goes on; the former leader is refused.
  auto claimed = site_of(0, site_state::committed);
  ASSERT_TRUE(state.take_over_site(b, "a", 5, claimed));
  EXPECT_EQ(loaded().site->leader_id, "b");
  EXPECT_EQ(loaded().site->record.id, 0);
  ASSERT_TRUE(state.record_site(b, site_of(9, site_state::committed)));
  ASSERT_FALSE(state.record_site(a, site_of(5, site_state::completed)));
  EXPECT_EQ(loaded().site->record.id, 9);
  EXPECT_EQ(loaded().site->leader_id, "b");
  auto again = state.take_over_site(b, "a", 5, claimed);
  ASSERT_FALSE(again) << "claimed once only";

  // Finished: forgotten, and the next one may begin.
  auto done = site_of(9, site_state::completed);
  done.finished_ms = 300;
  ASSERT_TRUE(state.record_site(b, done));
  EXPECT_FALSE(loaded().site);
  ASSERT_TRUE(state.record_site(b, site_of(10, site_state::preparing)));
}

TEST_F(replicated_operations, malformed_values_are_errors_naming_key_and_field) {
  auto a = lead_without_lease(client, leader_key, "a");
  ASSERT_TRUE(state.record_site(a, site_of(5, site_state::committed)));
  auto raw = client.get(state.site_key());
  ASSERT_TRUE(raw && *raw);
  auto bad = (*raw)->value;
  bad.replace(bad.find("\"prepared\""), 10, "\"confused\"");
  ASSERT_TRUE(client.put(state.site_key(), bad));
  auto snap = state.load();
  ASSERT_FALSE(snap);
  EXPECT_NE(describe(snap.error())
                .find("at \"" + state.site_key() +
                      "\": field \"participants[1]\": field \"state\": expected a known state"),
            std::string::npos)
      << describe(snap.error());
  auto write = state.record_site(a, site_of(5, site_state::completed));
  ASSERT_FALSE(write) << "not overwritten unread";
  ASSERT_TRUE(client.erase(state.site_key()));

  auto key = state.maintenance_key(service_id{"db"}, instance_id{});
  ASSERT_TRUE(client.put(key, R"({"service":"db","instance":"","reason":"r","principal":"p",)"
                              R"("since_ms":"soon","until_ms":0})"));
  snap = state.load();
  ASSERT_FALSE(snap);
  EXPECT_NE(
      describe(snap.error()).find("at \"" + key + "\": field \"since_ms\": expected an integer"),
      std::string::npos)
      << describe(snap.error());
}

TEST_F(replicated_operations, service_backups_round_trip_are_fenced_and_forgotten) {
  auto a = lead_without_lease(client, leader_key, "a");
  backup_record full;
  full.id = 12;
  full.service = "cache";
  full.policy = "standard";
  full.tier = "cloud";
  full.kind = backup_kind::full;
  full.status = backup_status::complete;
  full.artifact = "cache/cloud/sy-a-12-full.rdb.zst";
  full.sha256 = std::string(64, 'a');
  full.raw_bytes = 1'000;
  full.stored_bytes = 400;
  full.point_ms = 5'000;
  full.facts = R"({"keys":3})";
  auto incremental = full;
  incremental.id = 13;
  incremental.kind = backup_kind::incremental;
  incremental.parent = 12;
  ASSERT_TRUE(state.record_backup(a, {"sy-a", full}));
  ASSERT_TRUE(state.record_backup(a, {"sy-a", incremental}));
  auto snap = loaded();
  ASSERT_EQ(snap.backups.size(), 2u);
  const auto& got = snap.backups[0].record;
  EXPECT_EQ(snap.backups[0].node, "sy-a");
  EXPECT_EQ(got.id, 12);
  EXPECT_EQ(got.origin, "sy-a");
  EXPECT_EQ(got.artifact, full.artifact);
  EXPECT_EQ(got.sha256, full.sha256);
  EXPECT_EQ(got.stored_bytes, 400u);
  EXPECT_EQ(got.facts, full.facts);
  EXPECT_EQ(snap.backups[1].record.kind, backup_kind::incremental);
  EXPECT_EQ(snap.backups[1].record.parent, 12);

  // Verified later: written again under the same key.
  full.verified_ms = 9'000;
  ASSERT_TRUE(state.record_backup(a, {"sy-a", full}));
  EXPECT_EQ(loaded().backups[0].record.verified_ms, 9'000);

  auto b = depose_and_lead("b");
  auto refused = state.forget_backup(a, "cache", "sy-a", 13);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(is_fencing_refusal(refused.error())) << describe(refused.error());
  ASSERT_TRUE(state.forget_backup(b, "cache", "sy-a", 13));
  EXPECT_EQ(loaded().backups.size(), 1u);
  EXPECT_FALSE(state.record_backup(b, {"", full})) << "a backup names the node that took it";
}

// Leader election over a lease against a real three-member etcd cluster: one
// leader at a time, epochs from the leader key, self-fencing of a stalled
// leader and of one cut off by a quorum loss, fenced writes refused by etcd,
// and a resignation that hands over at once.
#include <algorithm>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "cluster/fencing.hpp"
#include "cluster/leader_lease.hpp"
#include "tests/cluster/cluster_fixture.hpp"
#include "tests/support/etcd_cluster.hpp"

using namespace std::chrono_literals;
using namespace switchyard::cluster;
using switchyard::describe;
using switchyard::testing::etcd_client_of;
using switchyard::testing::etcd_cluster;
using switchyard::testing::stopwatch;
using switchyard::testing::wait_until;

namespace {

const std::string leader_key = "/switchyard/leader";

// A 2 s lease renewed every 200 ms; the leader stops acting 700 ms before the
// lease can expire (wide enough to observe the gap on a loaded machine).
leader_settings settings_for(const std::string& id) {
  leader_settings s;
  s.leader_key = leader_key;
  s.candidate_id = id;
  s.timing.ttl = 2000ms;
  s.timing.keepalive_interval = 200ms;
  s.timing.safety_margin = 700ms;
  s.timing.retry_interval = 300ms;
  return s;
}

std::unique_ptr<leader_lease> start(const etcd_client& client, const leader_settings& settings) {
  auto lease = leader_lease::start(client, settings);
  if (!lease)
    throw std::runtime_error(describe(lease.error()));
  return std::move(*lease);
}

bool leads(const leader_lease& c) {
  auto s = c.status();
  return s.leader && s.may_act;
}

} // namespace

TEST(leader_lease, exactly_one_of_two_candidates_leads) {
  etcd_cluster etcd;
  ASSERT_EQ(etcd.start(), "");
  auto client = etcd_client_of(etcd.endpoints(), 500ms);
  std::mutex mtx;
  std::vector<std::pair<std::string, leadership>> changes;
  auto recording = [&](const std::string& id) {
    auto s = settings_for(id);
    s.on_change = [&, id](const leadership& l) {
      std::lock_guard<std::mutex> guard{mtx};
      changes.emplace_back(id, l);
    };
    return s;
  };
  auto a = start(client, recording("a"));
  auto b = start(client, recording("b"));

  ASSERT_TRUE(wait_until([&] { return leads(*a) || leads(*b); }, 5s));
  bool a_leads = leads(*a);
  auto& leader = a_leads ? *a : *b;
  auto& follower = a_leads ? *b : *a;
  auto ls = leader.status();
  std::string leader_id = a_leads ? "a" : "b";
  ASSERT_TRUE(wait_until([&] { return follower.status().leader_id == leader_id; }, 3s));

  // The epoch is the leader key's create revision; the key is bound to its lease.
  auto key = client.get(leader_key);
  ASSERT_TRUE(key && *key);
  EXPECT_EQ((*key)->value, leader_id);
  EXPECT_EQ(ls.epoch.value, (*key)->create_revision);
  EXPECT_EQ(ls.leader_id, leader_id);
  EXPECT_EQ((*key)->lease, ls.lease_id);
  EXPECT_GT(ls.act_remaining, 0ms);
  auto fs = follower.status();
  EXPECT_FALSE(fs.leader);
  EXPECT_FALSE(fs.may_act);
  EXPECT_EQ(fs.epoch, ls.epoch) << "the follower sees who leads, and in which epoch";
  EXPECT_NE(fs.lease_id, 0) << "a follower holds a lease too, ready to campaign";
  EXPECT_NE(fs.lease_id, ls.lease_id);

  // One leader at every sampled moment, and always the same one.
  stopwatch sampling;
  while (sampling.elapsed() < 1s) {
    auto sa = a->status();
    auto sb = b->status();
    ASSERT_FALSE(sa.leader && sb.leader);
    ASSERT_TRUE(leader.status().may_act);
    ASSERT_FALSE(follower.may_act());
    std::this_thread::sleep_for(20ms); // sampling over time is the point
  }
  auto still = client.get(leader_key);
  ASSERT_TRUE(still && *still);
  EXPECT_EQ((*still)->create_revision, ls.epoch.value) << "no leadership change meanwhile";

  // Both told their observers: the leader that it may act, the follower who leads.
  std::lock_guard<std::mutex> guard{mtx};
  auto told = [&](const std::string& id, bool leading) {
    return std::any_of(changes.begin(), changes.end(), [&](const auto& c) {
      return c.first == id && c.second.leader == leading && c.second.may_act == leading &&
             c.second.leader_id == leader_id && c.second.epoch == ls.epoch;
    });
  };
  EXPECT_TRUE(told(leader_id, true));
  EXPECT_TRUE(told(a_leads ? "b" : "a", false));
  EXPECT_FALSE(std::any_of(changes.begin(), changes.end(), [&](const auto& c) {
    return c.first != leader_id && c.second.leader;
  })) << "the follower never believed it led";
}

TEST(leader_lease, a_stalled_leader_stops_acting_before_its_lease_expires) {
  etcd_cluster etcd;
  ASSERT_EQ(etcd.start(), "");
  auto client = etcd_client_of(etcd.endpoints(), 500ms);
  auto a = start(client, settings_for("a"));
  ASSERT_TRUE(wait_until([&] { return leads(*a); }, 5s));
  auto b = start(client, settings_for("b"));
  ASSERT_TRUE(wait_until([&] { return b->status().leader_id == "a"; }, 3s));
  auto old_epoch = a->status().epoch;

  // a stops renewing (as a stopped process would).
  a->stall(true);
  stopwatch stalled;
  ASSERT_TRUE(wait_until([&] { return !a->may_act(); }, 3s));
  EXPECT_LT(stalled.elapsed(), 2000ms - 700ms + 500ms) << "TTL - margin after the last renewal";
  // It stopped acting first; its lease (and so its key) is still alive at etcd.
  auto key = client.get(leader_key);
  ASSERT_TRUE(key) << describe(key.error());
  ASSERT_TRUE(*key) << "the lease expired before the leader stopped acting";
  EXPECT_EQ((*key)->value, "a");
  EXPECT_EQ((*key)->create_revision, old_epoch.value);
  EXPECT_FALSE(b->status().leader);
  auto local = a->fenced_write({txn_op::put("/step", "from a")});
  ASSERT_FALSE(local);
  EXPECT_TRUE(is_fencing_refusal(local.error()));
  EXPECT_NE(describe(local.error()).find("refused: lease not renewed in time"), std::string::npos)
      << describe(local.error());

  // The lease expires at etcd, b takes over in a later epoch.
  ASSERT_TRUE(wait_until([&] { return leads(*b); }, 5s));
  auto new_epoch = b->status().epoch;
  EXPECT_GT(new_epoch, old_epoch);

  // A step of the old epoch is refused by etcd itself, and writes nothing.
  auto stale = fenced_write(client, leader_key, old_epoch, {txn_op::put("/step", "from a")});
  ASSERT_FALSE(stale);
  EXPECT_TRUE(is_fencing_refusal(stale.error()));
  auto expected = "refused: not leader (epoch " + std::to_string(old_epoch.value) +
                  ", leader key now held by \"b\" at epoch " + std::to_string(new_epoch.value) +
                  ")";
  EXPECT_NE(describe(stale.error()).find(expected), std::string::npos) << describe(stale.error());
  auto step = client.get("/step");
  ASSERT_TRUE(step);
  EXPECT_FALSE(*step) << "the refused write wrote nothing";
  auto fresh = b->fenced_write({txn_op::put("/step", "from b")});
  ASSERT_TRUE(fresh) << describe(fresh.error());
  step = client.get("/step");
  ASSERT_TRUE(step && *step);
  EXPECT_EQ((*step)->value, "from b");

  // Resumed, a learns it was deposed, and never acts again meanwhile.
  a->stall(false);
  ASSERT_TRUE(wait_until(
      [&] {
        EXPECT_FALSE(a->may_act());
        auto s = a->status();
        return !s.leader && s.leader_id == "b" && s.epoch == new_epoch;
      },
      3s));
  EXPECT_TRUE(leads(*b));
}

TEST(leader_lease, quorum_loss_fences_the_leader_until_etcd_recovers) {
  etcd_cluster etcd;
  ASSERT_EQ(etcd.start(), "");
  auto client = etcd_client_of(etcd.endpoints(), 500ms);
  auto a = start(client, settings_for("a"));
  ASSERT_TRUE(wait_until([&] { return leads(*a); }, 5s));

  etcd.kill(1);
  etcd.kill(2);
  stopwatch lost;
  // a stops TTL - margin after its last acknowledged renewal. An etcd leader
  // left alone still renews leases until it notices it lost its quorum (one
  // or two election timeouts, 0.5-1 s here): those renewals are real, the
  // lease lives on with them (and no member can expire it without a quorum).
  ASSERT_TRUE(wait_until([&] { return !a->may_act(); }, 4s));
  EXPECT_LT(lost.elapsed(), 2000ms - 700ms + 1000ms + 500ms);
  auto s = a->status();
  EXPECT_TRUE(s.leader) << "it still holds the key, as far as it knows";
  EXPECT_EQ(s.act_remaining, 0ms);
  EXPECT_TRUE(wait_until([&] { return !a->status().last_error.empty(); }, 2s));
  auto why = a->status().last_error;
  // The renewal's or the leader key check's failure, whichever came last.
  EXPECT_NE(why.find("via " + etcd.endpoints() + ": "), std::string::npos) << why;
  EXPECT_TRUE(why.find("DEADLINE_EXCEEDED") != std::string::npos ||
              why.find("UNAVAILABLE") != std::string::npos)
      << why;
  auto refused = a->fenced_write({txn_op::put("/step", "x")});
  ASSERT_FALSE(refused);
  EXPECT_TRUE(is_fencing_refusal(refused.error()));

  // It stays fenced while etcd has no quorum.
  stopwatch fenced;
  while (fenced.elapsed() < 1s) {
    ASSERT_FALSE(a->may_act());
    std::this_thread::sleep_for(50ms); // sampling over time is the point
  }

  ASSERT_EQ(etcd.restart(1), "");
  ASSERT_EQ(etcd.restart(2), "");
  ASSERT_TRUE(wait_until([&] { return leads(*a); }, 10s)) << a->status().last_error;
  auto key = client.get(leader_key);
  ASSERT_TRUE(key && *key);
  EXPECT_EQ((*key)->value, "a");
  EXPECT_EQ((*key)->create_revision, a->status().epoch.value);
  auto write = a->fenced_write({txn_op::put("/step", "after")});
  EXPECT_TRUE(write) << describe(write.error());
}

TEST(leader_lease, resigning_hands_over_at_once) {
  etcd_cluster etcd;
  ASSERT_EQ(etcd.start(), "");
  auto client = etcd_client_of(etcd.endpoints(), 500ms);
  auto a_settings = settings_for("a");
  auto b_settings = settings_for("b");
  // b polls rarely: taking over well within that proves the watch woke it.
  b_settings.timing.retry_interval = 3s;
  auto a = start(client, a_settings);
  ASSERT_TRUE(wait_until([&] { return leads(*a); }, 5s));
  auto b = start(client, b_settings);
  ASSERT_TRUE(wait_until([&] { return b->status().leader_id == "a"; }, 5s));
  auto old = a->status();

  stopwatch handover;
  auto resigned = a->resign();
  ASSERT_TRUE(resigned) << describe(resigned.error());
  EXPECT_FALSE(a->may_act());
  EXPECT_FALSE(a->status().leader);
  ASSERT_TRUE(wait_until([&] { return leads(*b); }, 3s));
  EXPECT_LT(handover.elapsed(), 1500ms) << "not the lease's 2 s expiry, nor b's 3 s poll";
  EXPECT_GT(b->status().epoch, old.epoch);
  auto ttl = client.lease_time_to_live(old.lease_id);
  ASSERT_TRUE(ttl);
  EXPECT_FALSE(*ttl) << "a's lease was revoked";
}

TEST(leader_lease, never_leads_without_etcd_and_says_why) {
  auto port = switchyard::testing::free_port();
  auto endpoints = "127.0.0.1:" + std::to_string(port);
  auto client = etcd_client_of(endpoints, 300ms);
  auto a = start(client, settings_for("a"));
  ASSERT_TRUE(wait_until([&] { return !a->status().last_error.empty(); }, 3s));
  auto s = a->status();
  EXPECT_FALSE(s.leader);
  EXPECT_FALSE(s.may_act);
  EXPECT_EQ(s.lease_id, 0);
  EXPECT_NE(s.last_error.find("etcd lease grant (ttl 2 s) via " + endpoints +
                              ": DEADLINE_EXCEEDED (no answer within 300 ms; no member connected"),
            std::string::npos)
      << s.last_error;
  stopwatch stopping;
  a.reset();
  EXPECT_LT(stopping.elapsed(), 1s);
}

TEST(leader_lease, rejects_unsound_settings_before_starting) {
  auto client = etcd_client_of("127.0.0.1:1", 500ms);
  auto s = settings_for("a");
  s.timing.keepalive_interval = 2000ms;
  auto bad = leader_lease::start(client, s);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), switchyard::sy_errc::invalid_config);
  EXPECT_NE(describe(bad.error()).find("keepalive_interval: 2000 ms must be shorter than ttl"),
            std::string::npos)
      << describe(bad.error());

  s = settings_for("a");
  s.timing.ttl = 800ms;
  bad = leader_lease::start(client, s);
  ASSERT_FALSE(bad);
  EXPECT_NE(describe(bad.error()).find("ttl: 800 ms is below 1 s"), std::string::npos);

  // The client's deadline counts: a renewal that may take 1.5 s does not fit.
  auto slow = etcd_client_of("127.0.0.1:1", 1500ms);
  bad = leader_lease::start(slow, settings_for("a"));
  ASSERT_FALSE(bad);
  EXPECT_NE(describe(bad.error()).find("200 ms + 1500 ms + 700 ms"), std::string::npos)
      << describe(bad.error());

  s = settings_for("");
  bad = leader_lease::start(client, s);
  ASSERT_FALSE(bad);
  EXPECT_NE(describe(bad.error()).find("candidate_id: must not be empty"), std::string::npos);
}

// The etcd client against a real three-member etcd cluster: keys, prefixes,
// transactions, leases and watches; a member killed, quorum lost and back;
// nothing reachable at all. Each case starts its own cluster on its own ports.
#include <mutex>

#include <gtest/gtest.h>

#include "tests/cluster/cluster_fixture.hpp"
#include "tests/support/etcd_cluster.hpp"
#include "tests/support/silent_listener.hpp"

using namespace std::chrono_literals;
using namespace switchyard::cluster;
using switchyard::describe;
using switchyard::testing::etcd_client_of;
using switchyard::testing::etcd_cluster;
using switchyard::testing::stopwatch;
using switchyard::testing::wait_until;

namespace {

// How late past its deadline a failing call may return on a loaded machine.
constexpr auto slack = 500ms;

// Records what a watch delivers.
struct recorder {
  std::mutex mtx;
  std::vector<watch_event> events;
  std::vector<std::string> errors;

  watch_options options(bool prefix) {
    watch_options o;
    o.prefix = prefix;
    o.on_event = [this](const watch_event& e) {
      std::lock_guard<std::mutex> guard{mtx};
      events.push_back(e);
    };
    o.on_error = [this](const std::string& why) {
      std::lock_guard<std::mutex> guard{mtx};
      errors.push_back(why);
    };
    return o;
  }
  std::vector<std::string> keys() {
    std::lock_guard<std::mutex> guard{mtx};
    std::vector<std::string> out;
    for (const auto& e : events)
      out.push_back((e.what == watch_event::kind::erase ? "-" : "+") + e.kv.key);
    return out;
  }
  std::size_t error_count() {
    std::lock_guard<std::mutex> guard{mtx};
    return errors.size();
  }
};

} // namespace

TEST(etcd_client, put_get_delete_and_prefix) {
  etcd_cluster etcd;
  ASSERT_EQ(etcd.start(), "");
  auto client = etcd_client_of(etcd.endpoints(), 1s);

  auto missing = client.get("/t/a");
  ASSERT_TRUE(missing) << describe(missing.error());
  EXPECT_FALSE(*missing);

  auto r1 = client.put("/t/a", "1");
  ASSERT_TRUE(r1) << describe(r1.error());
  auto r2 = client.put("/t/b", "2");
  auto r3 = client.put("/u/c", "3");
  ASSERT_TRUE(r2 && r3);
  EXPECT_LT(*r1, *r2);
  auto r4 = client.put("/t/a", "1bis");
  ASSERT_TRUE(r4);

  auto a = client.get("/t/a");
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->value, "1bis");
  EXPECT_EQ((*a)->create_revision, *r1) << "an update keeps the create revision";
  EXPECT_EQ((*a)->mod_revision, *r4);
  EXPECT_EQ((*a)->version, 2);
  EXPECT_EQ((*a)->lease, 0);

  auto under_t = client.get_prefix("/t/");
  ASSERT_TRUE(under_t);
  ASSERT_EQ(under_t->size(), 2u) << "not /u/c";
  EXPECT_EQ((*under_t)[0].key, "/t/a");
  EXPECT_EQ((*under_t)[1].key, "/t/b");

  auto erased = client.erase("/t/a");
  ASSERT_TRUE(erased);
  EXPECT_EQ(*erased, 1);
  auto again = client.erase("/t/a");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0);
  auto gone = client.get("/t/a");
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone);

  auto prefix_erased = client.erase_prefix("/t/");
  ASSERT_TRUE(prefix_erased);
  EXPECT_EQ(*prefix_erased, 1); // /t/b
  auto rest = client.get_prefix("/");
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].key, "/u/c");
}

TEST(etcd_client, a_transaction_takes_one_branch_atomically) {
  etcd_cluster etcd;
  ASSERT_EQ(etcd.start(), "");
  auto client = etcd_client_of(etcd.endpoints(), 1s);

  // Create-if-absent, twice: the first creates, the second reads what is there.
  std::vector<compare> absent{compare::absent("/lock")};
  auto first = client.txn(absent, {txn_op::put("/lock", "a"), txn_op::put("/lock-owner", "a")},
                          {txn_op::get("/lock")});
  ASSERT_TRUE(first) << describe(first.error());
  EXPECT_TRUE(first->succeeded);
  EXPECT_TRUE(first->reads.empty());
  auto second = client.txn(absent, {txn_op::put("/lock", "b"), txn_op::put("/lock-owner", "b")},
                           {txn_op::get("/lock")});
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->succeeded);
  ASSERT_EQ(second->reads.size(), 1u);
  ASSERT_EQ(second->reads[0].size(), 1u);
  EXPECT_EQ(second->reads[0][0].value, "a");
  EXPECT_EQ(second->reads[0][0].create_revision, first->revision)
      << "keys created in a transaction carry its revision";
  auto owner = client.get("/lock-owner");
  ASSERT_TRUE(owner && *owner);
  EXPECT_EQ((*owner)->value, "a") << "the success branch did not run the second time";

  // Value compares, and a prefix read in a branch.
  auto by_value = client.txn({compare::value_is("/lock", "a")}, {txn_op::get_prefix("/lock")}, {});
  ASSERT_TRUE(by_value);
  EXPECT_TRUE(by_value->succeeded);
  ASSERT_EQ(by_value->reads.size(), 1u);
  EXPECT_EQ(by_value->reads[0].size(), 2u);
  auto erase_all =
      client.txn({compare::value_is("/lock", "zzz")}, {}, {txn_op::erase_prefix("/lock")});
  ASSERT_TRUE(erase_all);
  EXPECT_FALSE(erase_all->succeeded);
  auto left = client.get_prefix("/lock");
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty());
}

TEST(etcd_client, a_lease_takes_its_keys_with_it) {
  etcd_cluster etcd;
  ASSERT_EQ(etcd.start(), "");
  auto client = etcd_client_of(etcd.endpoints(), 1s);

  auto lease = client.grant_lease(5s);
  ASSERT_TRUE(lease) << describe(lease.error());
  EXPECT_NE(lease->id, 0);
  EXPECT_EQ(lease->ttl, 5s);
  ASSERT_TRUE(client.put("/leased", "x", lease->id));
  auto kv = client.get("/leased");
  ASSERT_TRUE(kv && *kv);
  EXPECT_EQ((*kv)->lease, lease->id);

  auto ttl = client.lease_time_to_live(lease->id);
  ASSERT_TRUE(ttl && *ttl);
  EXPECT_GT(**ttl, 0s);
  EXPECT_LE(**ttl, 5s);
  auto renewed = client.keep_alive_once(lease->id);
  ASSERT_TRUE(renewed) << describe(renewed.error());
  EXPECT_EQ(*renewed, 5s);

  auto revoked = client.revoke_lease(lease->id);
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(*revoked);
  auto gone = client.get("/leased");
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone) << "revoking the lease deleted its key";
  auto after = client.keep_alive_once(lease->id);
  ASSERT_TRUE(after);
  EXPECT_EQ(*after, 0s) << "a keep-alive of a gone lease answers TTL 0";
  auto no_ttl = client.lease_time_to_live(lease->id);
  ASSERT_TRUE(no_ttl);
  EXPECT_FALSE(*no_ttl);
  auto twice = client.revoke_lease(lease->id);
  ASSERT_TRUE(twice);
  EXPECT_FALSE(*twice);

  // A 1 s lease nobody renews expires with its key.
  auto short_lease = client.grant_lease(1s);
  ASSERT_TRUE(short_lease);
  ASSERT_TRUE(client.put("/short", "x", short_lease->id));
  EXPECT_TRUE(wait_until(
      [&] {
        auto k = client.get("/short");
        return k && !*k;
      },
      5s));
}

TEST(etcd_client, a_watch_delivers_every_change_in_order_while_members_die) {
  etcd_cluster etcd;
  ASSERT_EQ(etcd.start(), "");
  auto client = etcd_client_of(etcd.endpoints(), 1s);
  ASSERT_TRUE(client.put("/other", "not watched"));
  recorder seen;
  auto watch = client.watch("/w/", seen.options(true));
  ASSERT_TRUE(wait_until([&] { return watch->established(); }, 5s));

  ASSERT_TRUE(client.put("/w/a", "1"));
  ASSERT_TRUE(client.put("/w/b", "2"));
  ASSERT_TRUE(client.erase("/w/a"));
  ASSERT_TRUE(client.put("/x", "outside the prefix"));
  std::vector<std::string> expected{"+/w/a", "+/w/b", "-/w/a"};
  ASSERT_TRUE(wait_until([&] { return seen.keys().size() >= 3; }, 5s));

  // Kill each member in turn (one of them carries the stream), write while it
  // is down, bring it back: the watch reopens where it left off.
  for (std::size_t i = 0; i < etcd.size(); ++i) {
    etcd.kill(i);
    auto key = "/w/k" + std::to_string(i);
    std::string last_error;
    ASSERT_TRUE(wait_until(
        [&] {
          auto put = client.put(key, "v");
          last_error = put ? "" : describe(put.error());
          return static_cast<bool>(put);
        },
        5s))
        << key << ": " << last_error << "\n"
        << etcd.log_tail(0) << etcd.log_tail(1) << etcd.log_tail(2);
    expected.push_back("+" + key);
    EXPECT_TRUE(wait_until([&] { return seen.keys().size() >= expected.size(); }, 5s)) << key;
    ASSERT_EQ(etcd.restart(i), "");
  }
  EXPECT_EQ(seen.keys(), expected) << "each change exactly once, in order";
  {
    std::lock_guard<std::mutex> guard{seen.mtx};
    for (std::size_t i = 1; i < seen.events.size(); ++i)
      EXPECT_LT(seen.events[i - 1].kv.mod_revision, seen.events[i].kv.mod_revision);
  }
  stopwatch stopping;
  watch.reset();
  EXPECT_LT(stopping.elapsed(), 1s) << "stopping cancels the stream at once";
}

namespace {

// Twenty writes and reads in a row, each within the deadline.
void twenty_calls(const etcd_client& client, const std::string& tag) {
  for (int i = 0; i < 20; ++i) {
    auto value = tag + std::to_string(i);
    stopwatch call;
    auto put = client.put("/k", value);
    ASSERT_TRUE(put) << tag << i << ": " << describe(put.error());
    auto got = client.get("/k");
    ASSERT_TRUE(got && *got) << tag << i;
    EXPECT_EQ((*got)->value, value);
    EXPECT_LT(call.elapsed(), 1s);
  }
}

} // namespace

TEST(etcd_client, keeps_working_through_the_others_when_one_member_is_killed) {
  etcd_cluster etcd;
  ASSERT_EQ(etcd.start(), "");
  auto client = etcd_client_of(etcd.endpoints(), 1s);
  ASSERT_TRUE(client.put("/k", "before"));
  auto leader = etcd.wait_for_leader();
  ASSERT_LT(leader, etcd.size());

  // A follower dies. A call already on its way to its connection fails
  // (UNAVAILABLE: outcome unknown, writes are not retried); round_robin drops
  // the connection and the next calls go to the others.
  auto follower = (leader + 1) % etcd.size();
  etcd.kill(follower);
  stopwatch first_call;
  auto first = client.put("/k", "first");
  if (!first) {
    EXPECT_NE(describe(first.error()).find("UNAVAILABLE"), std::string::npos)
        << describe(first.error());
  }
  EXPECT_LT(first_call.elapsed(), 1s);
  twenty_calls(client, "after follower ");
  ASSERT_EQ(etcd.restart(follower), "");

  // The raft leader dies: writes wait for the survivors to elect a new one
  // (an election timeout or two, 0.5-1 s here), then go on through them.
  etcd.kill(leader);
  stopwatch election;
  EXPECT_TRUE(wait_until([&] { return static_cast<bool>(client.put("/k", "elected")); }, 5s));
  EXPECT_LT(election.elapsed(), 3s);
  twenty_calls(client, "after leader ");
  EXPECT_FALSE(etcd.running(leader));
}

TEST(etcd_client, a_stopped_member_costs_bounded_calls_only) {
  etcd_cluster etcd;
  ASSERT_EQ(etcd.start(), "");
  auto client = etcd_client_of(etcd.endpoints(), 300ms);
  ASSERT_TRUE(client.put("/k", "before"));
  auto leader = etcd.wait_for_leader();
  ASSERT_LT(leader, etcd.size());

  // SIGSTOP: its connections stay open and nothing answers. Calls sent there
  // end at their deadline; round_robin sends the others to the live members
  // (until HTTP/2 keep-alive pings, every 10 s, close the dead connection).
  auto stopped = (leader + 1) % etcd.size();
  etcd.pause(stopped);
  int ok = 0;
  for (int i = 0; i < 12; ++i) {
    stopwatch call;
    auto got = client.get("/k");
    EXPECT_LT(call.elapsed(), 300ms + slack) << i;
    if (got) {
      ++ok;
    } else {
      EXPECT_NE(describe(got.error()).find("DEADLINE_EXCEEDED"), std::string::npos)
          << describe(got.error());
    }
  }
  // Round robin over three connections: about one call in three met the
  // stopped member.
  EXPECT_GE(ok, 6) << "the live members answered";
  etcd.resume(stopped);
  EXPECT_TRUE(wait_until([&] { return etcd.healthy(stopped); }, 5s));
}

TEST(etcd_client, quorum_loss_fails_within_the_deadline_and_recovers) {
  etcd_cluster etcd;
  ASSERT_EQ(etcd.start(), "");
  auto client = etcd_client_of(etcd.endpoints(), 500ms);
  ASSERT_TRUE(client.put("/k", "before"));

  etcd.kill(1);
  etcd.kill(2);
  std::string text;
  for (int attempt = 0; attempt < 3; ++attempt) {
    stopwatch call;
    auto put = client.put("/k", "during");
    ASSERT_FALSE(put) << "one member of three cannot commit";
    EXPECT_LT(call.elapsed(), 500ms + slack);
    text = describe(put.error());
    EXPECT_NE(text.find("etcd put \"/k\" via " + etcd.endpoints() + ": "), std::string::npos)
        << text;
    stopwatch read;
    auto get = client.get("/k");
    EXPECT_FALSE(get) << "a linearizable read needs the quorum too";
    EXPECT_LT(read.elapsed(), 500ms + slack) << "retries of a read stay within its deadline";
    stopwatch grant;
    EXPECT_FALSE(client.grant_lease(5s));
    EXPECT_LT(grant.elapsed(), 500ms + slack);
  }
  // The first call may have met a dead member's connection ("Socket closed");
  // by now the survivor answers: no quorum behind it.
  EXPECT_TRUE(text.find("DEADLINE_EXCEEDED (no answer within 500 ms") != std::string::npos ||
              text.find("UNAVAILABLE: etcdserver: no leader") != std::string::npos)
      << text;

  ASSERT_EQ(etcd.restart(1), "");
  EXPECT_TRUE(wait_until([&] { return static_cast<bool>(client.put("/k", "after")); }, 10s));
  auto got = client.get("/k");
  ASSERT_TRUE(got && *got) << (got ? "" : describe(got.error()));
  EXPECT_EQ((*got)->value, "after");
}

TEST(etcd_client, unreachable_endpoints_fail_within_the_deadline) {
  // Nothing listens on these ports: every connection is refused, and the call
  // waits for one until its deadline.
  auto refused = switchyard::testing::free_port();
  auto refused2 = switchyard::testing::free_port();
  auto endpoints =
      "127.0.0.1:" + std::to_string(refused) + ",127.0.0.1:" + std::to_string(refused2);
  auto client = etcd_client_of(endpoints, 300ms);
  stopwatch call;
  auto get = client.get("/k");
  ASSERT_FALSE(get);
  EXPECT_LT(call.elapsed(), 300ms + slack);
  auto text = describe(get.error());
  EXPECT_NE(text.find("etcd get \"/k\" via " + endpoints +
                      ": DEADLINE_EXCEEDED (no answer within 300 ms; no member connected: "
                      "channel "),
            std::string::npos)
      << text;

  // A listener that accepts connections and never answers: the deadline ends it.
  switchyard::testing::silent_listener silent;
  auto mute = etcd_client_of("127.0.0.1:" + std::to_string(silent.port()), 300ms);
  stopwatch mute_call;
  auto put = mute.put("/k", "v");
  ASSERT_FALSE(put);
  EXPECT_LT(mute_call.elapsed(), 300ms + slack);
  // gRPC reports the deadline, or the connection that never completed its
  // HTTP/2 handshake within it.
  auto mute_text = describe(put.error());
  EXPECT_NE(mute_text.find("etcd put \"/k\" via 127.0.0.1:" + std::to_string(silent.port())),
            std::string::npos)
      << mute_text;
  EXPECT_TRUE(mute_text.find("DEADLINE_EXCEEDED (no answer within 300 ms") != std::string::npos ||
              mute_text.find("UNAVAILABLE") != std::string::npos)
      << mute_text;
  stopwatch keep_alive;
  EXPECT_FALSE(mute.keep_alive_once(1));
  EXPECT_LT(keep_alive.elapsed(), 300ms + slack);

  // A watch (no deadline: it fails at once when no member is connected)
  // retries with its backoff, says why, and stops at once.
  recorder seen;
  auto watch = client.watch("/w", seen.options(false));
  EXPECT_TRUE(wait_until([&] { return seen.error_count() >= 3; }, 5s));
  EXPECT_FALSE(watch->established());
  {
    std::lock_guard<std::mutex> guard{seen.mtx};
    EXPECT_NE(seen.errors[0].find("etcd watch \"/w\" via " + endpoints), std::string::npos)
        << seen.errors[0];
    EXPECT_NE(seen.errors[0].find("; reopening in 50 ms"), std::string::npos) << seen.errors[0];
  }
  stopwatch stopping;
  watch.reset();
  EXPECT_LT(stopping.elapsed(), 1s);
}

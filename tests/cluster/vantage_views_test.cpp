// Views from several vantage points in a real three-member etcd cluster:
// three replicas publish what they see down, a reader applies the quorum.
// A dead replica's views and vote vanish with its lease; a lost lease is
// granted again and the view re-published; a late reader is seeded.
#include <optional>

#include <gtest/gtest.h>

#include "cluster/vantage_views.hpp"
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

const std::string prefix = "/sy/vantage";
const quorum_settings quorum_2_of_3{{"r1", "r2", "r3"}, 2};

// A 2 s lease renewed every 300 ms (with the client's 500 ms deadline, one
// timed-out renewal still fits).
vantage_settings settings_for(const std::string& id) {
  vantage_settings s;
  s.prefix = prefix;
  s.replica_id = id;
  s.address = id + ".example:7443";
  s.ttl = 2s;
  s.keepalive_interval = 300ms;
  return s;
}

std::unique_ptr<vantage_publisher> publisher(const etcd_client& client, const std::string& id) {
  auto p = vantage_publisher::start(client, settings_for(id));
  if (!p)
    throw std::runtime_error(describe(p.error()));
  return std::move(*p);
}

std::unique_ptr<vantage_reader> reader(const etcd_client& client) {
  auto r = vantage_reader::start(client, prefix);
  if (!r)
    throw std::runtime_error(describe(r.error()));
  return std::move(*r);
}

down_verdict verdict(const vantage_reader& r) {
  auto v = r.verdict("pg", "db-1", quorum_2_of_3);
  if (!v)
    throw std::runtime_error(describe(v.error()));
  return *v;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool all_live(const vantage_reader& r) {
  return r.snapshot().members.size() == 3;
}

struct three_replicas {
  etcd_cluster etcd;
  std::optional<etcd_client> client;
  std::unique_ptr<vantage_publisher> r1, r2, r3;

  void start() {
    ASSERT_EQ(etcd.start(), "");
    client = etcd_client_of(etcd.endpoints(), 500ms);
    r1 = publisher(*client, "r1");
    r2 = publisher(*client, "r2");
    r3 = publisher(*client, "r3");
  }
};

} // namespace

TEST(vantage_views, a_quorum_of_replicas_makes_an_instance_objectively_down) {
  three_replicas c;
  ASSERT_NO_FATAL_FAILURE(c.start());
  auto r = reader(*c.client);
  ASSERT_TRUE(wait_until([&] { return all_live(*r); }, 5s));
  EXPECT_EQ(r->snapshot().members.at("r2").address, "r2.example:7443");
  EXPECT_EQ(r->snapshot().members.at("r2").lease, c.r2->lease_id());

  // One replica sees it down: one vote of the two needed.
  ASSERT_TRUE(c.r1->report("pg", "db-1", true, "connection refused"));
  ASSERT_TRUE(wait_until([&] { return r->reports("pg", "db-1").count("r1") == 1; }, 3s));
  auto seen = r->reports("pg", "db-1").at("r1");
  EXPECT_EQ(seen.reason, "connection refused");
  EXPECT_GT(seen.since_ms, 0);
  auto v = verdict(*r);
  EXPECT_FALSE(v.objectively_down);
  EXPECT_EQ(v.votes, 1U);
  EXPECT_EQ(v.needed, 2U);
  EXPECT_EQ(v.explanation, "not objectively down: 1 of 2 votes needed (down: r1; up: r2, r3)");

  // Reporting the same again writes nothing.
  const auto key = prefix + "/views/r1/pg/db-1";
  auto before = c.client->get(key);
  ASSERT_TRUE(before && *before);
  EXPECT_EQ((*before)->lease, c.r1->lease_id()) << "bound to the replica's own lease";
  ASSERT_TRUE(c.r1->report("pg", "db-1", true, "timeout"));
  auto after = c.client->get(key);
  ASSERT_TRUE(after && *after);
  EXPECT_EQ((*after)->mod_revision, (*before)->mod_revision);

  // A second replica agrees: objectively down.
  ASSERT_TRUE(c.r2->report("pg", "db-1", true, "timeout"));
  ASSERT_TRUE(wait_until([&] { return verdict(*r).objectively_down; }, 3s));
  v = verdict(*r);
  EXPECT_EQ(v.votes, 2U);
  EXPECT_EQ(v.explanation, "objectively down: 2 of 2 votes needed (down: r1, r2; up: r3)");

  // One sees it up again: back below the quorum, and its key is gone.
  ASSERT_TRUE(c.r1->report("pg", "db-1", false));
  ASSERT_TRUE(wait_until([&] { return !verdict(*r).objectively_down; }, 3s));
  v = verdict(*r);
  EXPECT_EQ(v.votes, 1U);
  EXPECT_EQ(v.explanation, "not objectively down: 1 of 2 votes needed (down: r2; up: r1, r3)");
  auto gone = c.client->get(key);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone);
  // Other instances are untouched by all of this.
  EXPECT_TRUE(r->reports("pg", "db-2").empty());
}

TEST(vantage_views, a_dead_replica_s_views_and_vote_vanish_with_its_lease) {
  three_replicas c;
  ASSERT_NO_FATAL_FAILURE(c.start());
  auto r = reader(*c.client);
  ASSERT_TRUE(wait_until([&] { return all_live(*r); }, 5s));
  ASSERT_TRUE(c.r1->report("pg", "db-1", true, "timeout"));
  ASSERT_TRUE(c.r3->report("pg", "db-1", true, "timeout"));
  ASSERT_TRUE(wait_until([&] { return verdict(*r).objectively_down; }, 3s));

  // r3 crashes: no more keep-alives, nothing withdrawn by hand.
  c.r3.reset();
  stopwatch dead;
  ASSERT_TRUE(wait_until(
      [&] {
        auto s = r->snapshot();
        return s.members.count("r3") == 0 && r->reports("pg", "db-1").count("r3") == 0;
      },
      2s + 2s));
  RecordProperty("vanished_after_ms", std::to_string(dead.elapsed().count()));
  EXPECT_GT(dead.elapsed(), 1000ms) << "gone with the lease's expiry, not deleted";
  EXPECT_LT(dead.elapsed(), 2s + 1500ms) << "TTL + slack";
  auto v = verdict(*r);
  EXPECT_FALSE(v.objectively_down);
  EXPECT_EQ(v.votes, 1U);
  EXPECT_EQ(v.explanation, "not objectively down: 1 of 2 votes needed (down: r1; up: r2; not "
                           "reporting: r3)");

  // A replica that stops cleanly withdraws its view at once.
  stopwatch leaving;
  ASSERT_TRUE(c.r1->stop());
  // The revocation deletes its keys in one revision, one watch event each:
  // wait for the view's too, not only the membership's.
  ASSERT_TRUE(wait_until(
      [&] { return r->snapshot().members.count("r1") == 0 && r->reports("pg", "db-1").empty(); },
      2s));
  EXPECT_LT(leaving.elapsed(), 1000ms);
  EXPECT_FALSE(c.r1->report("pg", "db-1", false)) << "a stopped publisher refuses reports";
}

TEST(vantage_views, a_lost_lease_is_granted_again_and_the_view_re_published) {
  three_replicas c;
  ASSERT_NO_FATAL_FAILURE(c.start());
  auto r = reader(*c.client);
  ASSERT_TRUE(wait_until([&] { return all_live(*r); }, 5s));
  ASSERT_TRUE(c.r1->report("pg", "db-1", true, "timeout"));
  ASSERT_TRUE(c.r1->report("pg", "db-2", true, "refused"));
  ASSERT_TRUE(c.r2->report("pg", "db-1", true, "timeout"));
  ASSERT_TRUE(wait_until([&] { return verdict(*r).objectively_down; }, 3s));

  // r1's lease disappears under it (as after a pause longer than the TTL).
  auto since = r->reports("pg", "db-2").at("r1").since_ms;
  auto old = c.r1->lease_id();
  ASSERT_NE(old, 0);
  auto revoked = c.client->revoke_lease(old);
  ASSERT_TRUE(revoked && *revoked);
  ASSERT_TRUE(wait_until(
      [&] {
        auto s = r->snapshot();
        auto m = s.members.find("r1");
        return m != s.members.end() && m->second.lease != old &&
               r->reports("pg", "db-1").count("r1") == 1 &&
               r->reports("pg", "db-2").count("r1") == 1;
      },
      3s));
  ASSERT_TRUE(wait_until([&] { return c.r1->published(); }, 2s)) << c.r1->last_error();
  EXPECT_NE(c.r1->lease_id(), old);
  auto key = c.client->get(prefix + "/views/r1/pg/db-2");
  ASSERT_TRUE(key && *key);
  EXPECT_EQ((*key)->lease, c.r1->lease_id());
  EXPECT_EQ(r->reports("pg", "db-2").at("r1").reason, "refused") << "the reason survives";
  EXPECT_EQ(r->reports("pg", "db-2").at("r1").since_ms, since) << "and so does since when";
  EXPECT_TRUE(verdict(*r).objectively_down) << verdict(*r).explanation;

  // Later reports use the new lease.
  ASSERT_TRUE(c.r1->report("pg", "db-2", false));
  ASSERT_TRUE(wait_until([&] { return r->reports("pg", "db-2").empty(); }, 3s));
}

TEST(vantage_views, a_reader_started_after_the_reports_is_seeded) {
  three_replicas c;
  ASSERT_NO_FATAL_FAILURE(c.start());
  ASSERT_TRUE(
      wait_until([&] { return c.r1->published() && c.r2->published() && c.r3->published(); }, 5s));
  ASSERT_TRUE(c.r2->report("pg", "db-1", true, "timeout"));
  ASSERT_TRUE(c.r3->report("pg", "db-1", true, "timeout"));

  // Seeded synchronously by start(): no waiting for any watch event.
  auto r = reader(*c.client);
  auto s = r->snapshot();
  EXPECT_EQ(s.members.size(), 3U);
  EXPECT_GT(s.revision, 0);
  EXPECT_EQ(s.last_error, "");
  EXPECT_EQ(r->reports("pg", "db-1").size(), 2U);
  auto v = verdict(*r);
  EXPECT_TRUE(v.objectively_down);
  EXPECT_EQ(v.explanation, "objectively down: 2 of 2 votes needed (down: r2, r3; up: r1)");

  // And kept current by the watch from there on.
  ASSERT_TRUE(c.r3->report("pg", "db-1", false));
  ASSERT_TRUE(wait_until([&] { return !verdict(*r).objectively_down; }, 3s));
}

TEST(vantage_views, rejects_unsound_settings_and_names) {
  auto client = etcd_client_of("127.0.0.1:1", 500ms);
  auto why = [&](const vantage_settings& s) {
    auto p = vantage_publisher::start(client, s);
    return p ? std::string{} : describe(p.error());
  };
  auto s = settings_for("r1");
  s.replica_id = "dc/r1";
  EXPECT_TRUE(has(why(s), "replica_id: \"dc/r1\" must be non-empty and without '/'")) << why(s);
  s = settings_for("r1");
  s.prefix = "/sy/";
  EXPECT_TRUE(has(why(s), "prefix: \"/sy/\" must start with '/'")) << why(s);
  s = settings_for("r1");
  s.ttl = 0s;
  EXPECT_TRUE(has(why(s), "ttl: 0 s is below 1 s")) << why(s);
  s = settings_for("r1");
  s.keepalive_interval = 1600ms;
  EXPECT_TRUE(has(why(s), "keepalive_interval: 1600 ms + request_timeout 500 ms must be shorter "
                          "than ttl (2000 ms)"))
      << why(s);

  auto r = vantage_reader::start(client, "");
  ASSERT_FALSE(r);
  EXPECT_TRUE(has(describe(r.error()), "prefix: \"\" must start with '/'"));

  auto p = publisher(client, "r1"); // etcd unreachable: reports are kept for later
  EXPECT_TRUE(p->report("pg", "db-1", true)) << "no lease yet: nothing to write";
  auto bad = p->report("pg", "a/b", true);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(has(describe(bad.error()), "instance \"a/b\" must be non-empty and without '/'"));
  auto q = vantage_reader::start(client, prefix);
  ASSERT_FALSE(q) << "a reader needs its first read";
}

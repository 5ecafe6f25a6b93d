// A switchyardd replica's control authority against a real three-member etcd
// cluster: one of two replicas comes to act, and only after it has read the
// replicated state; the other's writes are refused before they reach etcd; a
// switchover's intent, steps and end are replicated, and every replica hands
// the new topology on; when the leader dies the other takes over within the
// lease's TTL and starts from that topology; maintenance windows and a site
// switchover in flight reach the follower, which claims the site switchover
// once it leads; endpoints nobody answers at are refused at start.
#include <mutex>

#include <gtest/gtest.h>

#include "cluster/cluster_authority.hpp"
#include "messages/error.hpp"
#include "tests/cluster/cluster_fixture.hpp"
#include "tests/support/etcd_cluster.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::cluster;
using switchyard::testing::etcd_cluster;
using switchyard::testing::stopwatch;
using switchyard::testing::wait_until;

namespace {

config::cluster_settings settings_of(const etcd_cluster& etcd, const std::string& member) {
  config::cluster_settings s;
  s.member = member;
  s.members = {{"sy-a", "127.0.0.1:7401"}, {"sy-b", "127.0.0.1:7402"}};
  std::string all = etcd.endpoints();
  for (std::size_t at = 0; at != std::string::npos;) {
    auto comma = all.find(',', at);
    s.endpoints.push_back(all.substr(at, comma == std::string::npos ? comma : comma - at));
    at = comma == std::string::npos ? comma : comma + 1;
  }
  s.prefix = "/sy-test";
  s.lease_ttl = 2s;
  s.keepalive_interval = 300ms;
  s.safety_margin = 500ms;
  s.request_timeout = 500ms;
  s.election_retry = 200ms;
  return s;
}

// What a replica's callbacks saw.
struct observed {
  std::mutex mtx;
  std::vector<actors::leadership_view> changes;
  std::vector<topology_list> topologies;
  maintenance_list windows;
  site_takeover site;

  authority_callbacks callbacks() {
    authority_callbacks c;
    c.on_change = [this](const actors::leadership_view& v) {
      std::lock_guard lock{mtx};
      changes.push_back(v);
    };
    c.on_topology = [this](const topology_list& t) {
      std::lock_guard lock{mtx};
      topologies.push_back(t);
    };
    c.on_maintenance = [this](const maintenance_list& w) {
      std::lock_guard lock{mtx};
      windows = w;
    };
    c.on_site = [this](const site_takeover& t) {
      std::lock_guard lock{mtx};
      site = t;
    };
    return c;
  }
  std::optional<service_topology> last(const std::string& service) {
    std::lock_guard lock{mtx};
    if (topologies.empty())
      return std::nullopt;
    for (const auto& t : topologies.back())
      if (t.service.value == service)
        return t;
    return std::nullopt;
  }
};

std::unique_ptr<cluster_authority> started(const config::cluster_settings& s, observed& o) {
  auto a = cluster_authority::start(s, o.callbacks());
  if (!a)
    throw std::runtime_error(describe(a.error()));
  return std::move(*a);
}

actors::switchover_intent_info intent(switchover_id id, const char* from, const char* to,
                                      std::uint64_t new_epoch) {
  actors::switchover_intent_info in;
  in.service = service_id{"orders"};
  in.id = id;
  in.from = instance_id{from};
  in.to = instance_id{to};
  in.new_epoch = epoch{new_epoch};
  plan_step s1;
  s1.sequence = 1;
  s1.name = "fence";
  plan_step s2;
  s2.sequence = 2;
  s2.name = "promote";
  in.plan.steps = {s1, s2};
  return in;
}

struct cluster_authority_test : ::testing::Test {
  void SetUp() override { ASSERT_EQ(etcd.start(), ""); }

  /// sy-a, once it may act, and sy-b, once it follows sy-a (nullptr each when
  /// that did not happen in time: the test fails).
  std::pair<std::unique_ptr<cluster_authority>, std::unique_ptr<cluster_authority>>
  leader_and_follower(observed& oa, observed& ob) {
    auto a = started(settings_of(etcd, "sy-a"), oa);
    if (!wait_until([&] { return a->may_act(); }, 5s)) {
      ADD_FAILURE() << "sy-a never acted: " << a->view().reason;
      return {};
    }
    auto b = started(settings_of(etcd, "sy-b"), ob);
    if (!wait_until([&] { return b->view().leader_id == "sy-a"; }, 5s)) {
      ADD_FAILURE() << "sy-b never followed sy-a: " << b->view().reason;
      return {};
    }
    return {std::move(a), std::move(b)};
  }

  etcd_cluster etcd;
};

} // namespace

TEST_F(cluster_authority_test, one_replica_acts_the_other_is_refused_and_takes_over_when_it_dies) {
  observed oa;
  observed ob;
  auto [a, b] = leader_and_follower(oa, ob);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(b->may_act());
  auto bv = b->view();
  EXPECT_EQ(bv.leader_address, "127.0.0.1:7401");
  EXPECT_EQ(bv.reason, "follower: sy-a leads");
  EXPECT_EQ(bv.epoch, a->epoch());

  // The follower's writes never reach etcd.
  auto refused = b->begin(intent(switchover_id{1}, "orders-a", "orders-b", 2));
  ASSERT_FALSE(refused);
  EXPECT_NE(describe(refused.error()).find("refused: not leader: this replica (sy-b)"),
            std::string::npos)
      << describe(refused.error());

  // The leader's switchover: intent, steps, end; both replicas hear of it.
  ASSERT_TRUE(a->begin(intent(switchover_id{1}, "orders-a", "orders-b", 2)));
  ASSERT_TRUE(a->step(service_id{"orders"}, switchover_id{1}, 1, step_status::started));
  ASSERT_TRUE(a->step(service_id{"orders"}, switchover_id{1}, 1, step_status::done));
  ASSERT_TRUE(a->step(service_id{"orders"}, switchover_id{1}, 2, step_status::done));
  ASSERT_TRUE(
      a->end(service_id{"orders"}, switchover_id{1}, true, instance_id{"orders-b"}, epoch{2}));
  for (auto* o : {&oa, &ob}) {
    ASSERT_TRUE(wait_until([&] { return o->last("orders").has_value(); }, 5s));
    EXPECT_EQ(o->last("orders")->primary.value, "orders-b");
    EXPECT_EQ(o->last("orders")->current_epoch.value, 2u);
  }
  // A second switchover decided on the old primary is refused as stale.
  auto stale = a->begin(intent(switchover_id{2}, "orders-a", "orders-b", 3));
  ASSERT_FALSE(stale);
  EXPECT_TRUE(is_stale_refusal(stale.error())) << describe(stale.error());

  // The leader dies (no resignation): the follower acts within TTL + a retry.
  auto old_epoch = a->epoch();
  stopwatch sw;
  a.reset();
  ASSERT_TRUE(wait_until([&] { return b->may_act(); }, 6s)) << b->view().reason;
  EXPECT_LT(sw.elapsed(), 4s);
  EXPECT_GT(b->epoch(), old_epoch);
  // It read the replicated state of its term before it could act.
  EXPECT_EQ(ob.last("orders")->primary.value, "orders-b");
  std::lock_guard lock{ob.mtx};
  ASSERT_FALSE(ob.changes.empty());
  EXPECT_TRUE(ob.changes.back().may_act);
  EXPECT_EQ(ob.changes.back().leader_id, "sy-b");
}

TEST_F(cluster_authority_test, windows_and_a_site_switchover_outlive_the_leader) {
  observed oa;
  observed ob;
  auto [a, b] = leader_and_follower(oa, ob);
  ASSERT_TRUE(a && b);

  maintenance_record w{service_id{"orders"}, instance_id{}, "schema change", "alice", 1, 0};
  auto refused = b->set_maintenance(w);
  ASSERT_FALSE(refused) << "a follower records no window";
  EXPECT_NE(describe(refused.error()).find("refused: not leader"), std::string::npos);
  ASSERT_TRUE(a->set_maintenance(w));
  site_record r;
  r.id = 3;
  r.from_site = "dc1";
  r.to_site = "dc2";
  r.state = site_state::committed;
  ASSERT_TRUE(a->record_site(r));
  auto seen = [&](observed& o) {
    std::lock_guard lock{o.mtx};
    return o.windows.size() == 1 && o.windows[0].reason == "schema change" &&
           o.site.leader_id == "sy-a" && o.site.record.id == 3;
  };
  ASSERT_TRUE(wait_until([&] { return seen(ob); }, 5s)) << "the follower follows them";
  ASSERT_TRUE(wait_until([&] { return seen(oa); }, 5s));

  // The leader dies; the follower leads, still sees both, and claims the
  // site switchover (once).
  a.reset();
  ASSERT_TRUE(wait_until([&] { return b->may_act(); }, 6s)) << b->view().reason;
  ASSERT_TRUE(seen(ob));
  site_takeover left;
  {
    std::lock_guard lock{ob.mtx};
    left = ob.site;
  }
  ASSERT_TRUE(b->take_over_site(left));
  EXPECT_FALSE(b->take_over_site(left)) << "it is sy-b's now";
  r.id = 1; // its id in sy-b's journal
  ASSERT_TRUE(b->record_site(r));
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard lock{ob.mtx};
        return ob.site.leader_id == "sy-b" && ob.site.record.id == 1;
      },
      5s));
  ASSERT_TRUE(b->clear_maintenance(service_id{"orders"}, instance_id{}));
  r.finished_ms = 1;
  ASSERT_TRUE(b->record_site(r));
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard lock{ob.mtx};
        return ob.windows.empty() && ob.site.leader_id.empty();
      },
      5s));
}

TEST_F(cluster_authority_test, endpoints_nobody_answers_at_are_refused_at_start) {
  observed o;
  auto s = settings_of(etcd, "sy-a");
  s.endpoints = {"127.0.0.1:" + std::to_string(switchyard::testing::free_port())};
  auto a = cluster_authority::start(s, o.callbacks());
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error(), sy_errc::unavailable) << describe(a.error());
}

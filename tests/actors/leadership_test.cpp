// Cluster mode as the coordinator sees it (actors/control_authority.hpp): a
// replica that may not act decides nothing and refuses switchovers; once it
// may, it decides on what it held back; every replica follows the topology
// the leader replicated, and epochs never go back. The authority is a fake
// switched by the test; the etcd side is tested in tests/cluster/.
#include <atomic>
#include <mutex>

#include "tests/actors/pipeline_fixture.hpp"

using namespace switchyard::testing::pipeline;

namespace {

class switchable_authority final : public single_node_authority {
public:
  std::atomic<bool> acting{false};
  std::atomic<bool> quorum{true}; ///< confirm_down's answer
  mutable std::mutex mtx;
  std::vector<std::string> reports; ///< "web-a down", "web-a up"
  void report(const std::string&, const std::string& instance, bool down) override {
    std::lock_guard lock{mtx};
    reports.push_back(instance + (down ? " down" : " up"));
  }
  down_confirmation confirm_down(const std::string&, const std::string&) const override {
    if (quorum)
      return {true, "objectively down: 2 of 2 votes"};
    return {false, "1 of 2 votes (down: sy-c; up: sy-a)"};
  }
  bool may_act() const override { return acting; }
  std::int64_t epoch() const override { return 12; }
  leadership_view view() const override {
    leadership_view v;
    v.clustered = true;
    v.member = "sy-b";
    v.leader = acting;
    v.may_act = acting;
    v.leader_id = acting ? "sy-b" : "sy-a";
    v.epoch = 12;
    return v;
  }
};

class leadership_test : public pipeline_test {
protected:
  leadership_test() { peers->set_authority(authority); }
  std::shared_ptr<switchable_authority> authority = std::make_shared<switchable_authority>();
};

} // namespace

TEST_F(leadership_test, a_follower_decides_nothing_and_acts_once_it_may) {
  start();
  (*up)["web-a"] = false;
  advance(1s);
  advance(1s); // unhealthy: a detection, decided on
  EXPECT_TRUE(runner->jobs.empty()) << "a follower starts no failover";
  auto held = web_state();
  EXPECT_NE(held.last_decision.find("this replica (sy-b) does not lead; the leader (sy-a) decides"),
            std::string::npos)
      << held.last_decision;
  EXPECT_EQ(held.primary.value, "web-a");

  authority->acting = true;
  caf::anon_send(coord, cluster_atom::value); // leadership changed
  run();
  ASSERT_EQ(runner->jobs.size(), 1u) << "the held failure is decided again";
  EXPECT_EQ(runner->jobs.front().from.value, "web-a");
  EXPECT_EQ(runner->jobs.front().to.value, "web-b");
}

TEST_F(leadership_test, a_follower_refuses_a_switchover_but_answers_a_dry_run) {
  start();
  switchover_request req;
  req.service = service_id{"web"};
  req.principal = "ops";
  std::string error;
  auto reply = ask<switchover_reply>(req, &error);
  EXPECT_FALSE(reply.has_value());
  EXPECT_NE(error.find("does not lead"), std::string::npos) << error;
  EXPECT_TRUE(runner->jobs.empty());

  req.dry_run = true;
  auto dry = ask<switchover_reply>(req, &error);
  ASSERT_TRUE(dry.has_value()) << error;
  EXPECT_TRUE(dry->accepted) << dry->detail;
  EXPECT_TRUE(runner->jobs.empty());
}

TEST_F(leadership_test, the_replicated_topology_is_followed_and_epochs_never_go_back) {
  start();
  caf::anon_send(coord, cluster_atom::value,
                 topology_list{{service_id{"web"}, instance_id{"web-b"}, epoch{5}, {}}});
  run();
  auto now = web_state();
  EXPECT_EQ(now.primary.value, "web-b");
  EXPECT_EQ(now.current_epoch.value, 5u);
  EXPECT_NE(now.last_decision.find("replicated topology: web-b is primary (epoch 5)"),
            std::string::npos)
      << now.last_decision;

  // An older record (a lagging watch, a stale snapshot) changes nothing.
  caf::anon_send(coord, cluster_atom::value,
                 topology_list{{service_id{"web"}, instance_id{"web-a"}, epoch{3}, {}}});
  run();
  EXPECT_EQ(web_state().primary.value, "web-b");
  // Nor does this replica's own database, read again (a restarted coordinator).
  caf::anon_send(coord, load_topo_atom::value);
  run();
  EXPECT_EQ(web_state().primary.value, "web-b");
  EXPECT_EQ(web_state().current_epoch.value, 5u);
}

TEST_F(leadership_test, a_replicated_primary_that_is_not_configured_here_is_not_adopted) {
  start();
  caf::anon_send(coord, cluster_atom::value,
                 topology_list{{service_id{"web"}, instance_id{"web-z"}, epoch{9}, {}}});
  run();
  EXPECT_EQ(web_state().primary.value, "web-a");
  EXPECT_EQ(web_state().current_epoch.value, 1u);
}

TEST_F(leadership_test, the_leader_waits_for_a_quorum_of_replicas_to_see_the_primary_down) {
  authority->acting = true;
  authority->quorum = false;
  start();
  (*up)["web-a"] = false;
  advance(1s);
  advance(1s);
  EXPECT_TRUE(runner->jobs.empty()) << "one vote is not a failover";
  {
    std::lock_guard lock{authority->mtx};
    EXPECT_NE(std::find(authority->reports.begin(), authority->reports.end(), "web-a down"),
              authority->reports.end())
        << "this replica's own view is published";
  }
  auto held = web_state().last_decision;
  EXPECT_NE(held.find("web-a is not objectively down: 1 of 2 votes"), std::string::npos) << held;

  authority->quorum = true; // another replica's view arrived
  caf::anon_send(coord, cluster_atom::value);
  run();
  ASSERT_EQ(runner->jobs.size(), 1u);
  EXPECT_EQ(runner->jobs.front().to.value, "web-b");
}

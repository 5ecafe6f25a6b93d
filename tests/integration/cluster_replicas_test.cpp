// The cluster of switchyardd replicas at work (replicas_fixture.hpp): exactly
// one leads and acts; it fails the primary over and the replicated primary
// survives its death; a follower refuses mutations, naming the leader; a
// switchover whose leader dies mid-way is carried on by the next; a leader
// stopped past its lease (SIGSTOP) acts on nothing when it resumes; one
// replica's view is one vote, not a failover.
#include "tests/integration/replicas_fixture.hpp"

namespace switchyard::testing {
namespace {

TEST_F(cluster_replicas, exactly_one_leads_and_another_takes_over_after_kill_9) {
  auto* leader = start_all_and_elect();
  ASSERT_NE(leader, nullptr) << logs();
  // Sampled while the leader dies and another takes over: never two at once.
  std::atomic<bool> sampling{true};
  std::atomic<int> most{0};
  std::thread sampler([&] {
    while (sampling) {
      int n = static_cast<int>(acting().size());
      most = std::max(most.load(), n);
      std::this_thread::sleep_for(20ms);
    }
  });
  std::this_thread::sleep_for(300ms);
  auto killed = std::chrono::steady_clock::now();
  leader->process->signal(SIGKILL);
  leader->process->wait_for_exit(5s);
  leader->process.reset();
  auto* next = wait_for_leader(15s, leader);
  auto took = std::chrono::steady_clock::now() - killed;
  sampling = false;
  sampler.join();
  ASSERT_NE(next, nullptr) << logs();
  EXPECT_LE(most.load(), 1) << "two replicas acted at once";
  // TTL 2 s, then a campaign and one read of the replicated state.
  EXPECT_LT(took, 6s);
  auto m = metrics_of(*next);
  EXPECT_GT(gauge(m, "switchyard_cluster_epoch"), 0);
  EXPECT_GT(gauge(m, "switchyard_cluster_lease_remaining_seconds"), 0);
  EXPECT_EQ(gauge(m, "switchyard_cluster_quorum"), 2);
  // The change of leadership is in the new leader's audit trail.
  EXPECT_TRUE(wait_until(
      [&] {
        auto audit = cli_at(*next, {"audit"}, "admin-token").output;
        return audit.find("Leadership") != std::string::npos &&
               audit.find(next->name + " leads (epoch") != std::string::npos;
      },
      10s))
      << cli_at(*next, {"audit"}, "admin-token").output;
}

TEST_F(cluster_replicas, the_leader_alone_fails_over_and_its_successor_keeps_the_new_primary) {
  auto* leader = start_all_and_elect();
  ASSERT_NE(leader, nullptr) << logs();
  ASSERT_TRUE(both_healthy(*leader)) << logs();
  web_a->signal(SIGKILL);
  ASSERT_TRUE(failed_over_by(*leader)) << logs();
  for (const auto& r : replicas) {
    if (&r != leader) {
      EXPECT_EQ(read_file(r.actions), "") << r.name << " acted but does not lead";
    }
  }
  // Every replica follows the replicated primary.
  for (auto& r : replicas)
    EXPECT_TRUE(wait_until(
        [&] {
          return cli_at(r, {"service", "web"}).output.find("primary web-b") != std::string::npos;
        },
        10s))
        << r.name << ": " << cli_at(r, {"service", "web"}).output;

  leader->process->signal(SIGKILL);
  leader->process->wait_for_exit(5s);
  leader->process.reset();
  auto* next = wait_for_leader(15s, leader);
  ASSERT_NE(next, nullptr) << logs();
  auto shown = cli_at(*next, {"service", "web"});
  EXPECT_NE(shown.output.find("primary web-b"), std::string::npos) << shown.output;
  // web-a is still dead, and no longer primary: nothing to fail over.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(read_file(next->actions), "") << "the new leader failed over again";
}

TEST_F(cluster_replicas, a_follower_refuses_mutations_naming_the_leader_and_answers_reads) {
  auto* leader = start_all_and_elect();
  ASSERT_NE(leader, nullptr) << logs();
  auto* follower = leader == &replicas[0] ? &replicas[1] : &replicas[0];
  auto refused =
      cli_at(*follower, {"switchover", "web", "--to", "web-b", "--reason", "test", "--yes"},
             "operator-token");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find(
                fmt::format("not the leader: this replica ({}) does not lead; the leader is {} at "
                            "127.0.0.1:{}",
                            follower->name, leader->name, leader->api)),
            std::string::npos)
      << refused.output;
  EXPECT_EQ(read_file(leader->actions) + read_file(follower->actions), "");
  // Reads are answered by any replica, the cluster's state included.
  auto status = cli_at(*follower, {"cluster", "status"});
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find(leader->name), std::string::npos) << status.output;
  // The leader takes the same request.
  auto done = cli_at(*leader, {"switchover", "web", "--to", "web-b", "--reason", "test", "--yes"},
                     "operator-token");
  EXPECT_EQ(done.exit_code, 0) << done.output;
  EXPECT_NE(read_file(leader->actions).find("promote promote-new"), std::string::npos);
  EXPECT_EQ(read_file(follower->actions), "");
}

TEST_F(cluster_replicas, a_switchover_whose_leader_dies_mid_way_is_completed_by_the_next_leader) {
  auto* leader = start_all_and_elect();
  ASSERT_NE(leader, nullptr) << logs();
  ASSERT_TRUE(both_healthy(*leader)) << logs();
  // The first step (drain-old) takes 2 s while the flag exists: the leader
  // dies in it, after its intent and the step's start were replicated.
  { std::ofstream(root + "/slow") << "1"; }
  child_process request({SWITCHYARD_CLI_PATH, "--server",
                         "127.0.0.1:" + std::to_string(leader->api), "--token", "operator-token",
                         "switchover", "web", "--to", "web-b", "--reason", "moved mid-way",
                         "--yes"},
                        root + "/cli-mid-way.out");
  ASSERT_TRUE(wait_until(
      [&] { return read_file(leader->actions).find("demote drain-old") != std::string::npos; },
      15s))
      << logs();
  leader->process->signal(SIGKILL);
  leader->process->wait_for_exit(5s);
  leader->process.reset();
  std::filesystem::remove(root + "/slow");

  auto* next = wait_for_leader(15s, leader);
  ASSERT_NE(next, nullptr) << logs();
  ASSERT_TRUE(failed_over_by(*next)) << logs();
  auto actions = read_file(next->actions);
  // It went on from the step that was running (run again: actions are
  // idempotent), through the rest of the plan, once.
  EXPECT_NE(actions.find("demote drain-old"), std::string::npos) << actions;
  EXPECT_NE(actions.find("promote promote-new"), std::string::npos) << actions;
  EXPECT_EQ(actions.find("promote promote-new"), actions.rfind("promote promote-new")) << actions;
  ASSERT_TRUE(wait_until(
      [&] {
        return cli_at(*next, {"service", "web"}).output.find("primary web-b (epoch 2)") !=
               std::string::npos;
      },
      10s))
      << cli_at(*next, {"service", "web"}).output;
  // Its journal says that it took the switchover over, and whose it was.
  auto journal = cli_at(*next, {"switchovers", "1"});
  EXPECT_NE(journal.output.find("reason: taken over: switchover #"), std::string::npos)
      << journal.output;
  EXPECT_NE(journal.output.find("begun by " + leader->name), std::string::npos) << journal.output;
  EXPECT_NE(journal.output.find("completed"), std::string::npos) << journal.output;
  EXPECT_NE(journal.output.find("run by the cluster's leader at leader epoch "), std::string::npos)
      << journal.output;
  EXPECT_NE(http_request("GET", port_b, "/role").find("primary"), std::string::npos);
}

TEST_F(cluster_replicas, a_leader_stopped_past_its_lease_acts_on_nothing_when_it_resumes) {
  auto* leader = start_all_and_elect();
  ASSERT_NE(leader, nullptr) << logs();
  ASSERT_TRUE(both_healthy(*leader)) << logs();
  leader->process->signal(SIGSTOP);
  auto* next = wait_for_leader(15s, leader, leader); // stopped: it would not answer
  ASSERT_NE(next, nullptr) << logs();
  web_a->signal(SIGKILL);
  ASSERT_TRUE(failed_over_by(*next)) << logs();
  leader->process->signal(SIGCONT);
  // It learns it was deposed...
  ASSERT_TRUE(wait_until(
      [&] {
        auto m = metrics_of(*leader);
        return gauge(m, "switchyard_cluster_leader") == 0 &&
               gauge(m, "switchyard_cluster_may_act") == 0;
      },
      10s))
      << logs();
  // ...and its health checkers, which saw web-a die on waking, moved nothing.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(read_file(leader->actions), "") << "the deposed leader acted";
  EXPECT_EQ(acting().size(), 1u);
}

TEST_F(cluster_replicas_one_cut_off,
       one_replica_seeing_the_primary_down_is_one_vote_not_a_failover) {
  // The cut-off replica leads (started first): it sees web-a down itself,
  // and still may not fail it over on its own vote.
  auto& cut = replicas[2];
  ASSERT_EQ(cut.name, cut_off_from_a);
  start(cut);
  auto* leader = wait_for_leader(30s);
  ASSERT_EQ(leader, &cut) << logs();
  start(replicas[0]);
  start(replicas[1]);
  ASSERT_TRUE(all_follow(*leader)) << logs();
  // sy-c's view is published: web-a down, one vote of the two needed.
  auto votes = [&] { return cli_at(*leader, {"cluster", "status"}).output; };
  ASSERT_TRUE(wait_until(
      [&] {
        auto out = votes();
        return out.find("web-a") != std::string::npos && out.find("1/2") != std::string::npos;
      },
      15s))
      << votes() << logs();
  EXPECT_EQ(votes().find("DOWN\n"), std::string::npos) << votes();
  std::this_thread::sleep_for(1500ms); // an observation window: nothing may happen in it
  for (const auto& r : replicas)
    EXPECT_EQ(read_file(r.actions), "") << r.name << " failed over on one vote";
  EXPECT_NE(cli_at(*leader, {"service", "web"}).output.find("primary web-a"), std::string::npos);
  auto held = cli_at(*leader, {"service", "web"}).output;
  EXPECT_NE(held.find("web-a is not objectively down"), std::string::npos) << held;

  // The primary dies for real: every replica sees it down, the leader acts.
  web_a->signal(SIGKILL);
  ASSERT_TRUE(failed_over_by(*leader)) << votes() << logs();
  for (const auto& r : replicas) {
    if (&r != leader) {
      EXPECT_EQ(read_file(r.actions), "") << r.name;
    }
  }
}

} // namespace
} // namespace switchyard::testing

// Three switchyardd replicas on a real three-member etcd cluster, guarding the
// two demo_service instances of `deployment`: exactly one leads and acts; it
// fails the primary over and the replicated primary survives its death; a
// follower refuses mutations, naming the leader; a leader stopped past its
// lease (SIGSTOP) acts on nothing when it resumes. Each replica's actions
// append to a log of its own, which is how the tests tell who acted.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/integration/cli_fixture.hpp"
#include "tests/support/etcd_cluster.hpp"

namespace switchyard::testing {
namespace {

struct replica {
  std::string name;
  std::string dir;
  std::string actions;
  std::uint16_t api = 0;
  std::uint16_t metrics = 0;
  std::unique_ptr<child_process> process;
};

// A gauge of `body` (a /metrics answer), or -1 when it is absent.
double gauge(const std::string& body, const std::string& name) {
  std::smatch m;
  if (std::regex_search(body, m, std::regex("\n" + name + " ([-0-9.e+]+)")))
    return std::stod(m[1]);
  return -1;
}

class cluster_replicas : public cli_integration {
protected:
  void SetUp() override {
    cli_integration::SetUp();
    if (HasFatalFailure())
      return;
    ASSERT_EQ(etcd.start(), "");
    const char* names[] = {"sy-a", "sy-b", "sy-c"};
    for (const char* n : names) {
      replica r;
      r.name = n;
      r.dir = root + "/" + n;
      r.actions = root + "/actions-" + n + ".log";
      r.api = free_port();
      r.metrics = free_port();
      replicas.push_back(std::move(r));
    }
    std::string members;
    for (const auto& r : replicas)
      members += fmt::format("    - {{name: {}, api: 127.0.0.1:{}}}\n", r.name, r.api);
    for (auto& r : replicas) {
      std::filesystem::create_directories(r.dir);
      api_port = r.api;
      actions_log = r.actions;
      metrics_listen = "127.0.0.1:" + std::to_string(r.metrics);
      write_config();
      std::filesystem::rename(root + "/switchyard.yaml", r.dir + "/switchyard.yaml");
      std::filesystem::copy_file(root + "/tokens.yaml", r.dir + "/tokens.yaml");
      std::ofstream out(r.dir + "/switchyard.yaml", std::ios::app);
      out << "cluster:\n"
          << "  member: " << r.name << "\n"
          << "  members:\n"
          << members << "  endpoints: [" << etcd.endpoints() << "]\n"
          << "  lease_ttl: 2s\n";
    }
  }

  void start(replica& r) {
    r.process = std::make_unique<child_process>(
        std::vector<std::string>{SWITCHYARDD_PATH, "--config", r.dir + "/switchyard.yaml"},
        r.dir + "/switchyardd.log");
  }

  void start_all() {
    for (auto& r : replicas)
      start(r);
  }

  /// The replica's /metrics, "" when it does not answer.
  static std::string metrics_of(const replica& r) {
    if (!r.process)
      return {};
    auto answer = http_request("GET", r.metrics, "/metrics");
    return answer.rfind("200", 0) == 0 ? answer : std::string{};
  }

  /// The replicas that say they may act now.
  std::vector<replica*> acting() {
    std::vector<replica*> out;
    for (auto& r : replicas)
      if (gauge(metrics_of(r), "switchyard_cluster_may_act") == 1)
        out.push_back(&r);
    return out;
  }

  replica* wait_for_leader(std::chrono::milliseconds limit, const replica* not_this = nullptr) {
    replica* leader = nullptr;
    (void)wait_until(
        [&] {
          auto now = acting();
          leader = now.size() == 1 && now.front() != not_this ? now.front() : nullptr;
          return leader != nullptr;
        },
        limit);
    return leader;
  }

  cli_result cli_at(const replica& r, std::vector<std::string> args,
                    const std::string& token = "viewer-token") {
    auto saved = api_port;
    api_port = r.api;
    auto out = cli(std::move(args), token);
    api_port = saved;
    return out;
  }

  /// The replica sees both instances of web healthy (within a bound).
  bool both_healthy(const replica& r) {
    return wait_until(
        [&] {
          auto out = cli_at(r, {"services"});
          return out.exit_code == 0 && out.output.find("2/2 healthy") != std::string::npos;
        },
        15s);
  }

  std::string logs() {
    std::string out;
    for (const auto& r : replicas)
      out += "--- " + r.name + "\n" + read_file(r.dir + "/switchyardd.log").substr(0, 20000);
    return out;
  }

  void TearDown() override {
    for (auto& r : replicas)
      if (r.process) {
        r.process->signal(SIGCONT);
        r.process->signal(SIGTERM);
        EXPECT_EQ(r.process->wait_for_exit(15s), 0) << r.name;
      }
  }

  etcd_cluster etcd;
  std::vector<replica> replicas;
};

TEST_F(cluster_replicas, exactly_one_leads_and_another_takes_over_after_kill_9) {
  start_all();
  auto* leader = wait_for_leader(30s);
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
}

TEST_F(cluster_replicas, the_leader_alone_fails_over_and_its_successor_keeps_the_new_primary) {
  start_all();
  auto* leader = wait_for_leader(30s);
  ASSERT_NE(leader, nullptr) << logs();
  ASSERT_TRUE(both_healthy(*leader)) << logs();
  web_a->signal(SIGKILL);
  ASSERT_TRUE(wait_until(
      [&] { return read_file(leader->actions).find("verify verify-role") != std::string::npos; },
      20s))
      << logs();
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
  start_all();
  auto* leader = wait_for_leader(30s);
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
  start_all();
  auto* leader = wait_for_leader(30s);
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
  ASSERT_TRUE(wait_until(
      [&] { return read_file(next->actions).find("verify verify-role") != std::string::npos; },
      20s))
      << logs();
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
  EXPECT_NE(http_request("GET", port_b, "/role").find("primary"), std::string::npos);
}

TEST_F(cluster_replicas, a_leader_stopped_past_its_lease_acts_on_nothing_when_it_resumes) {
  start_all();
  auto* leader = wait_for_leader(30s);
  ASSERT_NE(leader, nullptr) << logs();
  ASSERT_TRUE(both_healthy(*leader)) << logs();
  leader->process->signal(SIGSTOP);
  auto* next = wait_for_leader(15s, leader);
  ASSERT_NE(next, nullptr) << logs();
  web_a->signal(SIGKILL);
  ASSERT_TRUE(wait_until(
      [&] { return read_file(next->actions).find("verify verify-role") != std::string::npos; },
      20s))
      << logs();
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

} // namespace
} // namespace switchyard::testing

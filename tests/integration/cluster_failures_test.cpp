// The cluster of switchyardd replicas when etcd fails them
// (replicas_fixture.hpp): a leader cut off from etcd (every byte between it
// and the etcd members dropped by proxies, as by a firewall rule) stops
// acting and another leads, and it runs nothing while a primary fails; etcd
// losing its quorum stops every replica, which says why, and they resume when
// it returns; a replica whose etcd endpoints nobody answers at does not start.
#include "tests/integration/replicas_fixture.hpp"

namespace switchyard::testing {
namespace {

class cluster_replicas_behind_proxies : public cluster_replicas {
protected:
  void SetUp() override {
    proxied = true;
    cluster_replicas::SetUp();
  }
};

TEST_F(cluster_replicas_behind_proxies, a_leader_cut_off_from_etcd_stops_acting_and_another_leads) {
  auto* leader = start_all_and_elect();
  ASSERT_NE(leader, nullptr) << logs();
  ASSERT_TRUE(both_healthy(*leader)) << logs();
  for (auto& p : leader->to_etcd)
    p->cut();
  // It stops acting by itself, at the latest when its lease could expire...
  ASSERT_TRUE(
      wait_until([&] { return gauge(metrics_of(*leader), "switchyard_cluster_may_act") == 0; }, 5s))
      << logs();
  // ...and another replica takes the lead.
  auto* next = wait_for_leader(15s, leader);
  ASSERT_NE(next, nullptr) << logs();
  // The primary fails while the old leader is cut off: it sees it too, and
  // runs nothing; the new leader fails it over.
  web_a->signal(SIGKILL);
  ASSERT_TRUE(failed_over_by(*next)) << logs();
  EXPECT_EQ(read_file(leader->actions), "") << "the cut-off leader acted";
  auto status = cli_at(*leader, {"cluster", "status"});
  EXPECT_NE(status.output.find("etcd"), std::string::npos) << status.output;

  // Back on the network, it follows.
  for (auto& p : leader->to_etcd)
    p->restore();
  ASSERT_TRUE(wait_until(
      [&] {
        auto m = metrics_of(*leader);
        return gauge(m, "switchyard_cluster_leader") == 0 &&
               gauge(m, "switchyard_cluster_epoch") ==
                   gauge(metrics_of(*next), "switchyard_cluster_epoch");
      },
      15s))
      << logs();
  EXPECT_EQ(acting().size(), 1u);
  EXPECT_NE(cli_at(*leader, {"service", "web"}).output.find("primary web-b"), std::string::npos);
  EXPECT_EQ(read_file(leader->actions), "");
}

TEST_F(cluster_replicas, etcd_losing_its_quorum_stops_every_replica_until_it_returns) {
  auto* leader = start_all_and_elect();
  ASSERT_NE(leader, nullptr) << logs();
  etcd.kill(0);
  etcd.kill(1);
  // Nobody may act once the leader's lease could have expired.
  ASSERT_TRUE(wait_until([&] { return acting().empty(); }, 5s)) << logs();
  auto status = cli_at(*leader, {"cluster", "status"});
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("etcd"), std::string::npos) << status.output;
  auto refused = cli_at(*leader, {"switchover", "web", "--to", "web-b", "--reason", "t", "--yes"},
                        "operator-token");
  EXPECT_NE(refused.exit_code, 0) << refused.output;

  ASSERT_EQ(etcd.restart(0), "");
  ASSERT_EQ(etcd.restart(1), "");
  EXPECT_NE(wait_for_leader(20s), nullptr) << logs();
}

TEST_F(cluster_replicas, a_replica_whose_etcd_endpoints_nobody_answers_at_does_not_start) {
  auto& r = replicas[0];
  auto file = r.dir + "/switchyard.yaml";
  auto text = read_file(file);
  auto at = text.find("  endpoints: [");
  ASSERT_NE(at, std::string::npos);
  auto end = text.find(']', at);
  text.replace(at, end - at + 1, fmt::format("  endpoints: [127.0.0.1:{}]", free_port()));
  { std::ofstream(file, std::ios::trunc) << text; }
  start(r);
  EXPECT_EQ(r.process->wait_for_exit(20s), 1);
  auto log = read_file(r.dir + "/switchyardd.log");
  EXPECT_NE(log.find("switchyard.yaml:"), std::string::npos) << log;
  EXPECT_NE(log.find(": cluster.endpoints: no etcd member answered (127.0.0.1:"), std::string::npos)
      << log;
  r.process.reset();
}

} // namespace
} // namespace switchyard::testing

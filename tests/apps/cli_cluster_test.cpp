// `switchyard cluster status` as an operator reads it (print_cluster; the
// call itself: tests/integration).
#include <sstream>

#include <gtest/gtest.h>

#include "apps/switchyard/cluster_command.hpp"

using namespace switchyard;

namespace {

std::string render(const v1::ClusterStatus& c) {
  std::ostringstream out;
  cli::print_cluster(out, c);
  return out.str();
}

v1::ClusterStatus three_replicas() {
  v1::ClusterStatus c;
  c.set_clustered(true);
  c.set_member("sy-b");
  for (const auto* m : {"sy-a", "sy-b", "sy-c"})
    c.add_members(m);
  c.add_endpoints("10.0.0.9:2379");
  c.set_leader_id("sy-a");
  c.set_leader_address("10.0.0.1:7400");
  c.set_epoch(12);
  c.set_quorum(2);
  c.set_reason("sy-a holds the leader key");
  auto vote = [&c](const char* member, const char* service, const char* primary, bool down) {
    auto* v = c.add_votes();
    v->set_member(member);
    v->set_service(service);
    v->set_primary(primary);
    v->set_down(down);
  };
  vote("sy-a", "web", "web-a", true);
  vote("sy-b", "web", "web-a", true);
  vote("sy-a", "db", "db-a", false);
  return c;
}

} // namespace

TEST(cli_cluster, a_single_switchyardd_says_it_decides_alone) {
  v1::ClusterStatus c;
  c.set_leader(true);
  c.set_may_act(true);
  EXPECT_EQ(render(c), "not clustered: this switchyardd decides alone (no cluster: section)\n");
}

TEST(cli_cluster, a_follower_names_the_leader_and_why_it_may_not_act) {
  EXPECT_EQ(render(three_replicas()), "member:   sy-b\n"
                                      "leader:   sy-a at 10.0.0.1:7400 (epoch 12)\n"
                                      "acting:   NO: sy-a holds the leader key\n"
                                      "quorum:   2 of 3 replicas must see a primary down\n"
                                      "members:  sy-a (leader), sy-b (this replica), sy-c\n"
                                      "etcd:     10.0.0.9:2379\n"
                                      "\n"
                                      "SERVICE  PRIMARY  sy-a  sy-b  sy-c  DOWN VOTES\n"
                                      "db       db-a     up    -     -     0/2\n"
                                      "web      web-a    down  down  -     2/2 DOWN\n");
}

TEST(cli_cluster, the_leader_shows_its_lease) {
  auto c = three_replicas();
  c.set_member("sy-a");
  c.set_leader(true);
  c.set_may_act(true);
  c.set_reason("");
  c.set_lease_remaining_ms(7240);
  c.set_lease_ttl_ms(10000);
  c.clear_votes();
  auto text = render(c);
  EXPECT_NE(text.find("leader:   sy-a at 10.0.0.1:7400 (epoch 12; this replica)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("acting:   yes: this replica leads and may act\n"), std::string::npos);
  EXPECT_NE(text.find("lease:    7.2 s left of 10.0 s\n"), std::string::npos) << text;
  EXPECT_NE(text.find("members:  sy-a (leader) (this replica), sy-b, sy-c\n"), std::string::npos);
  EXPECT_NE(text.find("no votes published yet"), std::string::npos);
}

TEST(cli_cluster, without_a_leader_it_says_none) {
  auto c = three_replicas();
  c.set_leader_id("");
  c.set_leader_address("");
  c.set_epoch(0);
  c.set_reason("etcd unreachable");
  auto text = render(c);
  EXPECT_NE(text.find("leader:   NONE\n"), std::string::npos) << text;
  EXPECT_NE(text.find("acting:   NO: etcd unreachable\n"), std::string::npos) << text;
}

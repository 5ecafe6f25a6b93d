// The leader of a cluster of switchyardd replicas killed (SIGKILL, by its own
// fault injection) at every journal point of an automatic failover: the next
// leader carries the same failover on from its replicated intent and
// completes it — every action run exactly once across the two leaders, web-b
// the one primary at epoch 2, the intent gone, the successor's journal
// complete and saying that it took over.
#include <sstream>

#include "tests/integration/replicas_fixture.hpp"

namespace switchyard::testing {
namespace {

class leader_killed_during_failover : public cluster_replicas,
                                      public ::testing::WithParamInterface<std::string> {};

TEST_P(leader_killed_during_failover, the_next_leader_completes_the_same_failover) {
  const auto point = GetParam();
  // sy-a leads (started first) and is armed; the others are not.
  auto& first = replicas[0];
  start(first, point);
  auto* leader = wait_for_leader(30s);
  ASSERT_EQ(leader, &first) << logs();
  start(replicas[1]);
  start(replicas[2]);
  ASSERT_TRUE(all_follow(first)) << logs();
  for (auto& r : replicas)
    ASSERT_TRUE(both_healthy(r)) << r.name << logs();

  web_a->signal(SIGKILL);
  ASSERT_EQ(first.process->wait_for_exit(20s), 128 + SIGKILL)
      << "it should have died at " << point << "\n"
      << tail(first.dir + "/switchyardd.log");
  first.process.reset();
  auto* next = wait_for_leader(15s, &first);
  ASSERT_NE(next, nullptr) << logs();
  ASSERT_TRUE(wait_until(
      [&] {
        return cli_at(*next, {"service", "web"}).output.find("primary web-b (epoch 2)") !=
               std::string::npos;
      },
      20s))
      << cli_at(*next, {"service", "web"}).output << logs();

  // Each action ran once in all: a step etcd records as done is not run
  // again; one only begun (journaled as started, its action not yet run) is.
  std::string actions;
  for (const auto& r : replicas)
    actions += read_file(r.actions);
  for (const char* name : {"fence-old", "promote-new", "reroute", "verify-role"})
    EXPECT_EQ(count_lines_with(actions, std::string(" ") + name + " "), 1) << name << "\n"
                                                                           << actions;
  EXPECT_EQ(http_request("GET", port_b, "/role"), "200 primary\n");
  // The successor's journal: one completed switchover that says it took over.
  auto list = cli_at(*next, {"switchovers"});
  EXPECT_EQ(count_lines_with(list.output, "completed"), 1) << list.output;
  auto journal = cli_at(*next, {"switchovers", "1"});
  EXPECT_NE(journal.output.find("reason: taken over: switchover #1 begun by sy-a"),
            std::string::npos)
      << journal.output;
  // Nothing left in flight: another switchover may begin.
  auto status = cli_at(*next, {"cluster", "status"});
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_EQ(tail(next->dir + "/switchyardd.log", 100000).find("cannot carry on"),
            std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(every_journal_point, leader_killed_during_failover,
                         ::testing::ValuesIn(failover_journal_points()), journal_point_name);

} // namespace
} // namespace switchyard::testing

// Crash safety with real processes: switchyardd is killed (SIGKILL, by its own
// fault injection) at every journal point of a failover, restarted, and must
// finish that same switchover: one switchover, completed, every step done
// exactly once in the journal and run exactly once, exactly one primary.
// And a planned switchover killed while rolling back finishes its rollback.
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "persistence/sqlite_store.hpp"
#include "tests/integration/cli_fixture.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using switchyard::testing::child_process;
using switchyard::testing::count_lines_with;
using switchyard::testing::failover_journal_points;
using switchyard::testing::http_request;
using switchyard::testing::journal_point_name;
using switchyard::testing::read_file;
using switchyard::testing::wait_until;

namespace {

class crash_fixture : public switchyard::testing::cli_integration {
protected:
  // Starts switchyardd armed to die at `point` (the variable is only in its environment).
  void start_armed(const std::string& point, const std::string& log) {
    ::setenv("SWITCHYARD_FAULT_AT", point.c_str(), 1);
    daemon = start_daemon(log);
    ::unsetenv("SWITCHYARD_FAULT_AT");
  }

  // Both instances healthy and the coordinator past its start (topology
  // loaded: until then a switchover request is refused with "still starting").
  bool wait_healthy(const std::string& log) {
    return wait_until(
        [&] {
          auto text = read_file(log);
          return text.find("web/web-a: unknown -> healthy") != std::string::npos &&
                 text.find("web/web-b: unknown -> healthy") != std::string::npos &&
                 text.find("web: primary web-a (epoch") != std::string::npos;
        },
        15s);
  }

  // The switchover once it is no longer running, from the database.
  std::optional<persistence::switchover_row> finished_switchover() {
    std::optional<persistence::switchover_row> out;
    wait_until(
        [&] {
          auto db = persistence::sqlite_store::open(db_path());
          if (!db)
            return false;
          auto list = (*db)->list_switchovers("web");
          if (!list || list->empty() || list->front().status == switchover_status::running)
            return false;
          EXPECT_EQ(list->size(), 1u) << "the interrupted switchover is resumed, not replaced";
          out = list->front();
          return true;
        },
        20s);
    return out;
  }

  std::vector<persistence::step_row> steps_of(switchover_id id) {
    auto db = persistence::sqlite_store::open(db_path());
    EXPECT_TRUE(db);
    auto steps = (*db)->list_steps(id);
    EXPECT_TRUE(steps);
    return steps ? *steps : std::vector<persistence::step_row>{};
  }
};

class crash_during_failover : public crash_fixture,
                              public ::testing::WithParamInterface<std::string> {};

} // namespace

TEST_P(crash_during_failover, a_restarted_switchyardd_finishes_the_same_switchover) {
  const auto point = GetParam();
  const auto log1 = root + "/switchyardd-1.log";
  const auto log2 = root + "/switchyardd-2.log";
  start_armed(point, log1);
  ASSERT_TRUE(wait_healthy(log1)) << read_file(log1);
  web_a->signal(SIGKILL);
  ASSERT_EQ(daemon->wait_for_exit(20s), 128 + SIGKILL) << "it should have died at " << point << "\n"
                                                       << read_file(log1);
  EXPECT_NE(read_file(log1).find("fault injection: SWITCHYARD_FAULT_AT=" + point),
            std::string::npos);

  daemon = start_daemon(log2);
  auto sw = finished_switchover();
  ASSERT_TRUE(sw) << read_file(log2);
  EXPECT_EQ(sw->status, switchover_status::completed) << sw->detail << "\n" << read_file(log2);
  EXPECT_EQ(sw->run_epoch.value, 2u);
  if (point != "switchover_closed") {
    EXPECT_NE(read_file(log2).find("resuming switchover #1"), std::string::npos) << read_file(log2);
  }

  auto steps = steps_of(sw->id);
  ASSERT_EQ(steps.size(), 4u) << "no step journaled twice, none missing";
  for (std::size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(steps[i].sequence, i + 1);
    EXPECT_EQ(steps[i].status, persistence::step_status::done) << steps[i].detail;
    EXPECT_EQ(steps[i].run_epoch.value, 2u);
  }
  // A step journaled as done before the crash is not run again; a step that
  // was only journaled as started had not run its action yet: each ran once.
  auto actions = read_file(actions_log);
  for (const char* name : {"fence-old", "promote-new", "reroute", "verify-role"})
    EXPECT_EQ(count_lines_with(actions, std::string(" ") + name + " "), 1) << name << "\n"
                                                                           << actions;
  EXPECT_EQ(count_lines_with(actions, "drain-old"), 0) << "an automatic failover never demotes";

  // Exactly one primary, the same in the database, in the daemon and on the instance.
  auto db = persistence::sqlite_store::open(db_path());
  ASSERT_TRUE(db);
  auto topo = (*db)->load_topology();
  ASSERT_TRUE(topo && topo->size() == 1u);
  EXPECT_EQ(topo->front().primary.value, "web-b");
  EXPECT_EQ(topo->front().current_epoch.value, 2u);
  EXPECT_EQ(http_request("GET", port_b, "/role"), "200 primary\n");
  EXPECT_TRUE(wait_until(
      [&] { return cli({"services"}).output.find("web      web-b") != std::string::npos; }, 10s));
}

INSTANTIATE_TEST_SUITE_P(every_journal_point, crash_during_failover,
                         ::testing::ValuesIn(failover_journal_points()), journal_point_name);

using crash_during_rollback = crash_fixture;

TEST_F(crash_during_rollback, a_restarted_switchyardd_finishes_the_rollback) {
  const auto log1 = root + "/switchyardd-1.log";
  const auto log2 = root + "/switchyardd-2.log";
  // Step 5 (verify) fails, so step 6 is "rollback promote-new": die as it starts.
  std::ofstream(root + "/fail-verify") << "x";
  start_armed("step_started:6", log1);
  ASSERT_TRUE(wait_healthy(log1)) << read_file(log1);
  auto run = cli({"switchover", "web", "--reason", "crash test", "--yes"}, "operator-token");
  EXPECT_EQ(run.exit_code, 2) << "the daemon died under it\n" << run.output;
  ASSERT_EQ(daemon->wait_for_exit(20s), 128 + SIGKILL) << read_file(log1);
  EXPECT_EQ(http_request("GET", port_b, "/role"), "200 primary\n") << "promoted, not yet undone";

  daemon = start_daemon(log2);
  auto sw = finished_switchover();
  ASSERT_TRUE(sw) << read_file(log2);
  EXPECT_EQ(sw->status, switchover_status::failed);
  EXPECT_NE(sw->detail.find("step 5 (verify-role) had failed before switchyardd stopped"),
            std::string::npos)
      << sw->detail;
  EXPECT_NE(sw->detail.find("rolled back: promote-new"), std::string::npos) << sw->detail;
  auto steps = steps_of(sw->id);
  ASSERT_EQ(steps.size(), 6u);
  EXPECT_EQ(steps[4].status, persistence::step_status::failed);
  EXPECT_EQ(steps[5].name, "rollback promote-new");
  EXPECT_EQ(steps[5].status, persistence::step_status::done) << steps[5].detail;
  EXPECT_EQ(steps[5].detail.rfind("exit 0", 0), 0u) << steps[5].detail;
  EXPECT_EQ(http_request("GET", port_b, "/role"), "200 standby\n") << "the promote was undone";
  auto db = persistence::sqlite_store::open(db_path());
  ASSERT_TRUE(db);
  EXPECT_EQ((*db)->load_topology()->front().primary.value, "web-a");
}

using hung_action = crash_fixture;

TEST_F(hung_action, a_step_that_never_ends_times_out_and_the_switchover_rolls_back) {
  const auto log = root + "/switchyardd.log";
  daemon = start_daemon(log);
  ASSERT_TRUE(wait_healthy(log)) << read_file(log);
  std::ofstream(root + "/hang-verify") << "x"; // verify-role now sleeps far past its 5 s timeout
  auto run = cli({"switchover", "web", "--reason", "hang test", "--yes"}, "operator-token");
  EXPECT_EQ(run.exit_code, 6) << run.output;
  EXPECT_NE(run.output.find("step 5 (verify-role) failed: timed out after 5000 ms"),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("rolled back: promote-new"), std::string::npos) << run.output;
  EXPECT_EQ(http_request("GET", port_b, "/role"), "200 standby\n") << "the promote was undone";
  auto sw = finished_switchover();
  ASSERT_TRUE(sw);
  EXPECT_EQ(sw->status, switchover_status::failed);
  // The hung command's process group was killed with it: no sleeper is left behind.
  child_process pgrep({"/usr/bin/pgrep", "-fx", "sleep " + hung_sleep()}, root + "/pgrep.out");
  EXPECT_EQ(pgrep.wait_for_exit(5s), 1) << read_file(root + "/pgrep.out");
}

// The exec action with real child processes: output, exit codes, timeouts
// that kill the whole process group, and the SWITCHYARD_* environment.
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "strategies/actions/exec_action.hpp"
#include "tests/actors/test_system.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::strategies;

namespace {

config::action_settings settings(std::string command, std::chrono::milliseconds timeout = 5s) {
  config::action_settings s;
  s.name = "test";
  s.command = std::move(command);
  s.timeout = timeout;
  return s;
}

action_context context() {
  action_context c;
  c.service = "web";
  c.old_primary = "web-a";
  c.old_primary_address = "127.0.0.1:8081";
  c.new_primary = "web-b";
  c.new_primary_address = "127.0.0.1:8082";
  c.target = "web-b";
  c.phase = "promote";
  c.step_name = "promote-b";
  c.switchover = 17;
  c.epoch = 3;
  return c;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// True once `pid` is gone or a zombie (a killed orphan lingers until init
// reaps it). Polls a real process with a bounded deadline of 5 s.
bool process_gone(int pid) {
  for (int i = 0; i < 250; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string s;
    std::getline(stat, s);
    if (!stat || s.find(") Z") != std::string::npos)
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

} // namespace

TEST(exec_action, success_reports_exit_0_and_the_output_tail) {
  exec_action a{settings("echo first; echo promoted >&2")};
  auto r = a.run(context());
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, "first\npromoted\n");
  EXPECT_EQ(r.detail.rfind("exit 0 in ", 0), 0u) << r.detail;
  EXPECT_NE(r.detail.find(" | promoted"), std::string::npos) << r.detail;
  EXPECT_EQ(a.kind(), "exec");
  EXPECT_EQ(a.describe(), "echo first; echo promoted >&2");
}

TEST(exec_action, non_zero_exit_fails) {
  exec_action a{settings("echo nope; exit 3")};
  auto r = a.run(context());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.detail.rfind("exit 3 in ", 0), 0u) << r.detail;
}

TEST(exec_action, killed_by_a_signal_fails) {
  exec_action a{settings("kill -9 $$")};
  auto r = a.run(context());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail.rfind("killed by signal 9", 0), 0u) << r.detail;
}

TEST(exec_action, timeout_kills_the_whole_process_group) {
  switchyard::testing::temp_dir dir;
  auto pidfile = (dir.path() / "pid").string();
  // A background child that would outlive a naive kill of the shell.
  exec_action a{settings("sleep 30 & echo $! > " + pidfile + "; sleep 30", 300ms)};
  auto start = std::chrono::steady_clock::now();
  auto r = a.run(context());
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.detail, "timed out after 300 ms");
  EXPECT_LT(took, 5s);
  auto bg = std::stoi(slurp(pidfile));
  EXPECT_TRUE(process_gone(bg)) << "background child " << bg << " survived the timeout";
}

TEST(exec_action, a_background_child_holding_the_output_neither_stalls_nor_outlives_the_step) {
  switchyard::testing::temp_dir dir;
  auto pidfile = (dir.path() / "pid").string();
  // The background sleep inherits stdout: waiting for EOF alone would run into the timeout.
  exec_action a{settings("sleep 30 & echo $! > " + pidfile + "; echo started", 10s)};
  auto start = std::chrono::steady_clock::now();
  auto r = a.run(context());
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.output, "started\n");
  EXPECT_LT(took, 5s);
  auto bg = std::stoi(slurp(pidfile));
  EXPECT_TRUE(process_gone(bg)) << "background child " << bg << " outlived its step";
}

TEST(exec_action, a_command_that_closes_its_output_is_still_bounded_by_the_timeout) {
  exec_action a{settings("echo bye; exec >/dev/null 2>&1; sleep 30", 300ms)};
  auto start = std::chrono::steady_clock::now();
  auto r = a.run(context());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.output, "bye\n");
}

TEST(exec_action, keeps_only_the_last_4_kib_of_output) {
  exec_action a{settings("i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done")};
  auto r = a.run(context());
  ASSERT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.output.size(), 4096u);
  EXPECT_EQ(r.output.substr(r.output.size() - 18), "line1998\nline1999\n");
  EXPECT_NE(r.detail.find(" | line1999"), std::string::npos) << r.detail;
}

TEST(exec_action, passes_the_failover_context_and_configured_env) {
  switchyard::testing::temp_dir dir;
  auto out = (dir.path() / "env").string();
  auto s = settings("env > " + out);
  s.env["EXTRA_SETTING"] = "on";
  s.env["SWITCHYARD_SERVICE"] = "cannot-override";
  exec_action a{s};
  ASSERT_TRUE(a.run(context()).ok);
  auto env = slurp(out);
  for (const char* line :
       {"SWITCHYARD_SERVICE=web\n", "SWITCHYARD_OLD_PRIMARY=web-a\n",
        "SWITCHYARD_OLD_PRIMARY_ADDRESS=127.0.0.1:8081\n", "SWITCHYARD_NEW_PRIMARY=web-b\n",
        "SWITCHYARD_NEW_PRIMARY_ADDRESS=127.0.0.1:8082\n", "SWITCHYARD_TARGET=web-b\n",
        "SWITCHYARD_PHASE=promote\n", "SWITCHYARD_STEP=promote-b\n",
        "SWITCHYARD_SWITCHOVER_ID=17\n", "SWITCHYARD_EPOCH=3\n", "EXTRA_SETTING=on\n"})
    EXPECT_NE(env.find(line), std::string::npos) << line << " missing in:\n" << env;
  EXPECT_EQ(env.find("cannot-override"), std::string::npos);
}

TEST(exec_action, missing_command_fails_with_the_shells_message) {
  exec_action a{settings("/nonexistent/fence-it")};
  auto r = a.run(context());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.detail.find("not found"), std::string::npos) << r.detail;
}

TEST(exec_action, leaves_no_open_descriptor_and_no_unreaped_child) {
  auto open_fds = [] {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
      ++n;
    return n;
  };
  auto before = open_fds();
  EXPECT_TRUE(exec_action{settings("echo fine")}.run(context()).ok);
  EXPECT_FALSE(exec_action{settings("exit 4")}.run(context()).ok);
  EXPECT_TRUE(exec_action{settings("sleep 30 & sleep 30", 100ms)}.run(context()).timed_out);
  EXPECT_EQ(open_fds(), before);
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD) << "a child of the test process was left unreaped";
}

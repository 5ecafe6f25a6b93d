// The haproxy and redis actions against the real servers from Debian, started
// and stopped by the tests: states and roles are read back from the servers.
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "strategies/action.hpp"
#include "strategies/actions/stream_socket.hpp"
#include "tests/support/haproxy_admin.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::strategies;
using switchyard::testing::child_process;
using switchyard::testing::free_port;
using switchyard::testing::haproxy_command;
using switchyard::testing::read_file;
using switchyard::testing::wait_until;

namespace {

class haproxy_action_test : public ::testing::Test {
protected:
  void SetUp() override {
    socket = (dir.path() / "admin.sock").string();
    auto cfg = (dir.path() / "haproxy.cfg").string();
    std::ofstream(cfg) << "global\n"
                       << "  stats socket " << socket << " level admin\n"
                       << "defaults\n  mode tcp\n  timeout connect 100ms\n"
                       << "  timeout client 1s\n  timeout server 1s\n"
                       << "backend be_web\n"
                       << "  server web-a 127.0.0.1:" << free_port() << "\n"
                       << "  server web-b 127.0.0.1:" << free_port() << "\n";
    haproxy = std::make_unique<child_process>(
        std::vector<std::string>{"/usr/sbin/haproxy", "-f", cfg, "-db"},
        (dir.path() / "haproxy.log").string());
    ASSERT_TRUE(wait_until(
        [&] { return haproxy_command(socket, "show info").find("Name: HAProxy") == 0; }, 10s))
        << read_file((dir.path() / "haproxy.log").string());
  }

  config::action_settings settings(config::haproxy_state state, int weight = -1) {
    config::action_settings a;
    a.name = "lb";
    a.type = config::action_type::haproxy;
    a.socket = socket;
    a.backend = "be_web";
    a.state = state;
    a.weight = weight;
    a.timeout = 2s;
    return a;
  }

  action_result run(const config::action_settings& a, const std::string& target) {
    action_context ctx;
    ctx.target = target;
    return make_action(a)->run(ctx);
  }

  switchyard::testing::temp_dir dir;
  std::string socket;
  std::unique_ptr<child_process> haproxy;
};

class redis_action_test : public ::testing::Test {
protected:
  void SetUp() override {
    for (auto* r : {&a, &b}) {
      r->port = free_port();
      r->process = std::make_unique<child_process>(
          std::vector<std::string>{"/usr/bin/redis-server", "--port", std::to_string(r->port),
                                   "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                   "--repl-diskless-sync-delay", "0", "--dir", dir.path().string()},
          (dir.path() / ("redis-" + std::to_string(r->port) + ".log")).string());
    }
    for (auto* r : {&a, &b})
      ASSERT_TRUE(wait_until([&] { return role_of(*r).rfind("master", 0) == 0; }, 10s));
  }

  struct server {
    std::uint16_t port = 0;
    std::unique_ptr<child_process> process;
    std::string address() const { return fmt::format("127.0.0.1:{}", port); }
  };

  // ROLE through the action's own wire format would prove nothing: ask redis-cli.
  std::string role_of(const server& s) {
    auto out = (dir.path() / "cli.out").string();
    child_process cli({"/usr/bin/redis-cli", "-p", std::to_string(s.port), "ROLE"}, out);
    if (cli.wait_for_exit(5s) != 0)
      return "";
    auto text = read_file(out);
    std::filesystem::remove(out);
    return text;
  }

  // A command through redis-cli: its output, or "" if it failed.
  std::string cli(const server& s, std::vector<std::string> args) {
    auto out = (dir.path() / "cli.out").string();
    args.insert(args.begin(), {"/usr/bin/redis-cli", "-p", std::to_string(s.port)});
    child_process c(args, out);
    if (c.wait_for_exit(5s) != 0)
      return "";
    auto text = read_file(out);
    std::filesystem::remove(out);
    return text;
  }

  std::int64_t offset_of(const server& s) {
    auto info = cli(s, {"INFO", "replication"});
    auto at = info.find("master_repl_offset:");
    return at == std::string::npos ? -1 : std::stoll(info.substr(at + 19));
  }

  action_result run(config::redis_operation op, const server& target, const server& primary,
                    std::chrono::milliseconds pause = {}, std::chrono::milliseconds timeout = 3s) {
    config::action_settings s;
    s.name = "redis";
    s.type = config::action_type::redis;
    s.operation = op;
    s.pause = pause;
    s.timeout = timeout;
    action_context ctx;
    ctx.target = "t";
    ctx.target_address = target.address();
    ctx.new_primary_address = primary.address();
    ctx.old_primary_address = primary.address(); // caught_up compares with the current primary
    return make_action(s)->run(ctx);
  }

  switchyard::testing::temp_dir dir;
  server a;
  server b;
};

} // namespace

TEST_F(haproxy_action_test, sets_maint_drain_ready_and_weight_and_reads_them_back) {
  auto maint = run(settings(config::haproxy_state::maint), "web-a");
  EXPECT_TRUE(maint.ok) << maint.detail;
  EXPECT_EQ(maint.detail.rfind("be_web/web-a is maint (weight 1)", 0), 0u) << maint.detail;
  auto state = haproxy_command(socket, "show servers state be_web");
  EXPECT_NE(state.find("be_web 1 web-a 127.0.0.1 0 1 "), std::string::npos) << state;

  auto drain = run(settings(config::haproxy_state::drain), "web-b");
  EXPECT_TRUE(drain.ok) << drain.detail;
  auto ready = run(settings(config::haproxy_state::ready, 50), "web-a");
  EXPECT_TRUE(ready.ok) << ready.detail;
  EXPECT_EQ(ready.detail.rfind("be_web/web-a is ready (weight 50)", 0), 0u) << ready.detail;
  state = haproxy_command(socket, "show servers state be_web");
  EXPECT_NE(state.find("be_web 1 web-a 127.0.0.1 2 0 50 "), std::string::npos) << state;
  EXPECT_NE(state.find("be_web 2 web-b 127.0.0.1 2 8 1 "), std::string::npos) << state;
}

TEST_F(haproxy_action_test, an_unknown_server_or_a_dead_socket_fails_the_step_with_the_reason) {
  auto unknown = run(settings(config::haproxy_state::maint), "web-z");
  EXPECT_FALSE(unknown.ok);
  EXPECT_EQ(unknown.detail, "set server be_web/web-z state maint: haproxy says: No such server.");
  auto a = settings(config::haproxy_state::maint);
  a.socket = (dir.path() / "nothing.sock").string();
  auto dead = run(a, "web-a");
  EXPECT_FALSE(dead.ok);
  EXPECT_NE(dead.detail.find("No such file or directory"), std::string::npos) << dead.detail;
}

TEST_F(redis_action_test, follow_then_promote_and_read_the_roles_back) {
  auto follow = run(config::redis_operation::follow, b, a);
  ASSERT_TRUE(follow.ok) << follow.detail;
  EXPECT_NE(follow.detail.find("replicates " + a.address()), std::string::npos) << follow.detail;
  EXPECT_EQ(role_of(b).rfind("slave\n127.0.0.1\n" + std::to_string(a.port), 0), 0u) << role_of(b);

  auto promote = run(config::redis_operation::promote, b, b);
  ASSERT_TRUE(promote.ok) << promote.detail;
  EXPECT_NE(promote.detail.find("is master"), std::string::npos) << promote.detail;
  EXPECT_EQ(role_of(b).rfind("master", 0), 0u) << role_of(b);

  // The old primary comes back as a replica of the new one.
  auto demote = run(config::redis_operation::follow, a, b);
  ASSERT_TRUE(demote.ok) << demote.detail;
  EXPECT_EQ(role_of(a).rfind("slave\n127.0.0.1\n" + std::to_string(b.port), 0), 0u) << role_of(a);
}

TEST_F(redis_action_test, pause_writes_and_failures_say_why) {
  auto pause = run(config::redis_operation::pause_writes, a, b, 200ms);
  EXPECT_TRUE(pause.ok) << pause.detail;
  EXPECT_NE(pause.detail.find("writes paused for 200 ms"), std::string::npos);
  auto itself = run(config::redis_operation::follow, a, a);
  EXPECT_FALSE(itself.ok);
  EXPECT_NE(itself.detail.find("cannot follow itself"), std::string::npos);
  server gone;
  gone.port = free_port();
  auto dead = run(config::redis_operation::promote, gone, gone);
  EXPECT_FALSE(dead.ok);
  EXPECT_NE(dead.detail.find("Connection refused"), std::string::npos) << dead.detail;
}

TEST_F(redis_action_test, offset_reads_the_position_and_caught_up_waits_for_it) {
  ASSERT_TRUE(run(config::redis_operation::follow, b, a).ok);
  for (int i = 0; i < 20; ++i)
    ASSERT_NE(cli(a, {"SET", "k" + std::to_string(i), "v"}), "");
  ASSERT_TRUE(wait_until([&] { return offset_of(b) == offset_of(a); }, 10s));
  auto offset = run(config::redis_operation::offset, b, a);
  ASSERT_TRUE(offset.ok) << offset.detail;
  ASSERT_TRUE(offset.value.has_value());
  EXPECT_EQ(*offset.value, offset_of(a));
  auto caught = run(config::redis_operation::caught_up, b, a);
  EXPECT_TRUE(caught.ok) << caught.detail;
  EXPECT_NE(caught.detail.find("caught up"), std::string::npos) << caught.detail;

  // Cut off from its primary it falls behind for good: refused after waiting.
  ASSERT_NE(cli(b, {"REPLICAOF", "NO", "ONE"}), "");
  ASSERT_NE(cli(a, {"SET", "later", "v"}), "");
  auto behind = run(config::redis_operation::caught_up, b, a, {}, 300ms);
  EXPECT_FALSE(behind.ok);
  EXPECT_NE(behind.detail.find("bytes behind the old primary"), std::string::npos) << behind.detail;
  EXPECT_GE(behind.elapsed, 250ms) << "it waits (bounded) for the standby to catch up";
}

// The partition case: the old primary took writes after the replica was
// promoted. Following the new primary discards them; the action says so.
TEST_F(redis_action_test, follow_records_what_a_returning_old_primary_held_beyond_the_promotion) {
  ASSERT_TRUE(run(config::redis_operation::follow, b, a).ok);
  ASSERT_NE(cli(a, {"SET", "before", "1"}), "");
  ASSERT_TRUE(wait_until([&] { return cli(b, {"GET", "before"}) == "1\n"; }, 10s));
  ASSERT_TRUE(run(config::redis_operation::promote, b, b).ok);
  ASSERT_NE(cli(a, {"SET", "lost", "written to the old primary after the promotion"}), "");

  auto back = run(config::redis_operation::follow, a, b);
  ASSERT_TRUE(back.ok) << back.detail;
  EXPECT_NE(back.divergence.find("bytes of writes past the promotion point"), std::string::npos)
      << back.divergence;
  EXPECT_NE(back.detail.find("DIVERGED"), std::string::npos) << back.detail;
  EXPECT_TRUE(wait_until(
      [&] {
        return cli(a, {"GET", "lost"}) == "\n";
      },
      10s))
      << "the diverged write must be gone once it replicates the new primary";
  EXPECT_EQ(cli(a, {"GET", "before"}), "1\n");

  // Nothing written past the promotion: no divergence.
  ASSERT_TRUE(run(config::redis_operation::promote, a, a).ok);
  auto clean = run(config::redis_operation::follow, b, a);
  ASSERT_TRUE(clean.ok) << clean.detail;
  EXPECT_EQ(clean.divergence, "") << clean.detail;
}

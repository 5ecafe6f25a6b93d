// The haproxy action's session and health commands against a real HAProxy
// (Debian's 2.6): held client connections cut or kept, a server's own failing
// check (and agent) overridden, HAProxy's refusals reported in its own words.
#include <fstream>
#include <sstream>

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

// A client connection through HAProxy's frontend to redis-server.
class client {
public:
  explicit client(std::uint16_t port) {
    conn_ = stream_socket::connect(fmt::format("127.0.0.1:{}", port), deadline(), error_);
  }
  /// An inline PING answered +PONG: the connection works end to end.
  bool ping() {
    std::string answer;
    return conn_ && conn_->send_all("PING\r\n", deadline(), error_) &&
           conn_->receive(
               answer, [](const std::string& b) { return b.find("\r\n") != std::string::npos; },
               false, deadline(), error_) &&
           answer == "+PONG\r\n";
  }
  /// True once HAProxy has closed (or reset) the connection; false if it
  /// is still open when the deadline passes.
  bool cut() {
    std::string rest;
    auto closed = conn_->receive(
        rest, [](const std::string&) { return false; }, true, deadline(), error_);
    return closed || error_.find("before the timeout") == std::string::npos;
  }
  const std::string& error() const { return error_; }

private:
  static stream_socket::clock::time_point deadline() { return stream_socket::clock::now() + 5s; }
  std::string error_;
  std::unique_ptr<stream_socket> conn_;
};

class haproxy_runtime_test : public ::testing::Test {
protected:
  void SetUp() override {
    redis_port = free_port();
    front_port = free_port();
    redis = std::make_unique<child_process>(
        std::vector<std::string>{"/usr/bin/redis-server", "--port", std::to_string(redis_port),
                                 "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                                 dir.path().string()},
        (dir.path() / "redis.log").string());
    socket = (dir.path() / "admin.sock").string();
    auto cfg = (dir.path() / "haproxy.cfg").string();
    // Nothing listens on `dead`: the checks of `failing` and `agented` fail.
    auto dead = free_port();
    std::ofstream(cfg) << "global\n  stats socket " << socket << " level admin\n"
                       << "defaults\n  mode tcp\n  timeout connect 100ms\n"
                       << "  timeout client 10s\n  timeout server 10s\n"
                       << "frontend fe\n  bind 127.0.0.1:" << front_port << "\n"
                       << "  default_backend be_app\n"
                       << "backend be_app\n  server app 127.0.0.1:" << redis_port << "\n"
                       << "backend be_checked\n"
                       // fall 10: a forced health up holds for 10 failed checks (2 s)
                       << "  server failing 127.0.0.1:" << dead
                       << " check inter 200ms rise 1 fall 10\n"
                       << "  server agented 127.0.0.1:" << dead
                       << " check inter 200ms rise 1 fall 10 agent-check agent-port " << dead
                       << " agent-inter 10s\n"
                       << "  server plain 127.0.0.1:" << dead << "\n"
                       << "  server tracker 127.0.0.1:" << dead << " track be_checked/failing\n";
    haproxy = std::make_unique<child_process>(
        std::vector<std::string>{"/usr/sbin/haproxy", "-f", cfg, "-db"},
        (dir.path() / "haproxy.log").string());
    ASSERT_TRUE(wait_until(
        [&] { return haproxy_command(socket, "show info").find("Name: HAProxy") == 0; }, 10s))
        << read_file((dir.path() / "haproxy.log").string());
    ASSERT_TRUE(wait_until([&] { return client(front_port).ping(); }, 10s))
        << read_file((dir.path() / "redis.log").string());
  }

  config::action_settings settings(const std::string& backend, config::haproxy_state state,
                                   config::haproxy_health health = config::haproxy_health::leave,
                                   bool shutdown_sessions = false) {
    config::action_settings a;
    a.name = "lb";
    a.type = config::action_type::haproxy;
    a.socket = socket;
    a.backend = backend;
    a.state = state;
    a.health = health;
    a.shutdown_sessions = shutdown_sessions;
    a.timeout = 2s;
    return a;
  }

  action_result run(const config::action_settings& a, const std::string& target) {
    action_context ctx;
    ctx.target = target;
    return make_action(a)->run(ctx);
  }

  // srv_op_state of `server` as HAProxy reports it (0 stopped, 2 running), or -1.
  int op_state(const std::string& backend, const std::string& server) {
    std::istringstream in(haproxy_command(socket, "show servers state " + backend));
    for (std::string line; std::getline(in, line);) {
      std::istringstream row(line);
      std::vector<std::string> f;
      for (std::string w; row >> w;)
        f.push_back(w);
      if (f.size() > 5 && f[3] == server)
        return std::stoi(f[5]);
    }
    return -1;
  }

  // The agent check's health counter (`show stat` agent_health; 0: down),
  // which `show servers state` does not show, or -1.
  int agent_health(const std::string& backend, const std::string& server) {
    std::istringstream in(haproxy_command(socket, "show stat"));
    std::vector<std::string> header;
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> f;
      std::istringstream row(line.rfind("# ", 0) == 0 ? line.substr(2) : line);
      for (std::string cell; std::getline(row, cell, ',');)
        f.push_back(cell);
      if (line.rfind("# ", 0) == 0)
        header = f;
      else if (f.size() > 1 && f[0] == backend && f[1] == server)
        for (std::size_t i = 0; i < header.size() && i < f.size(); ++i)
          if (header[i] == "agent_health")
            return std::stoi(f[i]);
    }
    return -1;
  }

  switchyard::testing::temp_dir dir;
  std::uint16_t redis_port = 0;
  std::uint16_t front_port = 0;
  std::string socket;
  std::unique_ptr<child_process> redis;
  std::unique_ptr<child_process> haproxy;
};

} // namespace

TEST_F(haproxy_runtime_test, maint_with_shutdown_sessions_cuts_a_client_holding_a_connection) {
  client held(front_port);
  ASSERT_TRUE(held.ping()) << held.error();
  auto fence = run(
      settings("be_app", config::haproxy_state::maint, config::haproxy_health::leave, true), "app");
  ASSERT_TRUE(fence.ok) << fence.detail;
  EXPECT_NE(fence.detail.find("sessions shut down"), std::string::npos) << fence.detail;
  EXPECT_TRUE(held.cut()) << "the client still holds its connection to the fenced server";
  client fresh(front_port);
  EXPECT_FALSE(fresh.ping()) << "a server in maintenance takes no new connection";
}

TEST_F(haproxy_runtime_test, maint_without_shutdown_sessions_leaves_a_held_connection_working) {
  client held(front_port);
  ASSERT_TRUE(held.ping()) << held.error();
  auto fence = run(settings("be_app", config::haproxy_state::maint), "app");
  ASSERT_TRUE(fence.ok) << fence.detail;
  EXPECT_EQ(fence.detail.find("sessions"), std::string::npos) << fence.detail;
  EXPECT_TRUE(held.ping()) << "HAProxy cut a session nobody asked it to: " << held.error();
}

TEST_F(haproxy_runtime_test, health_up_makes_a_server_whose_own_check_fails_up_at_once) {
  ASSERT_TRUE(wait_until([&] { return op_state("be_checked", "failing") == 0; }, 5s))
      << "its check should have failed by now";
  // ready alone leaves it to its check: down (the step does not claim more).
  auto ready = run(settings("be_checked", config::haproxy_state::ready), "failing");
  ASSERT_TRUE(ready.ok) << ready.detail;
  EXPECT_NE(ready.detail.find("operationally stopped"), std::string::npos) << ready.detail;

  auto up = run(settings("be_checked", config::haproxy_state::ready, config::haproxy_health::up),
                "failing");
  ASSERT_TRUE(up.ok) << up.detail;
  EXPECT_EQ(up.detail.rfind("be_checked/failing is ready (weight 1), operationally running, "
                            "health forced up in ",
                            0),
            0u)
      << up.detail;
  EXPECT_EQ(op_state("be_checked", "failing"), 2);
}

TEST_F(haproxy_runtime_test, an_agent_that_said_down_is_forced_up_and_down_with_the_health) {
  // As if its agent had answered "down".
  ASSERT_EQ(haproxy_command(socket, "set server be_checked/agented agent down"), "\n");
  ASSERT_EQ(agent_health("be_checked", "agented"), 0);
  auto up = run(settings("be_checked", config::haproxy_state::ready, config::haproxy_health::up),
                "agented");
  ASSERT_TRUE(up.ok) << up.detail;
  EXPECT_NE(up.detail.find("operationally running, health forced up (and agent)"),
            std::string::npos)
      << up.detail;
  EXPECT_EQ(op_state("be_checked", "agented"), 2);
  EXPECT_GT(agent_health("be_checked", "agented"), 0) << "the agent was not forced up";

  auto down =
      run(settings("be_checked", config::haproxy_state::ready, config::haproxy_health::down),
          "agented");
  ASSERT_TRUE(down.ok) << down.detail;
  EXPECT_EQ(op_state("be_checked", "agented"), 0);
  EXPECT_EQ(agent_health("be_checked", "agented"), 0) << "the agent was not forced down";
}

TEST_F(haproxy_runtime_test, health_down_stops_a_server_without_checks_and_sends_no_agent_command) {
  // No check at all: running until forced down. No agent command is sent:
  // HAProxy would refuse it ("agent checks are not enabled on this server.").
  ASSERT_EQ(op_state("be_checked", "plain"), 2);
  auto down = run(
      settings("be_checked", config::haproxy_state::ready, config::haproxy_health::down), "plain");
  ASSERT_TRUE(down.ok) << down.detail;
  EXPECT_NE(down.detail.find("operationally stopped, health forced down in"), std::string::npos)
      << down.detail;
  EXPECT_EQ(op_state("be_checked", "plain"), 0);
  // A client is no longer sent there.
  auto fresh =
      run(settings("be_app", config::haproxy_state::ready, config::haproxy_health::down), "app");
  ASSERT_TRUE(fresh.ok) << fresh.detail;
  EXPECT_FALSE(client(front_port).ping());
}

TEST_F(haproxy_runtime_test, a_refused_command_fails_the_step_with_haproxys_own_words) {
  auto tracking = run(
      settings("be_checked", config::haproxy_state::ready, config::haproxy_health::up), "tracker");
  EXPECT_FALSE(tracking.ok);
  EXPECT_EQ(tracking.detail, "set server be_checked/tracker health up: haproxy says: cannot "
                             "change health on a tracking server.");

  auto no_backend =
      run(settings("be_nope", config::haproxy_state::ready, config::haproxy_health::up), "app");
  EXPECT_FALSE(no_backend.ok);
  EXPECT_EQ(no_backend.detail, "reading the state before forcing health: show servers state "
                               "be_nope: haproxy says: Can't find backend.");

  auto no_server =
      run(settings("be_app", config::haproxy_state::maint, config::haproxy_health::leave, true),
          "nope");
  EXPECT_FALSE(no_server.ok);
  EXPECT_EQ(no_server.detail, "set server be_app/nope state maint: haproxy says: No such server.");
}

TEST_F(haproxy_runtime_test, describe_says_everything_the_step_will_do) {
  auto a = settings("be_app", config::haproxy_state::maint, config::haproxy_health::down, true);
  a.weight = 0;
  EXPECT_EQ(make_action(a)->describe(),
            fmt::format("haproxy {}: set server be_app/<target> state maint, shut down its "
                        "sessions, force health down (and agent down if it has an agent check), "
                        "weight 0",
                        socket));
}

// The postgres probe against real PostgreSQL 15 servers (pg_cluster): roles
// and WAL positions in its detail, a stopped server refused, the kept session
// made again after a restart, and the timeout against a server that never
// answers.
#include "probes/pg_probe.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "probes/probe_engine.hpp"
#include "strategies/actions/pg_session.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/run_probe.hpp"
#include "tests/support/silent_listener.hpp"

namespace switchyard::testing {
namespace {

using namespace std::chrono_literals;
using actors::pg_probe;

TEST(pg_probe, reports_the_primary_and_its_streaming_standby) {
  pg_cluster_options sync;
  sync.synchronous = true;
  pg_cluster pg(sync);
  ASSERT_EQ(pg.start(1), "");
  EXPECT_EQ(pg.value(0, "SELECT sync_state FROM pg_stat_replication"), "quorum");
  pg_probe primary("127.0.0.1", pg.port(0), pg_cluster::options(), 2s);
  auto out = primary.check();
  EXPECT_TRUE(out.ok) << out.detail;
  EXPECT_FALSE(out.refused);
  EXPECT_TRUE(out.detail.starts_with("primary, lsn ")) << out.detail;
  EXPECT_NE(out.detail.find(", 1 standby streaming (lag "), std::string::npos) << out.detail;
  EXPECT_GT(out.latency.count(), 0);
  // The lsn it reports is the server's own.
  auto lsn = out.detail.substr(13, out.detail.find(',', 13) - 13);
  auto now = pg.value(0, "SELECT pg_current_wal_lsn()");
  ASSERT_TRUE(pg::parse_lsn(lsn)) << out.detail;
  EXPECT_LE(*pg::parse_lsn(lsn), *pg::parse_lsn(now));

  pg_probe standby("127.0.0.1", pg.port(1), pg_cluster::options(), 2s);
  out = standby.check();
  EXPECT_TRUE(out.ok) << out.detail;
  EXPECT_TRUE(out.detail.starts_with("standby, replay ")) << out.detail;
  EXPECT_NE(out.detail.find(", receive "), std::string::npos) << out.detail;
  EXPECT_EQ(out.detail.find("none"), std::string::npos) << out.detail;
}

TEST(pg_probe, a_stopped_server_is_refused_and_a_restarted_one_answers_again) {
  pg_cluster pg;
  ASSERT_EQ(pg.start(0), "");
  pg_probe p("127.0.0.1", pg.port(0), pg_cluster::options(), 2s);
  auto out = p.check();
  ASSERT_TRUE(out.ok) << out.detail;
  EXPECT_NE(out.detail.find("no standby streaming"), std::string::npos) << out.detail;

  ASSERT_EQ(pg.stop(0), "");
  out = p.check(); // its kept session is gone, and so is the server
  EXPECT_FALSE(out.ok);
  EXPECT_TRUE(out.refused) << out.detail;
  EXPECT_NE(out.detail.find("Connection refused"), std::string::npos) << out.detail;

  ASSERT_EQ(pg.start_again(0), "");
  out = p.check();
  EXPECT_TRUE(out.ok) << out.detail;

  // A crash between two checks: the broken session is not the verdict, the
  // new connection is.
  pg.kill(0, SIGKILL);
  ASSERT_EQ(pg.start_again(0), "");
  out = p.check();
  EXPECT_TRUE(out.ok) << out.detail;
}

TEST(pg_probe, a_server_that_never_answers_costs_the_timeout_and_no_more) {
  silent_listener silent;
  pg_probe p("127.0.0.1", silent.port(), pg_cluster::options(), 300ms);
  auto started = std::chrono::steady_clock::now();
  auto out = p.check();
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_FALSE(out.ok);
  EXPECT_FALSE(out.refused);
  EXPECT_NE(out.detail.find("timed out"), std::string::npos) << out.detail;
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 800ms);
}

TEST(pg_probe, runs_on_the_probe_engine_from_a_postgres_health_check) {
  pg_cluster pg;
  ASSERT_EQ(pg.start(0), "");
  config::health_check_settings check;
  check.type = config::check_type::postgres;
  check.postgres_options = pg_cluster::options();
  check.timeout = 2s;
  config::instance_settings instance;
  instance.name = "n0";
  instance.host = "127.0.0.1";
  instance.port = pg.port(0);
  auto p = actors::make_probe("pg", check, instance);
  ASSERT_NE(p, nullptr);
  auto out = run_once(*p);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->ok) << out->detail;
  EXPECT_TRUE(out->detail.starts_with("primary")) << out->detail;

  instance.port = free_port(); // nothing listens there
  auto refused = actors::make_probe("pg", check, instance);
  out = run_once(*refused);
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->ok);
  EXPECT_TRUE(out->refused) << out->detail;
}

TEST(pg_probe, a_held_probe_session_reports_a_killed_postmaster_at_once) {
  pg_cluster pg;
  ASSERT_EQ(pg.start(0), "");
  actors::probe_engine engine;
  auto probe = engine.postgres("127.0.0.1", pg.port(0), pg_cluster::options(), 1s, true);
  std::atomic<int> lost{0};
  probe->on_connection_lost([&] { ++lost; });
  auto check = [&] {
    std::promise<probe_outcome> done;
    probe->start([&](probe_outcome o) { done.set_value(std::move(o)); });
    return done.get_future().get();
  };
  for (int i = 0; i < 3; ++i) // its own answers are no loss
    ASSERT_TRUE(check().ok);
  ASSERT_TRUE(wait_until([&] { return engine.held_connections() == 1; }, 5s));
  EXPECT_EQ(lost.load(), 0);
  pg.kill(0, SIGKILL);
  EXPECT_TRUE(wait_until([&] { return lost.load() > 0; }, 5s)) << "the loss was not seen";
  auto out = check();
  EXPECT_FALSE(out.ok);
  EXPECT_TRUE(out.refused) << out.detail;
  probe.reset();
  EXPECT_TRUE(wait_until([&] { return engine.held_connections() == 0; }, 5s));
}

// A dying server resets the connections queued on its listening socket: the
// probe tries once more and finds it refused (what dead_when: refused needs).
TEST(pg_probe, a_probe_connection_reset_by_a_dying_server_ends_refused) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  // Never accepted: closed once the probe's connection waits in the queue.
  std::thread dying([fd] {
    pollfd p{fd, POLLIN, 0};
    (void)::poll(&p, 1, 5000);
    ::close(fd);
  });
  actors::pg_probe probe("127.0.0.1", ntohs(addr.sin_port), pg_cluster::options(), 2s);
  auto out = probe.check();
  dying.join();
  EXPECT_FALSE(out.ok);
  EXPECT_TRUE(out.refused) << out.detail;
}

} // namespace
} // namespace switchyard::testing

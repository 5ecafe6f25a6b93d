// End to end on real servers from Debian: a Redis primary and replica behind
// HAProxy, a client writing through HAProxy every 10 ms, and switchyardd
// watching with redis probes. Kill -9, partition (SIGSTOP) and a fence that
// cannot succeed; the fence cutting held client sessions, and HAProxy's own
// role checks overridden by the reroute.
#include <csignal>
#include <iterator>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "persistence/sqlite_store.hpp"
#include "strategies/actions/stream_socket.hpp"
#include "tests/support/redis_rig.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using switchyard::testing::redis_command;
using switchyard::testing::redis_rig;
using switchyard::testing::redis_rig_options;
using switchyard::testing::redis_writer;
using switchyard::testing::role_sampler;
using switchyard::testing::wait_until;

namespace {

// The service's only switchover once it has ended, or nullopt.
std::optional<persistence::switchover_row> ended_switchover(const redis_rig& rig) {
  auto db = persistence::sqlite_store::open(rig.db_path());
  if (!db)
    return std::nullopt;
  auto list = (*db)->list_switchovers("cache");
  if (!list || list->empty() || list->front().status == switchover_status::running)
    return std::nullopt;
  return list->front();
}

std::vector<persistence::detection_row> detections(const redis_rig& rig) {
  auto db = persistence::sqlite_store::open(rig.db_path());
  if (!db)
    return {};
  auto list = (*db)->list_detections("cache");
  return list ? *list : std::vector<persistence::detection_row>{};
}

bool has_detection(const redis_rig& rig, failure_type type, const std::string& instance) {
  for (const auto& d : detections(rig))
    if (d.type == type && d.instance.value == instance)
      return true;
  return false;
}

std::vector<persistence::step_row> steps_of(const redis_rig& rig, switchover_id id) {
  auto db = persistence::sqlite_store::open(rig.db_path());
  if (!db)
    return {};
  auto list = (*db)->list_steps(id);
  return list ? *list : std::vector<persistence::step_row>{};
}

// "MAINT" or "READY" from `show servers state`: srv_admin_state (7th field)
// has bit 0x1 (forced maintenance) set, or not.
std::string admin_state(const redis_rig& rig, const std::string& server) {
  std::istringstream in(rig.haproxy_server_state(server));
  std::vector<std::string> f;
  for (std::string w; in >> w;)
    f.push_back(w);
  if (f.size() < 7)
    return "?";
  return (std::stoi(f[6]) & 1) != 0 ? "MAINT" : "READY";
}

// srv_op_state from `show servers state` (6th field): "2" running, "0" stopped.
std::string op_state(const redis_rig& rig, const std::string& server) {
  std::istringstream in(rig.haproxy_server_state(server));
  std::vector<std::string> f{std::istream_iterator<std::string>(in), {}};
  return f.size() > 5 ? f[5] : "?";
}

bool replicates(std::uint16_t replica, std::uint16_t primary) {
  auto r = redis_command(replica, {"ROLE"}, 200ms);
  return r.rfind("slave\n127.0.0.1\n" + std::to_string(primary) + "\nconnected", 0) == 0;
}

} // namespace

TEST(redis_haproxy_failover,
     kill_9_promotes_the_replica_repoints_haproxy_and_the_old_primary_returns_as_a_replica) {
  redis_rig rig;
  auto why = rig.start();
  ASSERT_EQ(why, "");
  redis_writer writer(rig.front_port);
  role_sampler sampler({rig.port_a, rig.port_b});
  ASSERT_TRUE(wait_until([&] { return writer.acked().size() >= 20; }, 10s));

  auto killed_at = switchyard::testing::rig_clock::now();
  rig.redis_a->signal(SIGKILL);
  ASSERT_EQ(rig.redis_a->wait_for_exit(5s), 128 + SIGKILL);

  // Writes through HAProxy resume, now on redis-b.
  ASSERT_TRUE(wait_until([&] { return writer.first_ack_after(killed_at).has_value(); }, 15s))
      << rig.daemon_log();
  std::optional<persistence::switchover_row> sw;
  ASSERT_TRUE(wait_until([&] { return (sw = ended_switchover(rig)).has_value(); }, 15s));
  EXPECT_EQ(sw->status, switchover_status::completed) << sw->detail;
  EXPECT_EQ(sw->from.value, "redis-a");
  EXPECT_EQ(sw->to.value, "redis-b");
  EXPECT_EQ(rig.role(rig.port_b), "master");
  EXPECT_EQ(admin_state(rig, "redis-a"), "MAINT");
  EXPECT_EQ(admin_state(rig, "redis-b"), "READY");
  // The crash was seen through the held connection, confirmed by a refused probe.
  EXPECT_NE(rig.daemon_log().find("held connection lost"), std::string::npos);
  for (const auto& st : steps_of(rig, sw->id))
    EXPECT_EQ(st.status, step_status::done) << st.name << ": " << st.detail;

  // Stop sampling before redis-a comes back: restarted empty, Redis boots as
  // a master until switchyardd makes it a replica (it gets no traffic: HAProxy
  // keeps it in maintenance).
  sampler.stop();
  EXPECT_GT(sampler.samples(), 10);
  EXPECT_EQ(sampler.max_masters(), 1) << "two masters at once, or none ever seen";

  rig.restart_a();
  EXPECT_TRUE(wait_until([&] { return replicates(rig.port_a, rig.port_b); }, 20s))
      << rig.daemon_log();
  EXPECT_TRUE(has_detection(rig, failure_type::returned, "redis-a"));
  EXPECT_EQ(admin_state(rig, "redis-a"), "MAINT") << "a returning old primary takes no traffic";

  // Every write acknowledged after the failover is on the new primary.
  writer.stop();
  auto list = redis_command(rig.port_b, {"LRANGE", "writes", "0", "-1"}, 2s);
  std::set<std::string> stored;
  std::istringstream in(list);
  for (std::string n; std::getline(in, n);)
    stored.insert(n);
  for (const auto& a : writer.acked()) {
    if (a.at > killed_at) {
      EXPECT_TRUE(stored.count(std::to_string(a.n)) > 0) << "write " << a.n << " lost";
    }
  }
}

TEST(redis_haproxy_failover,
     a_partitioned_primary_is_fenced_before_promotion_and_takes_no_writes_after) {
  redis_rig rig;
  ASSERT_EQ(rig.start(), "");
  redis_writer writer(rig.front_port);
  ASSERT_TRUE(wait_until([&] { return writer.acked().size() >= 20; }, 10s));

  // Alive but unreachable: its probes time out, nothing refuses them.
  rig.redis_a->signal(SIGSTOP);
  std::optional<persistence::switchover_row> sw;
  ASSERT_TRUE(wait_until([&] { return (sw = ended_switchover(rig)).has_value(); }, 20s))
      << rig.daemon_log();
  ASSERT_EQ(sw->status, switchover_status::completed) << sw->detail;
  auto steps = steps_of(rig, sw->id);
  ASSERT_FALSE(steps.empty());
  EXPECT_EQ(steps.front().name, "take-old-out");
  EXPECT_EQ(steps.front().status, step_status::done);
  EXPECT_EQ(steps.front().detail.find("passed over"), std::string::npos)
      << "not confirmed dead: the fence itself had to succeed: " << steps.front().detail;
  EXPECT_EQ(admin_state(rig, "redis-a"), "MAINT");

  // It wakes up still believing it is the primary; HAProxy sends it nothing.
  rig.redis_a->signal(SIGCONT);
  ASSERT_EQ(redis_command(rig.front_port, {"SET", "after-partition", "1"}, 1s), "OK");
  EXPECT_EQ(redis_command(rig.port_b, {"GET", "after-partition"}, 1s), "1");
  EXPECT_EQ(redis_command(rig.port_a, {"GET", "after-partition"}, 1s), "");
  EXPECT_EQ(rig.role(rig.port_a), "master") << "checked before switchyardd made it a replica";

  // Then switchyardd notices it is back and makes it a replica of redis-b.
  EXPECT_TRUE(wait_until([&] { return replicates(rig.port_a, rig.port_b); }, 20s))
      << rig.daemon_log();
  EXPECT_TRUE(has_detection(rig, failure_type::returned, "redis-a"));
}

TEST(redis_haproxy_failover, a_fence_that_fails_stops_the_failover_and_raises_an_alert) {
  redis_rig_options options;
  options.fence_socket = "/nonexistent/haproxy.sock"; // the fence cannot succeed
  redis_rig rig{options};
  ASSERT_EQ(rig.start(), "");
  rig.redis_a->signal(SIGSTOP); // unreachable, not confirmed dead
  std::optional<persistence::switchover_row> sw;
  ASSERT_TRUE(wait_until([&] { return (sw = ended_switchover(rig)).has_value(); }, 20s))
      << rig.daemon_log();
  EXPECT_EQ(sw->status, switchover_status::failed);
  EXPECT_NE(sw->detail.find("take-old-out"), std::string::npos) << sw->detail;
  EXPECT_TRUE(has_detection(rig, failure_type::fencing_failed, "redis-a")) << rig.daemon_log();
  EXPECT_NE(rig.daemon_log().find("ALERT"), std::string::npos);
  // Availability traded for safety: nothing was promoted.
  EXPECT_EQ(rig.role(rig.port_b), "slave");
  EXPECT_EQ(admin_state(rig, "redis-b"), "MAINT");
  rig.redis_a->signal(SIGCONT);
}

// A client's connection to a frozen primary hangs: HAProxy (timeout server
// 30s) keeps it. Fenced with shutdown_sessions, it is cut, so the client
// reconnects (to the new primary) instead of waiting out its own timeout.
TEST(redis_haproxy_failover,
     a_fence_with_shutdown_sessions_cuts_a_client_held_on_a_frozen_primary) {
  redis_rig_options options;
  options.fence_shutdown_sessions = true;
  redis_rig rig{options};
  ASSERT_EQ(rig.start(), "");
  using strategies::stream_socket;
  std::string error;
  auto deadline = [] { return stream_socket::clock::now() + 5s; };
  auto held =
      stream_socket::connect(fmt::format("127.0.0.1:{}", rig.front_port), deadline(), error);
  ASSERT_TRUE(held) << error;
  std::string answer;
  auto line = [](const std::string& b) { return b.find("\r\n") != std::string::npos; };
  ASSERT_TRUE(held->send_all("PING\r\n", deadline(), error) &&
              held->receive(answer, line, false, deadline(), error))
      << error;
  ASSERT_EQ(answer, "+PONG\r\n");

  rig.redis_a->signal(SIGSTOP);
  ASSERT_TRUE(held->send_all("SET held 1\r\n", deadline(), error)) << error;
  std::optional<persistence::switchover_row> sw;
  ASSERT_TRUE(wait_until([&] { return (sw = ended_switchover(rig)).has_value(); }, 20s))
      << rig.daemon_log();
  ASSERT_EQ(sw->status, switchover_status::completed) << sw->detail;
  auto steps = steps_of(rig, sw->id);
  ASSERT_FALSE(steps.empty());
  EXPECT_NE(steps.front().detail.find("sessions shut down"), std::string::npos)
      << steps.front().detail;

  // Closed by HAProxy, unanswered: the write never reached a client as done.
  answer.clear();
  auto closed = held->receive(
      answer, [](const std::string&) { return false; }, true, deadline(), error);
  EXPECT_TRUE(closed || error.find("before the timeout") == std::string::npos)
      << "the connection to the frozen primary is still held: " << error;
  EXPECT_EQ(answer, "");
  EXPECT_EQ(redis_command(rig.front_port, {"SET", "after", "1"}, 1s), "OK");
  EXPECT_EQ(redis_command(rig.port_b, {"GET", "after"}, 1s), "1");
}

// HAProxy as operators run it: its own role checks keep the replica out
// (it is not even in maintenance). Without `health: up` the new primary
// would wait for `rise` passing checks (seconds); with it, it takes writes
// as soon as the switchover is over.
TEST(redis_haproxy_failover,
     with_haproxys_own_role_checks_the_new_primary_takes_writes_once_the_switchover_ends) {
  redis_rig_options options;
  options.haproxy_checks = true;
  options.standby_in_maint = false;
  options.fence_shutdown_sessions = true;
  options.reroute_health = "up";
  redis_rig rig{options};
  ASSERT_EQ(rig.start(), "");
  ASSERT_EQ(op_state(rig, "redis-b"), "0") << "its role check keeps the replica out";
  ASSERT_EQ(admin_state(rig, "redis-b"), "READY");

  rig.redis_a->signal(SIGKILL);
  ASSERT_EQ(rig.redis_a->wait_for_exit(5s), 128 + SIGKILL);
  std::optional<persistence::switchover_row> sw;
  ASSERT_TRUE(wait_until([&] { return (sw = ended_switchover(rig)).has_value(); }, 15s))
      << rig.daemon_log();
  ASSERT_EQ(sw->status, switchover_status::completed) << sw->detail;
  EXPECT_EQ(op_state(rig, "redis-b"), "2") << rig.haproxy_server_state("redis-b");
  EXPECT_EQ(redis_command(rig.front_port, {"SET", "k", "v"}, 1s), "OK");
  EXPECT_EQ(admin_state(rig, "redis-a"), "MAINT");
  EXPECT_EQ(op_state(rig, "redis-a"), "0");
  for (const auto& st : steps_of(rig, sw->id)) {
    if (st.name == "send-writes-to-new") {
      EXPECT_NE(st.detail.find("operationally running, health forced up"), std::string::npos)
          << st.detail;
    }
  }
}

// End to end on real servers from Debian: a Redis primary and replica behind
// HAProxy, a client writing through HAProxy every 10 ms, and switchyardd
// watching with redis probes. Kill -9, partition (SIGSTOP) and a fence that
// cannot succeed.
#include <csignal>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "persistence/sqlite_store.hpp"
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

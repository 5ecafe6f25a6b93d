// End to end on real servers from Debian: a PostgreSQL 15 primary and two
// standbys behind HAProxy, clients inserting a row every 10 ms, switchyardd
// watching with postgres probes. Kill -9 of the primary's postmaster (with
// synchronous and asynchronous replication), the old primary's return, and
// a planned switchover whose promote PostgreSQL refuses.
#include <csignal>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "persistence/sqlite_store.hpp"
#include "tests/support/pg_failover_rig.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using switchyard::testing::pg_failover_rig;
using switchyard::testing::pg_rig_options;
using switchyard::testing::pg_writer;
using switchyard::testing::read_file;
using switchyard::testing::rig_clock;
using switchyard::testing::wait_until;

namespace {

// The service's only switchover once it has ended, or nullopt.
std::optional<persistence::switchover_row> ended_switchover(const pg_failover_rig& rig) {
  auto db = persistence::sqlite_store::open(rig.db_path());
  if (!db)
    return std::nullopt;
  auto list = (*db)->list_switchovers(pg_failover_rig::service());
  if (!list || list->empty() || list->front().status == switchover_status::running)
    return std::nullopt;
  return list->front();
}

std::vector<persistence::step_row> steps_of(const pg_failover_rig& rig, switchover_id id) {
  auto db = persistence::sqlite_store::open(rig.db_path());
  if (!db)
    return {};
  auto list = (*db)->list_steps(id);
  return list ? *list : std::vector<persistence::step_row>{};
}

bool has_detection(const pg_failover_rig& rig, failure_type type, const std::string& instance) {
  auto db = persistence::sqlite_store::open(rig.db_path());
  if (!db)
    return false;
  auto list = (*db)->list_detections(pg_failover_rig::service());
  for (const auto& d : list ? *list : std::vector<persistence::detection_row>{})
    if (d.type == type && d.instance.value == instance)
      return true;
  return false;
}

std::string journal(const std::vector<persistence::step_row>& steps) {
  std::string out;
  for (const auto& s : steps)
    out += fmt::format("  {} {}: {}\n", s.name, s.target.value, s.detail);
  return out;
}

// The ids in `writes` on node i.
std::set<long long> stored_ids(const pg_failover_rig& rig, std::size_t i) {
  std::set<long long> ids;
  auto r = rig.cluster.query(i, "SELECT id FROM writes");
  for (const auto& row : r ? r->rows : decltype(r->rows){})
    if (!row.empty() && row[0])
      ids.insert(std::stoll(*row[0]));
  return ids;
}

std::size_t node_index(const pg_failover_rig& rig, const std::string& name) {
  for (std::size_t i = 0; i < rig.cluster.size(); ++i)
    if (rig.cluster.name(i) == name)
      return i;
  return rig.cluster.size();
}

// "MAINT" or "READY": bit 0x1 (forced maintenance) of srv_admin_state.
std::string admin_state(const pg_failover_rig& rig, const std::string& server) {
  std::istringstream in(rig.haproxy_server_state(server));
  std::vector<std::string> f;
  for (std::string w; in >> w;)
    f.push_back(w);
  return f.size() < 7 ? "?" : (std::stoi(f[6]) & 1) != 0 ? "MAINT" : "READY";
}

} // namespace

// n1 stops receiving WAL before the crash: n2 is the most advanced standby
// (though n1 has the higher priority), and with synchronous replication it
// has every acknowledged write.
TEST(postgres_failover, kill_9_promotes_the_most_advanced_standby_and_loses_no_synchronous_write) {
  pg_failover_rig rig({.synchronous = true});
  ASSERT_EQ(rig.start(), "");
  ASSERT_EQ(rig.cluster.value(1, "ALTER SYSTEM SET primary_conninfo = ''"), "");
  ASSERT_EQ(rig.cluster.value(1, "SELECT pg_reload_conf()"), "t");
  ASSERT_TRUE(wait_until(
      [&] { return rig.cluster.value(1, "SELECT count(*) FROM pg_stat_wal_receiver") == "0"; },
      10s));
  pg_writer through_haproxy(rig.haproxy_conninfo());
  pg_writer direct(rig.multi_host_conninfo());
  ASSERT_TRUE(wait_until(
      [&] { return through_haproxy.acked().size() >= 20 && direct.acked().size() >= 20; }, 10s))
      << through_haproxy.last_error() << " / " << direct.last_error();

  auto killed_at = rig_clock::now();
  rig.cluster.kill(0, SIGKILL);

  std::optional<persistence::switchover_row> sw;
  ASSERT_TRUE(wait_until([&] { return (sw = ended_switchover(rig)).has_value(); }, 20s))
      << rig.daemon_log();
  auto steps = steps_of(rig, sw->id);
  ASSERT_EQ(sw->status, switchover_status::completed) << sw->detail << "\n" << journal(steps);
  EXPECT_EQ(sw->from.value, "n0");
  EXPECT_EQ(sw->to.value, "n2") << "not the most advanced standby";
  bool promoted = false;
  for (const auto& st : steps) {
    EXPECT_EQ(st.status, step_status::done) << st.name << ": " << st.detail;
    if (st.name == "promote")
      promoted = st.detail.find("promoted, timeline 2") != std::string::npos;
  }
  EXPECT_TRUE(promoted) << journal(steps);
  EXPECT_EQ(rig.primary(), 2);
  // The crash was seen through the held probe session, confirmed by a refused probe.
  EXPECT_NE(rig.daemon_log().find("held connection lost"), std::string::npos);
  EXPECT_EQ(admin_state(rig, "n0"), "MAINT");
  EXPECT_EQ(admin_state(rig, "n2"), "READY");
  // The follow step pointed n1 at the new primary.
  EXPECT_EQ(rig.cluster.wait_until_streaming(1, rig.cluster.port(2)), "") << journal(steps);

  // Writes resume on both paths: a new session through HAProxy, and libpq
  // finding the one read-write server among the three.
  EXPECT_TRUE(
      wait_until([&] { return through_haproxy.first_ack_sent_after(killed_at).has_value(); }, 10s))
      << through_haproxy.last_error();
  EXPECT_TRUE(wait_until([&] { return direct.first_ack_sent_after(killed_at).has_value(); }, 10s))
      << direct.last_error();
  through_haproxy.stop();
  direct.stop();
  auto stored = stored_ids(rig, 2);
  ASSERT_FALSE(stored.empty());
  for (const auto* w : {&through_haproxy, &direct})
    for (const auto& a : w->acked())
      EXPECT_EQ(stored.count(a.id), 1u) << "acknowledged write " << a.id << " lost";
}

TEST(postgres_failover, the_old_primary_started_again_is_rewound_and_streams_from_the_new_one) {
  pg_failover_rig rig;
  ASSERT_EQ(rig.start(), "");
  pg_writer writer(rig.haproxy_conninfo());
  ASSERT_TRUE(wait_until([&] { return writer.acked().size() >= 20; }, 10s)) << writer.last_error();
  auto killed_at = rig_clock::now();
  rig.cluster.kill(0, SIGKILL);
  std::optional<persistence::switchover_row> sw;
  ASSERT_TRUE(wait_until([&] { return (sw = ended_switchover(rig)).has_value(); }, 20s))
      << rig.daemon_log();
  ASSERT_EQ(sw->status, switchover_status::completed) << sw->detail << "\n"
                                                      << journal(steps_of(rig, sw->id));
  auto fresh = node_index(rig, sw->to.value);
  ASSERT_LT(fresh, rig.cluster.size());
  EXPECT_TRUE(wait_until([&] { return writer.first_ack_sent_after(killed_at).has_value(); }, 10s))
      << writer.last_error();

  // Back as a primary on its old timeline (it may have written WAL no
  // standby received): the default rejoin rewinds it into a standby.
  ASSERT_EQ(rig.cluster.start_again(0), "");
  EXPECT_EQ(rig.cluster.wait_until_streaming(0, rig.cluster.port(fresh), 60s), "")
      << rig.daemon_log() << read_file(rig.cluster.root() + "/n0.log");
  EXPECT_TRUE(has_detection(rig, failure_type::returned, "n0"));
  EXPECT_EQ(rig.cluster.value(0, "SELECT pg_is_in_recovery()"), "t");
  EXPECT_EQ(admin_state(rig, "n0"), "MAINT") << "a returning old primary takes no traffic";
  // What the new primary writes now reaches it.
  writer.stop();
  EXPECT_EQ(rig.cluster.wait_until_replayed(0, fresh), "");
  auto last = writer.acked().back().id;
  EXPECT_EQ(rig.cluster.value(0, fmt::format("SELECT count(*) FROM writes WHERE id = {}", last)),
            "1");
}

// A standby promoted by hand already: PostgreSQL refuses pg_promote, the
// step fails with its words, and the fence before it is rolled back (the old
// primary takes writes again).
TEST(postgres_failover, a_promote_refused_by_postgresql_fails_the_switchover_and_rolls_back) {
  pg_rig_options options;
  options.fence_stop = false; // planned: the old primary stays up
  // Undoes the fence's read-only default on the old primary (the target).
  options.fence_rollback =
      switchyard::testing::pg_cluster::bin_dir() +
      "/psql -X -q -h 127.0.0.1 -p ${SWITCHYARD_TARGET_ADDRESS##*:} -U postgres -d postgres -c "
      "'ALTER SYSTEM RESET default_transaction_read_only' -c 'SELECT pg_reload_conf()'";
  pg_failover_rig rig(std::move(options));
  ASSERT_EQ(rig.start(), "");
  ASSERT_EQ(rig.cluster.value(1, "SELECT pg_promote()"), "t");

  auto log = rig.root + "/cli.out";
  switchyard::testing::child_process cli({SWITCHYARD_CLI_PATH, "--server",
                                          "127.0.0.1:" + std::to_string(rig.api_port), "--token",
                                          "operator-token", "switchover", "db", "--to", "n1",
                                          "--reason", "test a refused promote", "--yes"},
                                         log);
  EXPECT_NE(cli.wait_for_exit(30s), 0);
  EXPECT_NE(read_file(log).find("FAILED"), std::string::npos) << read_file(log);
  std::optional<persistence::switchover_row> sw;
  ASSERT_TRUE(wait_until([&] { return (sw = ended_switchover(rig)).has_value(); }, 20s));
  EXPECT_EQ(sw->status, switchover_status::failed);
  auto steps = steps_of(rig, sw->id);
  const persistence::step_row* promote = nullptr;
  const persistence::step_row* undo = nullptr;
  for (const auto& st : steps) {
    if (st.name == "promote")
      promote = &st;
    if (st.name == "rollback read-only")
      undo = &st;
  }
  ASSERT_NE(promote, nullptr) << journal(steps);
  EXPECT_EQ(promote->status, step_status::failed);
  EXPECT_NE(promote->detail.find("recovery is not in progress"), std::string::npos)
      << promote->detail;
  ASSERT_NE(undo, nullptr) << journal(steps);
  EXPECT_EQ(undo->status, step_status::done) << undo->detail;
  // A new session on the old primary is read-write again.
  EXPECT_EQ(rig.cluster.value(0, "SHOW default_transaction_read_only"), "off");
  std::string error;
  EXPECT_TRUE(rig.cluster.query(0, "INSERT INTO writes DEFAULT VALUES", &error)) << error;
}

// Restart in place: the primary's postmaster is killed on a host that still
// answers; switchyardd starts it again (postgres start, as the data
// directory's owner) before any failover, and journals which way it went.
TEST(postgres_failover, a_crashed_primary_restarted_in_place_is_not_failed_over) {
  pg_rig_options options;
  options.restart_deadline = 15s;
  pg_failover_rig rig{options};
  ASSERT_EQ(rig.start(), "");
  pg_writer writer(rig.haproxy_conninfo());
  ASSERT_TRUE(wait_until([&] { return writer.acked().size() >= 20; }, 10s));
  auto before = writer.acked().size();

  rig.cluster.kill(0, SIGKILL);
  auto decided = [&](const std::string& verdict) {
    auto db = persistence::sqlite_store::open(rig.db_path());
    if (!db)
      return false;
    auto rows = (*db)->list_decisions(pg_failover_rig::service(), 50);
    for (const auto& d : rows ? *rows : decision_record_list{})
      if (d.verdict == verdict)
        return true;
    return false;
  };
  ASSERT_TRUE(wait_until([&] { return decided("restarted in place"); }, 20s)) << rig.daemon_log();
  EXPECT_TRUE(decided("restart in place"));
  EXPECT_FALSE(ended_switchover(rig).has_value()) << "no failover";
  EXPECT_EQ(rig.cluster.value(0, "SELECT pg_is_in_recovery()"), "f") << "n0 is the primary again";
  // Writes go on through HAProxy to the same primary.
  EXPECT_TRUE(wait_until([&] { return writer.acked().size() > before + 20; }, 10s));
  EXPECT_EQ(rig.cluster.value(1, "SELECT pg_is_in_recovery()"), "t");
}

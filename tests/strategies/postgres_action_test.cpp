// The postgres action against real PostgreSQL 15 servers (pg_cluster):
// promote, follow, lsn, caught_up, fence, stop and the rejoin of a returning
// old primary, clean or diverged, with and without pg_rewind.
#include "strategies/actions/postgres_action.hpp"

#include <atomic>
#include <csignal>
#include <future>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "probes/pg_probe.hpp"
#include "strategies/actions/pg_session.hpp"
#include "tests/support/pg_cluster.hpp"

namespace switchyard::testing {
namespace {

using namespace std::chrono_literals;
using config::postgres_operation;
using strategies::action_context;
using strategies::action_result;

config::service_settings service_of(const pg_cluster& pg, bool rewind, bool data_dirs = true) {
  config::service_settings s;
  s.name = "pg";
  for (std::size_t i = 0; i < pg.size(); ++i) {
    config::instance_settings inst;
    inst.name = pg.name(i);
    inst.host = "127.0.0.1";
    inst.port = pg.port(i);
    inst.data_directory = data_dirs ? pg.data_dir(i) : std::string{};
    s.instances.push_back(inst);
  }
  s.postgres = config::postgres_settings{pg_cluster::options(), pg_cluster::bin_dir(), rewind};
  return s;
}

// `op` on instance `target`; `primary` is the current primary (old_primary)
// and the one to follow (new_primary).
action_result run(const config::service_settings& svc, postgres_operation op, std::size_t target,
                  std::size_t primary, std::chrono::milliseconds timeout = 10s,
                  std::int64_t max_lag = 0) {
  config::action_settings a;
  a.name = config::to_string(op);
  a.type = config::action_type::postgres;
  a.pg_operation = op;
  a.timeout = timeout;
  a.max_lag_bytes = max_lag;
  auto address = [&](std::size_t i) {
    return fmt::format("{}:{}", svc.instances[i].host, svc.instances[i].port);
  };
  action_context ctx;
  ctx.service = svc.name;
  ctx.target = svc.instances[target].name;
  ctx.target_address = address(target);
  ctx.old_primary = ctx.new_primary = svc.instances[primary].name;
  ctx.old_primary_address = ctx.new_primary_address = address(primary);
  return strategies::postgres_action(a, &svc).run(ctx);
}

#define SQL_OK(pg, i, sql) ASSERT_EQ((pg).value(i, sql).rfind("error", 0), std::string::npos)

// Standby i stops receiving WAL: what it has now is all it gets.
void cut_off(pg_cluster& pg, std::size_t i) {
  SQL_OK(pg, i, "ALTER SYSTEM SET primary_conninfo = ''");
  SQL_OK(pg, i, "SELECT pg_reload_conf()");
  ASSERT_TRUE(wait_until(
      [&] { return pg.value(i, "SELECT count(*) FROM pg_stat_wal_receiver") == "0"; }, 10s));
}

TEST(postgres_action, promote_reports_the_new_timeline_and_leaves_it_writable) {
  pg_cluster pg;
  ASSERT_EQ(pg.start(1), "");
  auto svc = service_of(pg, false);
  SQL_OK(pg, 0, "CREATE TABLE t (x text)");
  ASSERT_EQ(pg.wait_until_replayed(1, 0), "");
  // A fenced standby (read-only by default) must still come out writable.
  auto fenced = run(svc, postgres_operation::fence, 1, 0);
  ASSERT_TRUE(fenced.ok) << fenced.detail;

  auto r = run(svc, postgres_operation::promote, 1, 0);
  ASSERT_TRUE(r.ok) << r.detail << "\n" << pg.logs();
  EXPECT_NE(r.detail.find("promoted, timeline 2"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("read-only default of a fence reset"), std::string::npos) << r.detail;
  EXPECT_EQ(r.value, 2);
  EXPECT_EQ(pg.value(1, "SELECT pg_is_in_recovery()"), "f");
  EXPECT_EQ(pg.value(1, "INSERT INTO t VALUES ('after') RETURNING x"), "after");

  // The server's own words when it cannot: n0 is no standby.
  auto again = run(svc, postgres_operation::promote, 0, 0);
  EXPECT_FALSE(again.ok);
  EXPECT_NE(again.detail.find("recovery is not in progress"), std::string::npos) << again.detail;
}

TEST(postgres_action, follow_repoints_a_standby_at_the_promoted_one) {
  pg_cluster pg;
  ASSERT_EQ(pg.start(2), "");
  auto svc = service_of(pg, false);
  SQL_OK(pg, 0, "CREATE TABLE t (x text)");
  ASSERT_EQ(pg.wait_until_replayed(1, 0), "");
  ASSERT_EQ(pg.wait_until_replayed(2, 0), "");
  pg.crash(0);
  auto promoted = run(svc, postgres_operation::promote, 1, 0);
  ASSERT_TRUE(promoted.ok) << promoted.detail;

  auto r = run(svc, postgres_operation::follow, 2, 1);
  ASSERT_TRUE(r.ok) << r.detail << "\n" << pg.logs();
  EXPECT_NE(r.detail.find(fmt::format("streaming from 127.0.0.1:{} on timeline 2", pg.port(1))),
            std::string::npos)
      << r.detail;
  EXPECT_EQ(pg.wait_until_streaming(2, pg.port(1)), "");
  SQL_OK(pg, 1, "INSERT INTO t VALUES ('from n1')");
  ASSERT_EQ(pg.wait_until_replayed(2, 1), "");
  EXPECT_EQ(pg.value(2, "SELECT x FROM t"), "from n1");
  EXPECT_EQ(pg.value(1, "SELECT application_name FROM pg_stat_replication"), "n2");

  auto again = run(svc, postgres_operation::follow, 2, 1);
  EXPECT_TRUE(again.ok) << again.detail;
  EXPECT_NE(again.detail.find("already streaming"), std::string::npos) << again.detail;
  auto on_primary = run(svc, postgres_operation::follow, 1, 2);
  EXPECT_FALSE(on_primary.ok);
  EXPECT_NE(on_primary.detail.find("is a primary"), std::string::npos) << on_primary.detail;
}

TEST(postgres_action, lsn_ranks_a_standby_that_stopped_receiving_behind) {
  pg_cluster pg;
  ASSERT_EQ(pg.start(2), "");
  auto svc = service_of(pg, false);
  cut_off(pg, 2);
  SQL_OK(pg, 0, "CREATE TABLE t AS SELECT generate_series(1, 1000) AS x");
  ASSERT_EQ(pg.wait_until_replayed(1, 0), "");

  auto primary = run(svc, postgres_operation::lsn, 0, 0);
  auto ahead = run(svc, postgres_operation::lsn, 1, 0);
  auto behind = run(svc, postgres_operation::lsn, 2, 0);
  ASSERT_TRUE(primary.ok && ahead.ok && behind.ok)
      << primary.detail << " / " << ahead.detail << " / " << behind.detail;
  EXPECT_NE(primary.detail.find("primary at "), std::string::npos) << primary.detail;
  EXPECT_NE(ahead.detail.find("standby at "), std::string::npos) << ahead.detail;
  ASSERT_TRUE(primary.value && ahead.value && behind.value);
  EXPECT_GT(*ahead.value, *behind.value);
  EXPECT_GE(*primary.value, *ahead.value);
  EXPECT_EQ(*ahead.value, *pg::parse_lsn(pg.value(1, "SELECT pg_last_wal_receive_lsn()")));
}

TEST(postgres_action, caught_up_passes_within_the_bound_and_fails_behind_it) {
  pg_cluster pg;
  ASSERT_EQ(pg.start(1), "");
  auto svc = service_of(pg, false);
  SQL_OK(pg, 0, "CREATE TABLE t (x int)");
  auto r = run(svc, postgres_operation::caught_up, 1, 0, 5s);
  ASSERT_TRUE(r.ok) << r.detail;
  EXPECT_NE(r.detail.find("caught up: replayed "), std::string::npos) << r.detail;

  SQL_OK(pg, 1, "SELECT pg_wal_replay_pause()");
  SQL_OK(pg, 0, "INSERT INTO t SELECT generate_series(1, 1000)");
  auto started = std::chrono::steady_clock::now();
  r = run(svc, postgres_operation::caught_up, 1, 0, 500ms);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms);
  EXPECT_FALSE(r.ok) << r.detail;
  EXPECT_NE(r.detail.find(" B behind: replayed "), std::string::npos) << r.detail;
  // Within a bound that covers the gap it passes without waiting.
  r = run(svc, postgres_operation::caught_up, 1, 0, 2s, 1 << 30);
  EXPECT_TRUE(r.ok) << r.detail;

  SQL_OK(pg, 1, "SELECT pg_wal_replay_resume()");
  r = run(svc, postgres_operation::caught_up, 1, 0, 5s);
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_NE(r.detail.find("(lag 0 B)"), std::string::npos) << r.detail;

  pg.crash(0); // nothing more to catch up from
  r = run(svc, postgres_operation::caught_up, 1, 0, 2s);
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_NE(r.detail.find("is unreachable"), std::string::npos) << r.detail;
}

// The RPO check after the primary died: what its probe last saw it write,
// against the WAL the candidate received.
TEST(postgres_action, caught_up_after_the_primary_died_judges_by_its_last_seen_position) {
  pg_cluster pg;
  ASSERT_EQ(pg.start(1), "");
  auto svc = service_of(pg, false);
  SQL_OK(pg, 0, "CREATE TABLE t (x text)");
  ASSERT_EQ(pg.wait_until_replayed(1, 0), "");
  cut_off(pg, 1); // n1 misses what follows
  SQL_OK(pg, 0, "INSERT INTO t SELECT repeat('x', 100) FROM generate_series(1, 1000)");
  actors::pg_probe probe("127.0.0.1", pg.port(0), pg_cluster::options(), 2s);
  auto seen = probe.check();
  ASSERT_TRUE(seen.ok) << seen.detail;
  pg.crash(0);
  auto refused = run(svc, postgres_operation::caught_up, 1, 0, 3s);
  EXPECT_FALSE(refused.ok) << refused.detail;
  EXPECT_NE(refused.detail.find("promoting it would lose at least"), std::string::npos)
      << refused.detail;
  auto allowed = run(svc, postgres_operation::caught_up, 1, 0, 3s, 100'000'000);
  EXPECT_TRUE(allowed.ok) << allowed.detail;
  EXPECT_NE(allowed.detail.find("it was last seen at"), std::string::npos) << allowed.detail;
}

TEST(postgres_action, fence_makes_it_read_only_and_ends_other_sessions) {
  pg_cluster pg;
  ASSERT_EQ(pg.start(0), "");
  auto svc = service_of(pg, false);
  SQL_OK(pg, 0, "CREATE TABLE t (x int)");
  std::string error;
  auto deadline = pg::clock::now() + 5s;
  auto other =
      pg::session::connect("127.0.0.1", pg.port(0), pg_cluster::options(), deadline, error);
  ASSERT_TRUE(other) << error;
  ASSERT_TRUE(other->query("INSERT INTO t VALUES (1)", deadline, error)) << error;

  auto r = run(svc, postgres_operation::fence, 0, 0);
  ASSERT_TRUE(r.ok) << r.detail;
  EXPECT_NE(r.detail.find("read-only by default, 1 client session ended"), std::string::npos)
      << r.detail;
  EXPECT_FALSE(other->query("INSERT INTO t VALUES (2)", deadline, error));
  EXPECT_NE(error.find("terminating connection due to administrator command"), std::string::npos)
      << error;
  EXPECT_EQ(pg.value(0, "SHOW default_transaction_read_only"), "on");
  EXPECT_NE(pg.value(0, "INSERT INTO t VALUES (3)").find("read-only transaction"),
            std::string::npos);

  ASSERT_EQ(pg.stop(0), "");
  r = run(svc, postgres_operation::fence, 0, 0);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("unreachable: "), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("Connection refused"), std::string::npos) << r.detail;
}

TEST(postgres_action, stop_stops_a_running_server_and_accepts_a_stopped_one) {
  pg_cluster pg;
  ASSERT_EQ(pg.start(0), "");
  auto svc = service_of(pg, false);
  auto r = run(svc, postgres_operation::stop, 0, 0);
  ASSERT_TRUE(r.ok) << r.detail;
  EXPECT_NE(r.detail.find("stopped (pg_ctl stop -m immediate"), std::string::npos) << r.detail;
  EXPECT_FALSE(pg.running(0));
  r = run(svc, postgres_operation::stop, 0, 0);
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_NE(r.detail.find("not running"), std::string::npos) << r.detail;

  auto no_dirs = service_of(pg, false, false);
  r = run(no_dirs, postgres_operation::stop, 0, 0);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("has no data_directory"), std::string::npos) << r.detail;
}

// A SIGKILLed postmaster's backend that is running a statement goes on (and
// would commit and answer): stop kills it, so that nothing it does is
// acknowledged after the fence.
TEST(postgres_action, start_brings_a_crashed_primary_back_in_place) {
  pg_cluster pg;
  ASSERT_EQ(pg.start(0), "");
  auto svc = service_of(pg, false);
  SQL_OK(pg, 0, "CREATE TABLE t (x text)");
  SQL_OK(pg, 0, "INSERT INTO t VALUES ('before')");
  auto r = run(svc, postgres_operation::start, 0, 0);
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_NE(r.detail.find("already running"), std::string::npos) << r.detail;

  pg.kill(0, SIGKILL); // a crash: the host still answers
  ASSERT_FALSE(pg.running(0));
  r = run(svc, postgres_operation::start, 0, 0, 20s);
  ASSERT_TRUE(r.ok) << r.detail;
  EXPECT_NE(r.detail.find("started (pg_ctl start -D"), std::string::npos) << r.detail;
  EXPECT_TRUE(pg.running(0));
  EXPECT_EQ(pg.value(0, "SELECT x FROM t"), "before") << "crash recovery kept the commit";
  EXPECT_EQ(pg.value(0, "SELECT pg_is_in_recovery()"), "f");

  auto no_dirs = service_of(pg, false, false);
  r = run(no_dirs, postgres_operation::start, 0, 0);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("has no data_directory"), std::string::npos) << r.detail;
}

TEST(postgres_action, stop_kills_a_backend_a_killed_postmaster_left_running) {
  pg_cluster pg;
  ASSERT_EQ(pg.start(0), "");
  auto svc = service_of(pg, false);
  std::string error;
  auto s = pg::session::connect("127.0.0.1", pg.port(0), pg_cluster::options(),
                                pg::clock::now() + 5s, error);
  ASSERT_TRUE(s) << error;
  auto backend = s->query("SELECT pg_backend_pid()", pg::clock::now() + 5s, error);
  ASSERT_TRUE(backend) << error;
  auto pid = std::stoi(backend->rows.at(0).at(0).value_or("0"));
  // Minutes of work in one statement, then its answer.
  std::optional<pg::result> answer;
  std::string failure;
  std::thread busy([&] {
    answer = s->query("SELECT count(*) FROM generate_series(1, 100000) a, "
                      "generate_series(1, 100000) b",
                      pg::clock::now() + 60s, failure);
  });
  ASSERT_TRUE(wait_until(
      [&] {
        return pg.value(0, fmt::format("SELECT state FROM pg_stat_activity WHERE pid = {}", pid)) ==
               "active";
      },
      5s));
  pg.kill(0, SIGKILL);
  EXPECT_EQ(::kill(pid, 0), 0) << "the backend exited with its postmaster";

  auto r = run(svc, postgres_operation::stop, 0, 0);
  busy.join();
  ASSERT_TRUE(r.ok) << r.detail;
  EXPECT_NE(r.detail.find("not running"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find(fmt::format("left behind killed (pid {})", pid)), std::string::npos)
      << r.detail;
  EXPECT_FALSE(answer.has_value()) << "the statement finished";
  EXPECT_FALSE(failure.empty());

  // Nothing left: a second stop finds nothing to kill.
  r = run(svc, postgres_operation::stop, 0, 0);
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.detail.find("left behind"), std::string::npos) << r.detail;
}

// Fast detection (probe_engine::postgres with hold): the idle session the
// probe keeps is closed by its backend the moment the postmaster dies; the
// engine sees it at once, and the confirming check is refused.
// The old primary n0 writes a row n1 never receives, then n1 is promoted
// and writes one of its own: n0 diverged.
void diverge(pg_cluster& pg, const config::service_settings& svc) {
  SQL_OK(pg, 0, "CREATE TABLE t (x text)");
  ASSERT_EQ(pg.wait_until_replayed(1, 0), "");
  cut_off(pg, 1);
  SQL_OK(pg, 0, "INSERT INTO t VALUES ('lost')");
  auto promoted = run(svc, postgres_operation::promote, 1, 0);
  ASSERT_TRUE(promoted.ok) << promoted.detail;
  SQL_OK(pg, 1, "INSERT INTO t VALUES ('kept')");
}

TEST(postgres_action, rejoin_of_a_cleanly_stopped_old_primary_needs_no_rewind) {
  pg_cluster pg;
  ASSERT_EQ(pg.start(1), "");
  auto svc = service_of(pg, false);
  SQL_OK(pg, 0, "CREATE TABLE t (x text)");
  ASSERT_EQ(pg.stop(0), ""); // a fast shutdown sends the standby everything first
  auto promoted = run(svc, postgres_operation::promote, 1, 0);
  ASSERT_TRUE(promoted.ok) << promoted.detail;

  auto r = run(svc, postgres_operation::rejoin, 0, 1, 30s);
  ASSERT_TRUE(r.ok) << r.detail << "\n" << pg.logs();
  EXPECT_NE(r.detail.find("not diverged"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("started as a standby (log: " + pg.log_file(0)), std::string::npos)
      << r.detail;
  EXPECT_EQ(r.divergence, "");
  EXPECT_EQ(pg.value(0, "SELECT pg_is_in_recovery()"), "t");
  EXPECT_EQ(pg.wait_until_streaming(0, pg.port(1)), "");
  SQL_OK(pg, 1, "INSERT INTO t VALUES ('from n1')");
  ASSERT_EQ(pg.wait_until_replayed(0, 1), "");
  EXPECT_EQ(pg.value(0, "SELECT x FROM t"), "from n1");
  // Rejoined already: nothing more to do.
  auto again = run(svc, postgres_operation::rejoin, 0, 1);
  EXPECT_TRUE(again.ok) << again.detail;
  EXPECT_NE(again.detail.find("a standby: already streaming"), std::string::npos) << again.detail;
}

TEST(postgres_action, rejoin_rewinds_a_diverged_old_primary_when_allowed) {
  pg_cluster pg;
  ASSERT_EQ(pg.start(1), "");
  auto svc = service_of(pg, true);
  diverge(pg, svc);

  auto r = run(svc, postgres_operation::rejoin, 0, 1, 30s);
  ASSERT_TRUE(r.ok) << r.detail << "\n" << pg.logs();
  EXPECT_NE(r.divergence.find("bytes past the fork at LSN "), std::string::npos) << r.divergence;
  EXPECT_NE(r.divergence.find("on timeline 1"), std::string::npos) << r.divergence;
  EXPECT_NE(r.detail.find("rewound (diverged at LSN "), std::string::npos) << r.detail;
  EXPECT_EQ(pg.wait_until_streaming(0, pg.port(1)), "");
  ASSERT_EQ(pg.wait_until_replayed(0, 1), "");
  EXPECT_EQ(pg.value(0, "SELECT string_agg(x, ',') FROM t"), "kept");
  // Its own configuration survived the rewind (pg_rewind copies n1's).
  EXPECT_EQ(pg.value(0, "SHOW port"), std::to_string(pg.port(0)));
}

TEST(postgres_action, rejoin_rewinds_a_crashed_old_primary_that_diverged) {
  pg_cluster pg;
  ASSERT_EQ(pg.start(1), "");
  auto svc = service_of(pg, true);
  diverge(pg, svc);
  pg.crash(0); // pg_rewind recovers it first (single-user mode), then rewinds

  auto r = run(svc, postgres_operation::rejoin, 0, 1, 30s);
  ASSERT_TRUE(r.ok) << r.detail << "\n" << pg.logs();
  EXPECT_NE(r.detail.find("not running; rewound (diverged at LSN "), std::string::npos) << r.detail;
  EXPECT_NE(r.divergence.find("(found by pg_rewind)"), std::string::npos) << r.divergence;
  EXPECT_EQ(pg.wait_until_streaming(0, pg.port(1)), "");
  ASSERT_EQ(pg.wait_until_replayed(0, 1), "");
  EXPECT_EQ(pg.value(0, "SELECT string_agg(x, ',') FROM t"), "kept");
}

TEST(postgres_action, rejoin_refuses_a_diverged_old_primary_without_rewind_and_fences_it) {
  pg_cluster pg;
  ASSERT_EQ(pg.start(1), "");
  auto svc = service_of(pg, false);
  diverge(pg, svc);

  auto no_dirs = service_of(pg, false, false);
  auto r = run(no_dirs, postgres_operation::rejoin, 0, 1);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("cannot make it a standby from here: no data_directory (made read-only"),
            std::string::npos)
      << r.detail;

  r = run(svc, postgres_operation::rejoin, 0, 1);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("rewind is off (postgres.rewind: true to rewind)"), std::string::npos)
      << r.detail;
  EXPECT_NE(r.divergence.find("bytes past the fork at LSN "), std::string::npos) << r.divergence;
  EXPECT_EQ(pg.value(0, "SELECT pg_is_in_recovery()"), "f"); // left running, untouched
  EXPECT_EQ(pg.value(0, "SHOW default_transaction_read_only"), "on");
  EXPECT_NE(pg.value(0, "INSERT INTO t VALUES ('more')").find("read-only transaction"),
            std::string::npos);
  EXPECT_EQ(pg.value(0, "SELECT count(*) FROM t WHERE x = 'lost'"), "1");

  // Stopped, it is still refused: pg_rewind --dry-run finds the divergence.
  ASSERT_EQ(pg.stop(0), "");
  r = run(svc, postgres_operation::rejoin, 0, 1, 30s);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("rewind is off"), std::string::npos) << r.detail;
  EXPECT_NE(r.divergence.find("wrote past the fork at LSN "), std::string::npos) << r.divergence;
  EXPECT_FALSE(pg.running(0));
}

} // namespace
} // namespace switchyard::testing

// The active-passive strategy's steps beyond the old and new primary: an
// action run on each other healthy standby (target: other_standbys), and the
// restart in place of a primary before any failover.
#include "tests/strategies/active_passive_fixture.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::strategies;
using namespace switchyard::testing::active_passive_fixture;

TEST_F(active_passive_test, an_action_on_other_standbys_is_one_step_per_healthy_standby) {
  auto s = service(log);
  auto follow =
      act("follow-new", "echo follow $SWITCHYARD_TARGET $SWITCHYARD_NEW_PRIMARY >> " + log);
  follow.on_other_standbys = true;
  s.strategy.reroute.insert(s.strategy.reroute.begin(), follow);
  active_passive strategy{s};
  auto in = input(s, {{"web-b", health_status::healthy},
                      {"web-c", health_status::healthy},
                      {"web-d", health_status::healthy}});
  in.excluded = {"web-b"}; // in maintenance: not touched
  auto p = strategy.plan(in);
  ASSERT_TRUE(p) << describe(p.error());
  // fence, promote web-c, follow-new on web-d only, reroute, verify
  ASSERT_EQ(p->steps.size(), 5u);
  EXPECT_EQ(p->steps[1].target.value, "web-c");
  EXPECT_EQ(p->steps[2].name, "follow-new");
  EXPECT_EQ(p->steps[2].target.value, "web-d");
  EXPECT_EQ(p->steps[3].name, "reroute");
  EXPECT_EQ(p->steps[3].target.value, "web-c");

  in.excluded.clear(); // web-b healthy too: one step each, best first
  auto q = strategy.plan(in);
  ASSERT_TRUE(q);
  ASSERT_EQ(q->steps.size(), 6u);
  EXPECT_EQ(q->steps[2].target.value, "web-d");
  EXPECT_EQ(q->steps[3].target.value, "web-b");
  recording_journal j;
  auto r =
      strategy.execute(execution_input{&s, *q, switchover_id{1}, "web-a", "web-c", epoch{2}}, j);
  EXPECT_TRUE(r.success) << r.detail;
  EXPECT_EQ(slurp(log), "fence web-a\npromote web-c\nfollow web-d web-c\nfollow web-b web-c\n"
                        "reroute web-c\nverify web-c\n");
}

TEST_F(active_passive_test, restart_in_place_runs_its_actions_against_the_primary_in_order) {
  auto s = service(log);
  config::restart_settings restart;
  restart.actions.push_back(
      act("start", "echo start $SWITCHYARD_TARGET $SWITCHYARD_PHASE >> " + log));
  restart.actions.push_back(act("check", "exit 3"));
  restart.actions.push_back(act("never", "echo never >> " + log));
  s.strategy.restart_in_place = restart;
  active_passive strategy{s};
  auto r = strategy.restart_in_place("web-a");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("check failed: exit 3"), std::string::npos) << r.detail;
  EXPECT_EQ(slurp(log), "start web-a restart\n") << "the first failure stops it";

  s.strategy.restart_in_place->actions.resize(1);
  active_passive one{s};
  auto ok = one.restart_in_place("web-a");
  EXPECT_TRUE(ok.ok) << ok.detail;
  s.strategy.restart_in_place.reset();
  active_passive none{s};
  EXPECT_FALSE(none.restart_in_place("web-a").ok);
}

// Restart in place before failover (strategy.restart_in_place), on the
// deterministic pipeline: a primary whose process died on a host that still
// answers is started again first; the failover goes ahead only when that
// fails or the primary is not healthy again by the deadline. Every path is a
// journaled decision.
#include "tests/actors/pipeline_fixture.hpp"

using namespace switchyard::testing::pipeline;

namespace {

class restart_in_place_test : public pipeline_test {
protected:
  restart_in_place_test() {
    auto c = std::make_shared<config::switchyard_config>(*cfg_ptr);
    config::restart_settings restart;
    restart.actions.push_back(exec_action("start-a"));
    restart.deadline = 5s;
    c->services.front().strategy.restart_in_place = restart;
    cfg_ptr = c;
  }

  // Every decision journaled for web, oldest first, as "verdict: reason".
  std::vector<std::string> decisions() {
    std::vector<std::string> out;
    auto db = open_db();
    EXPECT_TRUE(db);
    if (!db)
      return out;
    auto rows = db->list_decisions("web", 100);
    EXPECT_TRUE(rows);
    if (!rows)
      return out;
    for (auto i = rows->rbegin(); i != rows->rend(); ++i)
      out.push_back(i->verdict + ": " + i->reason);
    return out;
  }

  bool decided(const std::string& verdict) {
    for (const auto& d : decisions())
      if (d.rfind(verdict + ":", 0) == 0)
        return true;
    return false;
  }
};

} // namespace

TEST_F(restart_in_place_test, a_primary_back_before_the_deadline_is_not_failed_over) {
  start();
  (*up)["web-a"] = false; // refused: the host answers, nothing listens
  advance(2s);
  ASSERT_EQ(runner->restarts.size(), 1u);
  EXPECT_EQ(runner->restarts.front().instance.value, "web-a");
  EXPECT_TRUE(runner->jobs.empty()) << "no failover while it is being restarted";
  EXPECT_TRUE(decided("restart in place"));

  (*up)["web-a"] = true; // the restart worked
  advance(1s);
  advance(5s); // past the deadline: nothing more happens
  EXPECT_TRUE(runner->jobs.empty());
  EXPECT_EQ(web_state().primary.value, "web-a");
  EXPECT_TRUE(decided("restarted in place")) << ::testing::PrintToString(decisions());
}

TEST_F(restart_in_place_test, a_primary_still_down_at_the_deadline_is_failed_over) {
  start();
  (*up)["web-a"] = false;
  advance(2s);
  ASSERT_EQ(runner->restarts.size(), 1u);
  advance(4s);
  EXPECT_TRUE(runner->jobs.empty()) << "before the deadline";
  advance(1s);
  ASSERT_EQ(runner->jobs.size(), 1u) << ::testing::PrintToString(decisions());
  EXPECT_EQ(runner->jobs.front().to.value, "web-b");
  auto all = decisions();
  bool said = false;
  for (const auto& d : all)
    said = said || d.find("restart in place did not bring web-a back") != std::string::npos;
  EXPECT_TRUE(said) << ::testing::PrintToString(all);
}

TEST_F(restart_in_place_test, a_failed_restart_fails_over_at_once) {
  runner->restart_ok = false;
  start();
  (*up)["web-a"] = false;
  advance(2s);
  ASSERT_EQ(runner->restarts.size(), 1u);
  ASSERT_EQ(runner->jobs.size(), 1u) << "without waiting for the deadline";
  bool said = false;
  for (const auto& d : decisions())
    said = said || d.find("restart in place failed: exit 1") != std::string::npos;
  EXPECT_TRUE(said) << ::testing::PrintToString(decisions());
}

TEST_F(restart_in_place_test, a_host_that_does_not_answer_is_failed_over_without_a_restart) {
  start();
  (*up)["web-a"] = false;
  (*up)["web-a#timeout"] = true; // no refusal: the host may be down or cut off
  advance(2s);
  EXPECT_TRUE(runner->restarts.empty());
  EXPECT_EQ(runner->jobs.size(), 1u);
}

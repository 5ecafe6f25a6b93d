// The supervisor restarts a crashed child after its backoff, re-registers it
// under its name, and escalates past the restart limit. Deterministic: CAF's
// test coordinator with a manual clock.
#include <memory>

#include "actors/supervisor.hpp"
#include "messages/error.hpp"
#include "tests/actors/test_system.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::actors;

namespace {

// A child that dies with an error when told to crash.
caf::behavior crashable(caf::event_based_actor* self) {
  return {
      [self](crash_atom) { self->quit(make_sy_error(sy_errc::unspecified, "told to crash")); },
  };
}

// Records how (and whether) the watched actor ended.
struct watch_result {
  bool down = false;
  caf::error reason;
};

caf::behavior watcher(caf::event_based_actor* self, caf::actor target,
                      std::shared_ptr<watch_result> out) {
  self->monitor(target);
  self->set_down_handler([out](caf::down_msg& dm) {
    out->down = true;
    out->reason = dm.reason;
  });
  return {[](int) {}};
}

class supervisor_test : public switchyard::testing::deterministic_test {
protected:
  supervisor_test() {
    settings.max_restarts = 2;
    settings.restart_window = 60s;
    settings.initial_backoff = 100ms;
    settings.max_backoff = 1s;
  }

  caf::actor start_supervisor() {
    std::vector<child_spec> specs;
    specs.push_back({"victim",
                     [this](caf::actor_system& s) {
                       ++starts;
                       return s.spawn(crashable);
                     },
                     [this](const caf::actor& handle) { published = handle; }});
    sup = sys.spawn(supervisor, std::move(specs), settings, &peers->metrics());
    keep.push_back(sys.spawn(watcher, sup, sup_end));
    run();
    return sup;
  }

  caf::actor victim() { return published; }

  void crash_victim() {
    caf::anon_send(victim(), crash_atom::value);
    run();
  }

  config::supervisor_settings settings;
  caf::actor sup;               // held: an unreferenced actor is collected
  std::vector<caf::actor> keep; // the watchers, for the same reason
  int starts = 0;
  caf::actor published; ///< the handle the supervisor last published (invalid once stopped)
  std::shared_ptr<watch_result> sup_end = std::make_shared<watch_result>();
};

} // namespace

TEST_F(supervisor_test, restarts_a_crashed_child_after_its_backoff) {
  start_supervisor();
  ASSERT_EQ(starts, 1);
  auto first = victim();
  ASSERT_TRUE(first);

  crash_victim();
  EXPECT_EQ(starts, 1) << "restart must wait for the backoff";
  advance(99ms);
  EXPECT_EQ(starts, 1);
  advance(1ms);
  EXPECT_EQ(starts, 2);
  auto second = victim();
  ASSERT_TRUE(second);
  EXPECT_NE(first.id(), second.id()) << "the new child must be published";
  EXPECT_FALSE(sup_end->down);

  crash_victim();
  advance(199ms);
  EXPECT_EQ(starts, 2) << "second backoff is doubled";
  advance(1ms);
  EXPECT_EQ(starts, 3);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(supervisor_test, escalates_past_the_restart_limit) {
  start_supervisor();
  crash_victim();
  advance(100ms);
  crash_victim();
  advance(200ms);
  ASSERT_EQ(starts, 3);
  EXPECT_FALSE(sup_end->down);

  crash_victim(); // third crash in the window, limit is 2 restarts
  EXPECT_TRUE(sup_end->down) << "the supervisor must give up";
  EXPECT_EQ(starts, 3);
  EXPECT_NE(describe(sup_end->reason).find("victim crashed too often"), std::string::npos)
      << describe(sup_end->reason);
  EXPECT_FALSE(victim()) << "an escalating supervisor unpublishes its children";
}

TEST_F(supervisor_test, shutdown_stops_children_and_does_not_restart_them) {
  start_supervisor();
  auto child = victim();
  auto child_end = std::make_shared<watch_result>();
  keep.push_back(sys.spawn(watcher, child, child_end));
  run();
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  advance(10s);
  EXPECT_TRUE(sup_end->down);
  EXPECT_TRUE(child_end->down);
  EXPECT_EQ(starts, 1);
}

TEST_F(supervisor_test,
       an_update_stops_named_children_without_restarting_them_and_starts_new_ones) {
  start_supervisor();
  auto child = victim();
  auto child_end = std::make_shared<watch_result>();
  keep.push_back(sys.spawn(watcher, child, child_end));
  run();
  int extra_starts = 0;
  supervisor_update update;
  update.stop.push_back("victim");
  update.start.push_back({"newcomer", [&extra_starts](caf::actor_system& s) {
                            ++extra_starts;
                            return s.spawn(crashable);
                          }});
  caf::anon_send(sup, std::move(update));
  run();
  EXPECT_TRUE(child_end->down) << "the named child was stopped";
  EXPECT_FALSE(victim()) << "and unregistered";
  EXPECT_EQ(extra_starts, 1);
  advance(10s);
  EXPECT_EQ(starts, 1) << "a stop asked for is not a crash: no restart";
  EXPECT_FALSE(sup_end->down);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
}

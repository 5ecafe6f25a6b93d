// The quiet gate, and a health checker whose probe the engine times: a healthy
// instance's successes are counted on the engine's thread and never reach the
// checker's mailbox, while every outcome that could change its status does.
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>

#include "actors/health_checker.hpp"
#include "actors/peers.hpp"
#include "actors/quiet_gate.hpp"
#include "tests/actors/checker_fakes.hpp"
#include "tests/actors/test_system.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::actors;
using switchyard::testing::counting_monitor;
using switchyard::testing::recording_classifier;

TEST(quiet_gate, arms_only_when_every_disarm_was_handled) {
  quiet_gate g;
  EXPECT_FALSE(g.quiet());
  EXPECT_TRUE(g.arm(0));
  EXPECT_TRUE(g.quiet());
  EXPECT_TRUE(g.arm(0)) << "arming an armed gate keeps it armed";
  g.disarm();
  EXPECT_FALSE(g.quiet());
  EXPECT_FALSE(g.arm(0)) << "a failure the checker has not seen yet";
  EXPECT_FALSE(g.quiet());
  g.disarm();
  EXPECT_FALSE(g.arm(1));
  EXPECT_TRUE(g.arm(2));
  EXPECT_TRUE(g.quiet());
  g.open();
  EXPECT_FALSE(g.quiet());
  EXPECT_TRUE(g.arm(2));
}

namespace {

// What the engine would hold: the callbacks a test calls as the engine's thread would.
struct engine_side {
  async_probe::completion each;
  async_probe::lost_callback lost;
  std::vector<async_probe::completion> started;
};

class engine_timed_probe : public async_probe {
public:
  explicit engine_timed_probe(std::shared_ptr<engine_side> e) : e_(std::move(e)) {}
  void start(completion done) override { e_->started.push_back(std::move(done)); }
  void on_connection_lost(lost_callback cb) override { e_->lost = std::move(cb); }
  bool run_periodically(const periodic_settings&, completion each) override {
    e_->each = std::move(each);
    return true;
  }

private:
  std::shared_ptr<engine_side> e_;
};

class quiet_checker_test : public switchyard::testing::deterministic_test {
protected:
  void start(bool report_samples) {
    peers->set(peer::classifier, sys.spawn(recording_classifier, seen));
    peers->set(peer::performance, sys.spawn(counting_monitor, samples));
    config::health_check_settings check;
    check.type = config::check_type::tcp;
    check.interval = 1s;
    check.rise = 1;
    check.fall = 3;
    config::instance_settings inst{
        "app-a", "127.0.0.1", 8080, "dc1", config::instance_role::primary, 100, {}};
    probe_factory factory = [e = engine] { return std::make_unique<engine_timed_probe>(e); };
    checker = caf::actor_cast<caf::actor>(
        sys.spawn(health_checker, std::string{"app"}, inst, check, factory, peers, report_samples));
    run();
    ASSERT_TRUE(engine->each) << "the checker lets the engine time its probe";
  }

  void TearDown() override {
    caf::anon_send_exit(checker, caf::exit_reason::user_shutdown);
    for (auto p : {peer::classifier, peer::performance})
      if (auto a = peers->actor(p))
        caf::anon_send_exit(caf::actor_cast<caf::actor>(a), caf::exit_reason::user_shutdown);
    peers->set(peer::classifier, caf::actor{});
    peers->set(peer::performance, caf::actor{});
    run();
  }

  static probe_outcome ok() { return {true, 100us, "connected", false}; }
  static probe_outcome refused() { return {false, 100us, "Connection refused", true}; }

  double probes_counted() {
    return peers->metrics()
        .counter_for("switchyard_probes_sent_total", "Health probes run.", {{"type", "tcp"}})
        .value();
  }

  std::shared_ptr<engine_side> engine = std::make_shared<engine_side>();
  std::shared_ptr<std::vector<health_transition>> seen =
      std::make_shared<std::vector<health_transition>>();
  std::shared_ptr<std::vector<probe_sample>> samples =
      std::make_shared<std::vector<probe_sample>>();
  caf::actor checker;
};

} // namespace

TEST_F(quiet_checker_test, a_healthy_instance_s_successes_skip_the_mailbox_and_are_counted) {
  start(false);
  engine->each(ok());
  run();
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_EQ(seen->back().to, health_status::healthy);
  for (int i = 0; i < 10; ++i) {
    engine->each(ok());
    EXPECT_FALSE(sched.has_job()) << "success " << i << " was sent to the checker";
  }
  EXPECT_EQ(probes_counted(), 11.0) << "counted all the same";
  // A failure still reaches it, and so does every success until it settles again.
  engine->each(refused());
  EXPECT_TRUE(sched.has_job());
  run();
  engine->each(ok());
  EXPECT_TRUE(sched.has_job()) << "the success after a failure resets the failure streak";
  run();
  engine->each(ok());
  EXPECT_FALSE(sched.has_job()) << "quiet again";
  EXPECT_EQ(probes_counted(), 14.0);
}

// The engine's thread does not wait for the checker: a success that follows a
// failure the checker has not handled yet must reach it, or rise/fall would
// see failures as consecutive that were not.
TEST_F(quiet_checker_test, a_success_after_a_failure_not_yet_handled_is_delivered) {
  start(false);
  engine->each(ok());
  run();
  engine->each(ok());
  run(); // quiet now
  engine->each(refused());
  engine->each(ok());
  engine->each(refused());
  engine->each(refused());
  run();
  EXPECT_EQ(seen->size(), 1u) << "fall is 3, and no three failures were consecutive";
  engine->each(refused());
  run();
  ASSERT_EQ(seen->size(), 2u);
  EXPECT_EQ(seen->back().to, health_status::unhealthy);
  EXPECT_EQ(seen->back().streak, 3u);
}

TEST_F(quiet_checker_test, a_lost_connection_is_heard_and_the_probe_after_it_too) {
  start(false);
  engine->each(ok());
  run();
  engine->each(ok());
  run(); // quiet
  engine->lost();
  EXPECT_TRUE(sched.has_job());
  run();
  ASSERT_EQ(engine->started.size(), 1u) << "the loss is confirmed at once";
  engine->started[0](refused());
  run();
  ASSERT_EQ(seen->size(), 2u);
  EXPECT_EQ(seen->back().to, health_status::unhealthy);
  EXPECT_TRUE(seen->back().fast);
}

TEST_F(quiet_checker_test, a_monitored_service_s_checker_hears_every_outcome) {
  start(true);
  for (int i = 0; i < 5; ++i) {
    engine->each(ok());
    EXPECT_TRUE(sched.has_job());
    run();
  }
  EXPECT_EQ(samples->size(), 5u) << "the performance monitor needs each one";
}

// At log level debug every probe is logged, so every outcome reaches the checker.
TEST_F(quiet_checker_test, at_log_level_debug_the_checker_hears_every_success) {
  struct restore_level {
    spdlog::level::level_enum was = spdlog::get_level();
    ~restore_level() { spdlog::set_level(was); }
  } restore;
  spdlog::set_level(spdlog::level::debug);
  start(false);
  for (int i = 0; i < 3; ++i) {
    engine->each(ok());
    EXPECT_TRUE(sched.has_job()) << "success " << i;
    run();
  }
}

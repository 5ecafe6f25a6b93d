// The health checker on the deterministic scheduler with a scripted probe:
// rise/fall on its timer, and the probe run at once when the connection
// watch reports a held connection lost (conn_lost).
#include <memory>
#include <vector>

#include "actors/health_checker.hpp"
#include "actors/peers.hpp"
#include "tests/actors/checker_fakes.hpp"
#include "tests/actors/test_system.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::actors;
using switchyard::testing::counting_monitor;
using switchyard::testing::recording_classifier;

namespace {

struct script {
  probe_outcome next{true, 100us, "PONG, master"};
  int probes = 0;
};

class scripted_probe : public probe {
public:
  explicit scripted_probe(std::shared_ptr<script> s) : s_(std::move(s)) {}
  probe_outcome check() override {
    ++s_->probes;
    return s_->next;
  }

private:
  std::shared_ptr<script> s_;
};

class health_checker_test : public switchyard::testing::deterministic_test {
protected:
  health_checker_test() {
    peers->set(peer::classifier, sys.spawn(recording_classifier, seen));
    config::health_check_settings check;
    check.type = config::check_type::redis;
    check.interval = 1s;
    check.rise = 1;
    check.fall = 3;
    config::instance_settings inst{"db-a", "127.0.0.1", 6379, "dc1", config::instance_role::primary,
                                   100,    {}};
    probe_factory factory = [s = probe_script] { return std::make_unique<scripted_probe>(s); };
    checker = caf::actor_cast<caf::actor>(
        sys.spawn(health_checker, std::string{"db"}, inst, check, factory, peers, false));
    run(); // the first probe
  }

  void TearDown() override {
    caf::anon_send_exit(checker, caf::exit_reason::user_shutdown);
    if (auto cls = peers->actor(peer::classifier))
      caf::anon_send_exit(caf::actor_cast<caf::actor>(cls), caf::exit_reason::user_shutdown);
    peers->set(peer::classifier, caf::actor{});
    run();
  }

  void connection_lost() {
    caf::anon_send(caf::actor_cast<health_checker_actor>(checker), conn_lost_atom::value);
    run();
  }

  void fail_with_refused() { probe_script->next = {false, 100us, "Connection refused", true}; }

  std::shared_ptr<script> probe_script = std::make_shared<script>();
  std::shared_ptr<std::vector<health_transition>> seen =
      std::make_shared<std::vector<health_transition>>();
  caf::actor checker;
};

} // namespace

TEST_F(health_checker_test, a_lost_connection_confirmed_by_a_failed_probe_is_unhealthy_at_once) {
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_EQ(seen->back().to, health_status::healthy);
  EXPECT_FALSE(seen->back().fast);

  fail_with_refused();
  connection_lost();
  EXPECT_EQ(probe_script->probes, 2); // at once, not on the timer
  ASSERT_EQ(seen->size(), 2u);
  const auto& down = seen->back();
  EXPECT_EQ(down.from, health_status::healthy);
  EXPECT_EQ(down.to, health_status::unhealthy);
  EXPECT_EQ(down.streak, 1u); // fall is 3
  EXPECT_TRUE(down.fast);
  EXPECT_TRUE(down.refused);
  EXPECT_EQ(down.reason, "Connection refused");

  // The periodic schedule is the one from before: one probe per interval.
  advance(1s);
  EXPECT_EQ(probe_script->probes, 3);
  EXPECT_EQ(seen->size(), 2u);
}

TEST_F(health_checker_test, a_lost_connection_that_the_probe_replaces_changes_nothing) {
  connection_lost();
  EXPECT_EQ(probe_script->probes, 2);
  EXPECT_EQ(seen->size(), 1u);
  advance(1s);
  EXPECT_EQ(probe_script->probes, 3);
}

TEST_F(health_checker_test, without_a_lost_connection_failures_wait_for_fall) {
  fail_with_refused();
  advance(2s);
  EXPECT_EQ(seen->size(), 1u); // two failures, fall is 3
  advance(1s);
  ASSERT_EQ(seen->size(), 2u);
  EXPECT_EQ(seen->back().to, health_status::unhealthy);
  EXPECT_EQ(seen->back().streak, 3u);
  EXPECT_FALSE(seen->back().fast);
  EXPECT_TRUE(seen->back().refused);
}

TEST_F(health_checker_test, an_unhealthy_transition_says_when_its_first_failed_probe_was_sent) {
  fail_with_refused(); // each probe takes 100 us
  auto before_first = caf::make_timestamp();
  advance(1s); // the first failed probe
  auto after_first = caf::make_timestamp();
  advance(2s); // the third: unhealthy
  ASSERT_EQ(seen->size(), 2u);
  const auto& down = seen->back();
  ASSERT_EQ(down.to, health_status::unhealthy);
  // The wall clock, not the test's: the first failed probe was sent between
  // the two readings (less its 100 us), and before the transition.
  EXPECT_GE(down.since, before_first - 100us);
  EXPECT_LE(down.since, after_first);
  EXPECT_LE(down.since, down.at);
}

TEST_F(health_checker_test, a_server_that_keeps_dropping_connections_cannot_make_it_spin) {
  for (int i = 0; i < 5; ++i)
    connection_lost(); // e.g. a server that closes every connection at once
  EXPECT_EQ(probe_script->probes, 1 + health_checker_state::max_confirmations_per_interval);
  EXPECT_EQ(seen->size(), 1u);

  // The rest is confirmed by the periodic probe, still as a lost connection.
  fail_with_refused();
  advance(1s);
  EXPECT_EQ(probe_script->probes, 2 + health_checker_state::max_confirmations_per_interval);
  ASSERT_EQ(seen->size(), 2u);
  EXPECT_TRUE(seen->back().fast);
  EXPECT_EQ(seen->back().streak, 1u);

  // A new interval, new confirmations at once.
  connection_lost();
  EXPECT_EQ(probe_script->probes, 3 + health_checker_state::max_confirmations_per_interval);
}

namespace {

// A checker whose service's performance is monitored, and one whose is not,
// side by side: only the first sends the monitor its outcomes.
class sample_test : public switchyard::testing::deterministic_test {
protected:
  caf::actor spawn_checker(const std::string& name, bool report_samples) {
    config::health_check_settings check;
    check.type = config::check_type::tcp;
    check.interval = 1s;
    config::instance_settings inst{name, "127.0.0.1", 8080, "dc1", config::instance_role::primary,
                                   100,  {}};
    probe_factory factory = [s = probe_script] { return std::make_unique<scripted_probe>(s); };
    return caf::actor_cast<caf::actor>(
        sys.spawn(health_checker, name, inst, check, factory, peers, report_samples));
  }
  void TearDown() override {
    for (const auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  std::shared_ptr<script> probe_script = std::make_shared<script>();
  std::shared_ptr<std::vector<probe_sample>> samples =
      std::make_shared<std::vector<probe_sample>>();
  std::shared_ptr<std::vector<health_transition>> seen =
      std::make_shared<std::vector<health_transition>>();
  std::vector<caf::actor> spawned;
};

} // namespace

TEST_F(sample_test, only_a_monitored_service_s_checker_reports_each_outcome) {
  auto monitor = sys.spawn(counting_monitor, samples);
  auto classifier = sys.spawn(recording_classifier, seen);
  peers->set(peer::performance, monitor);
  peers->set(peer::classifier, classifier);
  spawned = {caf::actor_cast<caf::actor>(monitor), caf::actor_cast<caf::actor>(classifier),
             spawn_checker("monitored", true), spawn_checker("unmonitored", false)};
  run();
  advance(1s);
  advance(1s);
  EXPECT_EQ(probe_script->probes, 6) << "three probes each";
  ASSERT_EQ(samples->size(), 3u);
  for (const auto& s : *samples) {
    EXPECT_EQ(s.instance.value, "monitored");
    EXPECT_TRUE(s.ok);
  }
  EXPECT_EQ(seen->size(), 2u) << "both report their transitions all the same";
  peers->set(peer::performance, performance_monitor_actor{});
  peers->set(peer::classifier, classifier_actor{});
}

namespace {

// phi-accrual beside rise/fall: probes exactly every second (the manual
// clock), so the floor (interval / 4 = 250 ms) is the standard deviation.
class phi_health_checker_test : public switchyard::testing::deterministic_test {
protected:
  phi_health_checker_test() {
    peers->set(peer::classifier, sys.spawn(recording_classifier, seen));
    config::health_check_settings check;
    check.type = config::check_type::tcp;
    check.interval = 1s;
    check.rise = 1;
    check.fall = 5;
    check.phi_threshold = 3;
    config::instance_settings inst{
        "app-a", "127.0.0.1", 8080, "dc1", config::instance_role::primary, 100, {}};
    probe_factory factory = [s = probe_script] { return std::make_unique<scripted_probe>(s); };
    checker = caf::actor_cast<caf::actor>(
        sys.spawn(health_checker, std::string{"app"}, inst, check, factory, peers, false));
    run();
  }

  void TearDown() override {
    caf::anon_send_exit(checker, caf::exit_reason::user_shutdown);
    if (auto cls = peers->actor(peer::classifier))
      caf::anon_send_exit(caf::actor_cast<caf::actor>(cls), caf::exit_reason::user_shutdown);
    peers->set(peer::classifier, caf::actor{});
    run();
  }

  std::shared_ptr<script> probe_script = std::make_shared<script>();
  std::shared_ptr<std::vector<health_transition>> seen =
      std::make_shared<std::vector<health_transition>>();
  caf::actor checker;
};

} // namespace

TEST_F(phi_health_checker_test, phi_above_the_threshold_is_unhealthy_before_fall) {
  advance(5s); // six successful probes, one second apart
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_EQ(seen->back().to, health_status::healthy);

  probe_script->next = {false, 500ms, "connect timed out"};
  advance(1s); // silent for 1 s: phi 0.3
  EXPECT_EQ(seen->size(), 1u);
  advance(1s); // silent for 2 s, four standard deviations: phi 4.5 > 3 (fall is 5)
  ASSERT_EQ(seen->size(), 2u);
  const auto& down = seen->back();
  EXPECT_EQ(down.to, health_status::unhealthy);
  EXPECT_EQ(down.streak, 2u);
  EXPECT_FALSE(down.fast);
  EXPECT_EQ(down.reason, "phi 4.5 > 3 (no answer for 2.0 s, mean interval 1.0 s); last probe: "
                         "connect timed out");

  // Back: healthy (rise 1). The outage did not join the intervals, so one
  // failed probe later phi is 0.3 again, and nothing happens.
  probe_script->next = {true, 100us, "connected"};
  advance(1s);
  ASSERT_EQ(seen->size(), 3u);
  EXPECT_EQ(seen->back().to, health_status::healthy);
  probe_script->next = {false, 500ms, "connect timed out"};
  advance(1s);
  EXPECT_EQ(seen->size(), 3u);
}

TEST_F(phi_health_checker_test, without_failures_phi_never_fires) {
  advance(30s);
  EXPECT_EQ(seen->size(), 1u);
  EXPECT_EQ(probe_script->probes, 31);
}

namespace {

// A probe that completes only when the test says so, to hold a probe in flight.
struct manual_script {
  std::vector<async_probe::completion> pending; ///< by start order
};

class manual_probe : public async_probe {
public:
  explicit manual_probe(std::shared_ptr<manual_script> s) : s_(std::move(s)) {}
  void start(completion done) override { s_->pending.push_back(std::move(done)); }

private:
  std::shared_ptr<manual_script> s_;
};

class in_flight_health_checker_test : public switchyard::testing::deterministic_test {
protected:
  in_flight_health_checker_test() {
    peers->set(peer::classifier, sys.spawn(recording_classifier, seen));
    config::health_check_settings check;
    check.type = config::check_type::tcp;
    check.interval = 1s;
    check.timeout = 500ms; // given up on after 1.5 s (timeout + overdue_grace)
    check.rise = 1;
    check.fall = 3;
    config::instance_settings inst{
        "app-a", "127.0.0.1", 8080, "dc1", config::instance_role::primary, 100, {}};
    probe_factory factory = [s = probes] { return std::make_unique<manual_probe>(s); };
    checker = caf::actor_cast<caf::actor>(
        sys.spawn(health_checker, std::string{"app"}, inst, check, factory, peers, false));
    run();
  }

  void TearDown() override {
    caf::anon_send_exit(checker, caf::exit_reason::user_shutdown);
    if (auto cls = peers->actor(peer::classifier))
      caf::anon_send_exit(caf::actor_cast<caf::actor>(cls), caf::exit_reason::user_shutdown);
    peers->set(peer::classifier, caf::actor{});
    run();
  }

  void complete(std::size_t index, probe_outcome out) {
    probes->pending.at(index)(std::move(out));
    run();
  }

  static probe_outcome refused() { return {false, 100us, "Connection refused", true}; }

  std::shared_ptr<manual_script> probes = std::make_shared<manual_script>();
  std::shared_ptr<std::vector<health_transition>> seen =
      std::make_shared<std::vector<health_transition>>();
  caf::actor checker;
};

} // namespace

TEST_F(in_flight_health_checker_test, a_result_of_an_older_probe_is_ignored) {
  ASSERT_EQ(probes->pending.size(), 1u);
  complete(0, {true, 100us, "connected"});
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_EQ(seen->back().to, health_status::healthy);

  advance(1s); // probe 2 starts and never answers
  ASSERT_EQ(probes->pending.size(), 2u);
  advance(1s); // in flight for 1 s: within timeout + grace, this beat is skipped
  EXPECT_EQ(probes->pending.size(), 2u);
  advance(1s); // in flight for 2 s: given up on (failure 1 of 3), probe 3 starts
  ASSERT_EQ(probes->pending.size(), 3u);
  EXPECT_EQ(seen->size(), 1u);

  // Probe 2's late failure is stale: were it counted, probe 3's failure would
  // be the third and turn the instance unhealthy.
  complete(1, refused());
  complete(2, refused()); // failure 2 of 3
  EXPECT_EQ(seen->size(), 1u);
  // A result nobody started is stale as well.
  caf::anon_send(caf::actor_cast<health_checker_actor>(checker),
                 probe_result{0, {false, 1us, "forged", true}});
  run();
  EXPECT_EQ(seen->size(), 1u);

  advance(1s);
  ASSERT_EQ(probes->pending.size(), 4u);
  complete(3, refused()); // failure 3 of 3
  ASSERT_EQ(seen->size(), 2u);
  EXPECT_EQ(seen->back().to, health_status::unhealthy);
  EXPECT_EQ(seen->back().streak, 3u);
  EXPECT_EQ(seen->back().reason, "Connection refused");
}

TEST_F(in_flight_health_checker_test, a_lost_connection_during_a_probe_is_confirmed_after_it) {
  complete(0, {true, 100us, "connected"});
  advance(1s);
  ASSERT_EQ(probes->pending.size(), 2u);
  caf::anon_send(caf::actor_cast<health_checker_actor>(checker), conn_lost_atom::value);
  run();
  EXPECT_EQ(probes->pending.size(), 2u); // not while probe 2 is in flight
  complete(1, {true, 100us, "connected"});
  ASSERT_EQ(probes->pending.size(), 3u); // the confirmation, right after it
  complete(2, refused());
  ASSERT_EQ(seen->size(), 2u);
  EXPECT_TRUE(seen->back().fast);
  EXPECT_EQ(seen->back().to, health_status::unhealthy);
}

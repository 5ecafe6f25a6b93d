// The classifier's classes end to end on the deterministic scheduler: real
// health checkers (scripted probes), classifier, coordinator and store (a
// real SQLite file), a fake runner that records jobs. Dependencies (cascading
// failures), flapping, and site disasters, with the failovers they cause or not.
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "actors/failover_coordinator.hpp"
#include "actors/failure_classifier.hpp"
#include "actors/health_checker.hpp"
#include "actors/peers.hpp"
#include "actors/store.hpp"
#include "messages/error.hpp"
#include "persistence/sqlite_store.hpp"
#include "tests/actors/scripted_probe.hpp"
#include "tests/actors/test_system.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::actors;

namespace {

using switchyard::testing::scripted_probe;
using switchyard::testing::up_map;

// Completes every job at once and records it.
runner_actor::behavior_type fake_runner(runner_actor::pointer,
                                        std::shared_ptr<std::vector<failover_job>> jobs) {
  return {
      [jobs](failover_job& job) -> failover_result {
        jobs->push_back(job);
        return failover_result{job.plan.service,
                               switchover_id{static_cast<std::int64_t>(jobs->size())},
                               true,
                               job.to,
                               job.new_epoch,
                               "ok",
                               {}};
      },
      [](rejoin_request&) {
        return rejoin_outcome{true, "follow: replicates", ""};
      },
      [](restart_request&) {
        return restart_outcome{false, "not scripted"};
      },
      [](candidate_check& check) {
        candidate_verdict v;
        v.chosen = check.candidates.front();
        return v;
      },
      // Site switchovers are tested with real processes (site_switchover_test).
      [](site_prepare&) { return site_prepare_outcome{}; },
      [](integrity_check&) { return integrity_outcome{}; },
      [](config_update&) {},
  };
}

config::action_settings exec_action(std::string name) {
  config::action_settings a;
  a.name = std::move(name);
  a.command = "true";
  a.timeout = 1s;
  return a;
}

// NAME-a (primary, in `primary_site`) and NAME-b (standby, in dc2); probed
// every second, unhealthy after 2 failed probes, healthy after 1 good one.
config::service_settings service(const std::string& name, std::vector<std::string> depends_on = {},
                                 const std::string& primary_site = "dc1") {
  config::service_settings svc;
  svc.name = name;
  svc.depends_on = std::move(depends_on);
  svc.health_check.type = config::check_type::http;
  svc.health_check.interval = 1s;
  svc.health_check.rise = 1;
  svc.health_check.fall = 2;
  svc.instances.push_back(
      {name + "-a", "127.0.0.1", 1, primary_site, config::instance_role::primary, 100, {}});
  svc.instances.push_back(
      {name + "-b", "127.0.0.1", 2, "dc2", config::instance_role::standby, 90, {}});
  svc.strategy.fence.push_back(exec_action("fence"));
  svc.strategy.promote.push_back(exec_action("promote"));
  return svc;
}

// Hands the coordinator a reload from an event-based actor (a blocking
// request would stall the deterministic scheduler) and keeps its error.
caf::behavior reload_request(caf::event_based_actor* self, coordinator_actor coord,
                             config_update update, std::shared_ptr<std::string> error) {
  self->request(coord, caf::infinite, std::move(update))
      .then([self](caf::ok_atom) { self->quit(); },
            [self, error](caf::error& err) {
              *error = describe(err);
              self->quit();
            });
  return {[](int) {}};
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class classification_test : public switchyard::testing::deterministic_test {
protected:
  classification_test() {
    cfg->source_file = (dir.path() / "test.yaml").string();
    cfg->orchestrator.data_dir = dir.path().string();
  }

  void start() {
    peers->set(peer::store, sys.spawn(store, cfg, peers));
    auto classifier = sys.spawn(failure_classifier, peers);
    caf::anon_send(classifier, config_update{cfg}); // as the daemon does
    peers->set(peer::classifier, classifier);
    peers->set(peer::runner, sys.spawn(fake_runner, jobs));
    coord = sys.spawn(failover_coordinator, cfg, peers);
    peers->set(peer::coordinator, coord);
    run();
    for (const auto& svc : cfg->services)
      for (const auto& inst : svc.instances) {
        (*up)[inst.name] = true;
        probe_factory f = [this, name = inst.name] {
          return std::make_unique<scripted_probe>(up, name);
        };
        checkers.push_back(
            caf::actor_cast<caf::actor>(sys.spawn(health_checker, svc.name, inst, svc.health_check,
                                                  f, peers, svc.performance.has_value())));
      }
    run();
  }

  void TearDown() override {
    for (auto& c : checkers)
      caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    for (auto who : {peer::store, peer::classifier, peer::runner, peer::coordinator})
      if (auto h = peers->actor(who))
        caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
    run();
  }

  /// Every persisted detection, oldest first.
  std::vector<detection_record> detections() {
    auto db = persistence::sqlite_store::open(cfg->database_path());
    EXPECT_TRUE(db) << (db ? "" : describe(db.error()));
    if (!db)
      return {};
    auto rows = (*db)->list_detections("");
    EXPECT_TRUE(rows);
    if (!rows)
      return {};
    std::vector<detection_record> out(rows->rbegin(), rows->rend());
    return out;
  }

  std::vector<detection_record> of_type(failure_type type) {
    std::vector<detection_record> out;
    for (auto& d : detections())
      if (d.type == type)
        out.push_back(d);
    return out;
  }

  switchyard::testing::temp_dir dir;
  std::shared_ptr<config::switchyard_config> cfg = std::make_shared<config::switchyard_config>();
  std::shared_ptr<up_map> up = std::make_shared<up_map>();
  std::shared_ptr<std::vector<failover_job>> jobs = std::make_shared<std::vector<failover_job>>();
  coordinator_actor coord;
  std::vector<caf::actor> checkers;
};

} // namespace

// -- dependencies --------------------------------------------------------------

TEST_F(classification_test, a_database_outage_fails_over_only_the_database) {
  cfg->services = {service("db"), service("cache", {"db"}), service("app", {"cache"})};
  start();
  // The database dies; what needs it fails its probes a second later.
  (*up)["db-a"] = false;
  advance(1s);
  (*up)["cache-a"] = false;
  (*up)["app-a"] = false;
  advance(5s);
  ASSERT_EQ(jobs->size(), 1u) << "only the root cause is failed over";
  EXPECT_EQ(jobs->front().plan.service.value, "db");
  EXPECT_EQ(jobs->front().to.value, "db-b");

  auto cascading = of_type(failure_type::cascading);
  ASSERT_EQ(cascading.size(), 2u);
  std::set<std::string> services;
  for (const auto& d : cascading) {
    services.insert(d.service.value);
    EXPECT_EQ(d.level, severity::critical);
    EXPECT_TRUE(d.affects_primary);
    EXPECT_TRUE(has(d.evidence, "(root cause: primary db-a of db, since recovered or failed over)"))
        << d.evidence;
    EXPECT_TRUE(has(d.evidence, "db is the service to fail over")) << d.evidence;
  }
  EXPECT_EQ(services, (std::set<std::string>{"cache", "app"}));
  EXPECT_EQ(of_type(failure_type::unreachable).size(), 1u) << "db-a's, the one acted on";
}

TEST_F(classification_test, with_a_cascade_hold_dependents_failing_at_the_same_moment_wait) {
  cfg->orchestrator.detection.cascade_hold = 3s;
  cfg->services = {service("db"), service("app", {"db"})};
  start();
  // The dependent's failure may reach the classifier first: the hold covers it.
  (*up)["app-a"] = false;
  (*up)["db-a"] = false;
  advance(10s);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ(jobs->front().plan.service.value, "db");
  auto cascading = of_type(failure_type::cascading);
  ASSERT_EQ(cascading.size(), 1u);
  EXPECT_EQ(cascading[0].instance.value, "app-a");
  EXPECT_TRUE(has(cascading[0].evidence, "root cause: primary db-a of db"))
      << cascading[0].evidence;
}

TEST_F(classification_test, a_dependent_that_failed_first_without_a_hold_is_reclassified) {
  auto app = service("app", {"db"});
  app.health_check.fall = 1; // app notices the outage a probe before db's own checks do
  cfg->services = {service("db"), app};
  start();
  (*up)["db-a"] = false;
  (*up)["app-a"] = false;
  advance(1s); // app-a unhealthy: acted on at once (no cascade hold configured)
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ(jobs->front().plan.service.value, "app");
  advance(1s); // db-a unhealthy
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ(jobs->back().plan.service.value, "db");
  auto cascading = of_type(failure_type::cascading);
  ASSERT_EQ(cascading.size(), 1u);
  EXPECT_EQ(cascading[0].instance.value, "app-a");
  // The fake runner completed app's failover at once.
  EXPECT_TRUE(has(cascading[0].evidence,
                  "root cause: primary db-a of db): app is not failed over for it, db is the "
                  "service to fail over; its unreachable detection #1 came first and was acted "
                  "on: app has been failed over already (its primary is now app-b)"))
      << cascading[0].evidence;
}

TEST_F(classification_test, a_reload_hands_the_classifier_new_dependencies) {
  cfg->services = {service("db"), service("app")};
  start();
  auto next = std::make_shared<config::switchyard_config>(*cfg);
  next->services[1].depends_on = {"db"};
  auto error = std::make_shared<std::string>();
  sys.spawn(reload_request, coord, config_update{next}, error);
  run();
  ASSERT_EQ(*error, "");
  (*up)["db-a"] = false;
  advance(1s);
  (*up)["app-a"] = false;
  advance(5s);
  ASSERT_EQ(jobs->size(), 1u) << "app now depends on db";
  EXPECT_EQ(jobs->front().plan.service.value, "db");
  EXPECT_EQ(of_type(failure_type::cascading).size(), 1u);
}

// -- flapping ------------------------------------------------------------------

TEST_F(classification_test, a_flapping_primary_fails_over_at_most_once_per_block_period) {
  auto web = service("web");
  web.block_period = 5min;
  cfg->services = {web};
  start();
  // For 10 minutes, every 2 s, the primary and the standby swap between up
  // and down: whichever is primary keeps failing.
  for (int k = 0; k < 300; ++k) {
    (*up)["web-a"] = k % 2 == 1;
    (*up)["web-b"] = k % 2 == 0;
    advance(2s);
  }
  // The first failover at about 2 s; every later failure of the new primary
  // falls inside its block period until about 5 min later, then one more;
  // the next would be after 10 min.
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ(jobs->at(0).to.value, "web-b");
  EXPECT_EQ(jobs->at(1).to.value, "web-a");

  auto flapping = of_type(failure_type::flapping);
  std::map<std::string, int> per_instance;
  for (const auto& d : flapping) {
    ++per_instance[d.instance.value];
    EXPECT_EQ(d.level, severity::warning);
  }
  // More than 6 transitions within 2 min, reported once per 2 min window.
  EXPECT_EQ(per_instance, (std::map<std::string, int>{{"web-a", 5}, {"web-b", 5}}));
  int noted = 0;
  for (const auto& d : of_type(failure_type::unreachable))
    noted += has(d.evidence, "; flapping: ") ? 1 : 0;
  EXPECT_GT(noted, 100) << "its failures are still reported, saying it flaps";
}

TEST_F(classification_test, flapping_counts_the_transitions_seen_before_a_restart) {
  cfg->services = {service("web")};
  {
    // An earlier switchyardd saw web-b go down and up 5 times in the last minute.
    auto db = persistence::sqlite_store::open(cfg->database_path());
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->sync_config(*cfg));
    auto now = caf::make_timestamp();
    for (int i = 0; i < 5; ++i)
      ASSERT_TRUE((*db)->record_health(
          health_transition{service_id{"web"}, instance_id{"web-b"},
                            i % 2 == 0 ? health_status::healthy : health_status::unhealthy,
                            i % 2 == 0 ? health_status::unhealthy : health_status::healthy, "test",
                            2, now - std::chrono::seconds(50 - 5 * i)}));
  }
  start(); // + unknown -> healthy here: 6 transitions within 2 min, not more
  EXPECT_TRUE(of_type(failure_type::flapping).empty());
  (*up)["web-b"] = false; // the 7th
  advance(3s);
  auto flapping = of_type(failure_type::flapping);
  ASSERT_EQ(flapping.size(), 1u) << "more than 6 transitions within 2 min, across the restart";
  EXPECT_EQ(flapping.front().instance.value, "web-b");
}

TEST_F(classification_test, a_classifier_restarted_alone_knows_the_primary_from_the_journal) {
  cfg->services = {service("web")};
  {
    // An earlier failover made web-b the primary (epoch 7).
    auto db = persistence::sqlite_store::open(cfg->database_path());
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->sync_config(*cfg));
    auto id = (*db)->begin_switchover(switchover_start{
        service_id{"web"}, switchover_kind::automatic_failover, instance_id{"web-a"},
        instance_id{"web-b"}, detection_id{0}, 0, epoch{7}, "test"});
    ASSERT_TRUE(id);
    ASSERT_TRUE((*db)->finish_switchover(
        switchover_finish{*id, service_id{"web"}, switchover_status::completed,
                          instance_id{"web-b"}, epoch{7}, "done"}));
  }
  start();
  // The supervisor restarts the classifier alone: the coordinator, which told
  // the old one the primary when it loaded the topology, says nothing new.
  caf::anon_send_exit(peers->actor(peer::classifier), caf::exit_reason::kill);
  run();
  auto classifier = sys.spawn(failure_classifier, peers);
  caf::anon_send(classifier, config_update{cfg}); // as the supervisor's spawn function does
  peers->set(peer::classifier, classifier);
  run();

  (*up)["web-b"] = false;
  advance(3s);
  auto unreachable = of_type(failure_type::unreachable);
  ASSERT_EQ(unreachable.size(), 1u);
  EXPECT_EQ(unreachable.front().instance.value, "web-b");
  EXPECT_TRUE(unreachable.front().affects_primary)
      << "the restarted classifier took the configured primary (web-a) for the real one";
  EXPECT_EQ(unreachable.front().level, severity::critical);
}

// -- site disasters --------------------------------------------------------------

TEST_F(classification_test, a_site_losing_most_instances_is_one_site_wide_detection_no_failover) {
  cfg->orchestrator.detection.site_disaster = config::site_disaster_settings{0.5, 10s, 2};
  cfg->services = {service("a"), service("b"), service("c")}; // primaries in dc1
  start();
  for (const auto* name : {"a-a", "b-a", "c-a"})
    (*up)[name] = false;
  advance(60s);
  EXPECT_TRUE(jobs->empty()) << "no storm of per-service failovers";
  auto site = of_type(failure_type::site_wide);
  ASSERT_EQ(site.size(), 1u);
  EXPECT_EQ(site[0].level, severity::critical);
  EXPECT_TRUE(has(site[0].evidence, "site dc1 is down: ")) << site[0].evidence;
  EXPECT_TRUE(has(site[0].evidence, "recommend a site switchover")) << site[0].evidence;
  auto held = of_type(failure_type::unreachable);
  ASSERT_EQ(held.size(), 3u) << "each primary's failure is still recorded";
  for (const auto& d : held)
    EXPECT_TRUE(has(d.evidence, "site dc1 is down")) << d.evidence;
}

TEST_F(classification_test, with_site_disaster_configured_a_single_failure_fails_over_after_hold) {
  cfg->orchestrator.detection.site_disaster = config::site_disaster_settings{0.5, 10s, 2};
  cfg->services = {service("a"), service("b"), service("c")};
  start();
  (*up)["a-a"] = false;
  advance(2s); // unhealthy now: held for the 10 s window
  EXPECT_TRUE(jobs->empty());
  EXPECT_TRUE(detections().empty()) << "persisted when its hold ends";
  advance(9s);
  EXPECT_TRUE(jobs->empty()) << "still inside the site-disaster window";
  advance(1s);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ(jobs->front().from.value, "a-a");
  auto d = of_type(failure_type::unreachable);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(has(d[0].evidence, "held 10s for the site-disaster check of site dc1"))
      << d[0].evidence;
  EXPECT_TRUE(of_type(failure_type::site_wide).empty());
}

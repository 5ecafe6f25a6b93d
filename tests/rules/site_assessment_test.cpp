// The impact assessment of a site switchover, pure: participants, order
// (dependency levels), targets, blockers, batches and the estimated RTO.
#include <gtest/gtest.h>

#include "config/loader.hpp"
#include "rules/site_assessment.hpp"

using namespace switchyard;
using namespace switchyard::actors;

namespace {

const char* const yaml = R"(
orchestrator:
  site_switchover: {parallelism: 1}
sites:
  - {name: dc1}
  - {name: dc2}
services:
  - name: db
    instances:
      - {name: db-a, address: 127.0.0.1:1, site: dc1, role: primary}
      - {name: db-b, address: 127.0.0.1:2, site: dc2, role: standby, priority: 50}
      - {name: db-c, address: 127.0.0.1:3, site: dc2, role: standby, priority: 90}
    health_check: {type: tcp}
    strategy: {type: active_passive}
  - name: app
    depends_on: [cache]
    instances:
      - {name: app-a, address: 127.0.0.1:4, site: dc1, role: primary}
      - {name: app-b, address: 127.0.0.1:5, site: dc2, role: standby}
    health_check: {type: tcp}
    strategy: {type: active_passive}
  - name: cache
    depends_on: [db]
    instances:
      - {name: cache-a, address: 127.0.0.1:6, site: dc1, role: primary}
      - {name: cache-b, address: 127.0.0.1:7, site: dc2, role: standby}
    health_check: {type: tcp}
    strategy: {type: active_passive}
  - name: local
    instances:
      - {name: local-a, address: 127.0.0.1:8, site: dc1, role: primary}
      - {name: local-b, address: 127.0.0.1:9, site: dc1, role: standby}
    health_check: {type: tcp}
    strategy: {type: active_passive}
)";

class site_assessment_test : public ::testing::Test {
protected:
  void SetUp() override {
    auto loaded = config::load_config_text(yaml, "sites.yaml");
    ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors.front().message);
    cfg = loaded.config;
    for (const auto& svc : cfg.services) {
      service_state st;
      st.service = service_id{svc.name};
      st.primary = instance_id{svc.name + "-a"};
      for (const auto& inst : svc.instances)
        st.instances.push_back({instance_id{inst.name}, health_status::healthy});
      states.push_back(st);
    }
  }

  site_record assess(site_operation op = site_operation::switchover) {
    return assess_site({&cfg, states, "dc1", "dc2", op, {}});
  }

  void set_health(const std::string& instance, health_status h) {
    for (auto& st : states)
      for (auto& i : st.instances)
        if (i.instance.value == instance)
          i.status = h;
  }

  config::switchyard_config cfg;
  service_state_list states;
};

TEST_F(site_assessment_test, orders_dependencies_first_and_skips_site_local_services) {
  auto r = assess();
  EXPECT_TRUE(r.blockers.empty());
  ASSERT_EQ(r.participants.size(), 3u);
  EXPECT_EQ(r.participants[0].service.value, "db");
  EXPECT_EQ(r.participants[0].level, 0u);
  EXPECT_EQ(r.participants[1].service.value, "cache");
  EXPECT_EQ(r.participants[1].level, 1u);
  EXPECT_EQ(r.participants[2].service.value, "app");
  EXPECT_EQ(r.participants[2].level, 2u);
  ASSERT_EQ(r.untouched.size(), 1u);
  EXPECT_NE(r.untouched[0].find("local: no instance on site dc2"), std::string::npos);
}

TEST_F(site_assessment_test, picks_the_healthy_target_with_the_highest_priority) {
  EXPECT_EQ(assess().participants[0].to.value, "db-c");
  set_health("db-c", health_status::unhealthy);
  EXPECT_EQ(assess().participants[0].to.value, "db-b");
  auto preferred =
      assess_site({&cfg, states, "dc1", "dc2", site_operation::switchover, {{"db", "db-b"}}});
  EXPECT_EQ(preferred.participants[0].to.value, "db-b");
}

TEST_F(site_assessment_test, names_what_blocks_it) {
  set_health("cache-b", health_status::unhealthy);
  auto r = assess();
  ASSERT_EQ(r.blockers.size(), 1u);
  EXPECT_EQ(r.blockers[0],
            "cache: no healthy instance on site dc2 (not in maintenance): cache-b is unhealthy");
  states[0].maintenance.push_back({service_id{"db"}, instance_id{}, "upgrade", "ops", 1, 0});
  EXPECT_EQ(assess().blockers.size(), 2u);
  auto unknown = assess_site({&cfg, states, "dc1", "dc9", site_operation::switchover, {}});
  ASSERT_FALSE(unknown.blockers.empty());
  EXPECT_EQ(unknown.blockers[0], "no site named 'dc9'");
}

TEST_F(site_assessment_test, a_failback_needs_every_instance_of_the_site_it_returns_to) {
  // Primaries on dc2 now; a failback needs all of dc1 healthy, not only the targets.
  for (auto& st : states)
    st.primary = instance_id{st.service.value == "db" ? "db-c" : st.service.value + "-b"};
  states[3].primary = instance_id{"local-a"};
  set_health("cache-a", health_status::unhealthy);
  auto back = assess_site({&cfg, states, "dc2", "dc1", site_operation::failback, {}});
  ASSERT_EQ(back.blockers.size(), 1u);
  EXPECT_NE(back.blockers[0].find("cache: no healthy instance on site dc1"), std::string::npos);
  set_health("cache-a", health_status::healthy);
  EXPECT_TRUE(
      assess_site({&cfg, states, "dc2", "dc1", site_operation::failback, {}}).blockers.empty());
}

TEST_F(site_assessment_test, a_drill_is_refused_when_its_failback_could_not_run) {
  // db-x: a second db instance on dc1, down. A failback to dc1 needs all of
  // dc1 healthy, so a drill (over and back) would strand db on dc2.
  for (auto& svc : cfg.services)
    if (svc.name == "db")
      svc.instances.push_back(
          {"db-x", "127.0.0.1", 10, "dc1", config::instance_role::standby, 10, {}});
  states[0].instances.push_back({instance_id{"db-x"}, health_status::unhealthy});
  auto drill = assess_site({&cfg, states, "dc1", "dc2", site_operation::drill, {}, {}, true});
  ASSERT_EQ(drill.blockers.size(), 1u);
  EXPECT_EQ(drill.blockers[0],
            "db: its failback to site dc1 could not run: db-x is unhealthy; the drill would leave "
            "it on site dc2 (bring db-x back first, or drill with --no-failback)");
  // A site switchover (or a drill that stays) may run: moving away from
  // trouble is what it is for. It says so.
  for (auto op : {site_operation::switchover, site_operation::drill}) {
    auto r = assess_site({&cfg, states, "dc1", "dc2", op, {}, {}, false});
    EXPECT_TRUE(r.blockers.empty()) << to_string(op);
    EXPECT_EQ(r.detail, "warning: a failback to site dc1 could not run now (it needs every "
                        "instance there healthy): db: db-x is unhealthy; a DR drill (over and "
                        "back) would be refused");
  }
  // The primary itself down (a forced move): the same for the way back.
  set_health("db-x", health_status::healthy);
  set_health("app-a", health_status::unhealthy);
  auto forced = assess_site({&cfg, states, "dc1", "dc2", site_operation::drill, {}, {}, true});
  ASSERT_EQ(forced.blockers.size(), 1u);
  EXPECT_NE(forced.blockers[0].find("app: its failback to site dc1 could not run: app-a is "
                                    "unhealthy"),
            std::string::npos)
      << forced.blockers[0];
  set_health("app-a", health_status::healthy);
  auto fine = assess_site({&cfg, states, "dc1", "dc2", site_operation::drill, {}, {}, true});
  EXPECT_TRUE(fine.blockers.empty());
  EXPECT_TRUE(fine.detail.empty());
}

TEST_F(site_assessment_test, a_drills_failback_moves_back_only_what_the_drill_moved) {
  // After the drill's switchover of db alone: db and app (whose primary was
  // on dc2 before the drill, and whose dc1 instance is down) are on dc2.
  for (auto& st : states)
    if (st.service.value == "db")
      st.primary = instance_id{"db-c"};
    else if (st.service.value == "app")
      st.primary = instance_id{"app-b"};
  set_health("app-a", health_status::unhealthy);
  auto all = assess_site({&cfg, states, "dc2", "dc1", site_operation::drill_failback, {}});
  EXPECT_FALSE(all.blockers.empty()) << "app has no healthy target on dc1";
  auto back = assess_site(
      {&cfg, states, "dc2", "dc1", site_operation::drill_failback, {{"db", "db-a"}}, {"db"}});
  EXPECT_TRUE(back.blockers.empty()) << back.blockers.front();
  ASSERT_EQ(back.participants.size(), 1u);
  EXPECT_EQ(back.participants[0].service.value, "db");
  EXPECT_EQ(back.participants[0].to.value, "db-a");
  bool app_untouched = false;
  for (const auto& u : back.untouched)
    app_untouched |= u == "app: not moved by the drill (primary app-b)";
  EXPECT_TRUE(app_untouched);
}

TEST_F(site_assessment_test, estimates_rto_per_level_in_batches_of_the_parallelism) {
  site_record r;
  r.parallelism = 2;
  auto add = [&](std::uint32_t level, std::int64_t ms) {
    site_participant p;
    p.level = level;
    p.estimated_ms = ms;
    r.participants.push_back(p);
  };
  add(0, 100);
  add(0, 300);
  add(0, 50); // a second batch at level 0
  add(1, 70);
  EXPECT_EQ(level_batches(r, 0, 2).size(), 2u);
  EXPECT_EQ(estimate_rto(r), 300 + 50 + 70);
  r.parallelism = 3;
  EXPECT_EQ(estimate_rto(r), 300 + 70);
}

TEST_F(site_assessment_test, a_drill_starts_from_the_site_with_most_primaries) {
  EXPECT_EQ(busiest_site(cfg, states, "dc2"), "dc1");
  EXPECT_EQ(busiest_site(cfg, states, "dc1"), "");
}

} // namespace

// The site-level runbook of the plan export and the DOT site clusters.
#include <gtest/gtest.h>

#include "renderers/plan_export.hpp"
#include "renderers/site_runbook.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::renderers;

namespace {

config::service_settings service(std::string name, std::vector<std::string> depends_on,
                                 std::string primary_site) {
  config::service_settings s;
  s.name = name;
  s.depends_on = std::move(depends_on);
  s.objective.rto = 2min;
  s.objective.rpo = 1s;
  auto other = primary_site == "dc1" ? std::string{"dc2"} : std::string{"dc1"};
  s.instances.push_back(
      {name + "-a", "10.0.0.1", 80, primary_site, config::instance_role::primary, 100, {}});
  s.instances.push_back(
      {name + "-b", "10.0.0.2", 80, other, config::instance_role::standby, 90, {}});
  return s;
}

plan_export_entry entry(const config::service_settings& s, std::chrono::milliseconds estimate) {
  plan_export_entry e;
  e.service = &s;
  e.current_primary = s.instances[0].name;
  failover_plan p;
  p.service = service_id{s.name};
  p.primary_targets = {instance_id{s.instances[0].name}};
  p.secondary_targets = {instance_id{s.instances[1].name}};
  p.rollback_criteria = {"the new primary fails verification"};
  plan_step fence;
  fence.sequence = 1;
  fence.phase = step_phase::fence;
  fence.name = "fence-old";
  fence.action_kind = "exec";
  fence.target = instance_id{s.instances[0].name};
  fence.timeout = 2s;
  plan_step promote;
  promote.sequence = 2;
  promote.phase = step_phase::promote;
  promote.name = "promote";
  promote.action_kind = "exec";
  promote.target = instance_id{s.instances[1].name};
  promote.timeout = 5s;
  p.steps = {fence, promote};
  p.estimated_failover_time = estimate;
  e.plan = p;
  return e;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class site_runbook_test : public ::testing::Test {
protected:
  config::service_settings db = service("db", {}, "dc1");
  config::service_settings cache = service("cache", {"db"}, "dc1");
  config::service_settings web = service("web", {"cache", "db"}, "dc1");
  config::service_settings queue = service("queue", {}, "dc1");
  config::service_settings batch = service("batch", {"db"}, "dc2");

  std::vector<plan_export_entry> entries() const {
    return {entry(web, 40s), entry(cache, 20s), entry(db, 30s), entry(queue, 10s),
            entry(batch, 5s)};
  }
};

} // namespace

TEST_F(site_runbook_test, levels_follow_the_dependencies) {
  auto levels = dependency_levels(entries());
  EXPECT_EQ(levels.at("db"), 0u);
  EXPECT_EQ(levels.at("queue"), 0u);
  EXPECT_EQ(levels.at("cache"), 1u);
  EXPECT_EQ(levels.at("batch"), 1u);
  EXPECT_EQ(levels.at("web"), 2u);
}

TEST_F(site_runbook_test, plan_orders_by_level_and_sums_the_longest_per_batch) {
  auto all = entries();
  auto plan = plan_site_switchover(all, "dc1", "dc2", 4);
  ASSERT_EQ(plan.services.size(), 4u);
  EXPECT_EQ(plan.services[0].entry->service->name, "db");
  EXPECT_EQ(plan.services[1].entry->service->name, "queue");
  EXPECT_EQ(plan.services[2].entry->service->name, "cache");
  EXPECT_EQ(plan.services[3].entry->service->name, "web");
  EXPECT_EQ(plan.services[3].level, 2u);
  EXPECT_EQ(plan.services[0].to, "db-b");
  EXPECT_EQ(plan.untouched, std::vector<std::string>{"batch"});
  // level 0: max(30, 10) + level 1: 20 + level 2: 40
  EXPECT_EQ(plan.estimated_rto_ms, 90'000);
  // One at a time: every estimate adds up.
  EXPECT_EQ(plan_site_switchover(all, "dc1", "dc2", 1).estimated_rto_ms, 100'000);
}

TEST_F(site_runbook_test, a_service_without_an_instance_on_the_target_site_is_blocked) {
  auto lonely = service("lonely", {}, "dc1");
  lonely.instances.pop_back();
  std::vector<plan_export_entry> all{entry(db, 1s)};
  plan_export_entry e;
  e.service = &lonely;
  e.current_primary = "lonely-a";
  e.note = "no standby";
  all.push_back(e);
  auto plan = plan_site_switchover(all, "dc1", "dc2", 4);
  ASSERT_EQ(plan.services.size(), 2u);
  EXPECT_EQ(plan.services[1].blocker, "no instance on site dc2");
  EXPECT_EQ(plan.services[1].to, "");
}

TEST_F(site_runbook_test, backup_summary_checks_3_2_1) {
  config::objectives o;
  EXPECT_EQ(backup_summary(o), "not declared");
  o.backup = config::backup_settings{3, 2, 1};
  EXPECT_EQ(backup_summary(o), "3 copies, 2 media, 1 offsite: meets 3-2-1");
  o.backup = config::backup_settings{2, 1, 0};
  EXPECT_EQ(backup_summary(o), "2 copies, 1 media, 0 offsite: **does not meet 3-2-1** (needs 1 "
                               "more copy, 1 more kind of media, an offsite copy)");
}

TEST_F(site_runbook_test, measured_backups_replace_the_declared_ones) {
  backup_compliance_row row;
  row.service = "db";
  row.copies = 2;
  row.media = 2;
  row.offsite = 1;
  row.age_ms = 3 * 3'600'000;
  row.rpo_ms = 3'600'000;
  EXPECT_EQ(measured_backup_summary(row),
            "2 verified copies, 2 media, 1 offsite: **does not meet 3-2-1**; newest verified 3 h "
            "old (**past the RPO of 1 h**)");
  row.copies = 3;
  row.meets_3_2_1 = true;
  row.rpo_met = true;
  row.age_ms = 1'800'000;
  EXPECT_EQ(measured_backup_summary(row), "3 verified copies, 2 media, 1 offsite: meets 3-2-1; "
                                          "newest verified 30 m old (RPO 1 h)");
  row.age_ms = -1;
  EXPECT_EQ(measured_backup_summary(row),
            "3 verified copies, 2 media, 1 offsite: meets 3-2-1; **no verified backup**");
  db.objective.backup = config::backup_settings{3, 2, 1};
  auto all = entries();
  all[2].backups = row; // db
  auto md = site_runbook_markdown(all, plan_export_context{});
  EXPECT_TRUE(has(md, "| db | dc1 | 2 m | 1 s | 30 s | 3 verified copies")) << md;
  EXPECT_FALSE(has(md, "(declared)")) << "measured, not declared: " << md;
}

TEST_F(site_runbook_test, markdown_has_every_pair_levels_steps_and_rollback) {
  db.objective.backup = config::backup_settings{3, 2, 1};
  plan_export_context ctx;
  ctx.sites = {{"dc1", "main", {}}, {"dc2", "backup", {}}, {"dc3", "cold", {}}};
  ctx.parallelism = 4;
  auto md = site_runbook_markdown(entries(), ctx);
  for (const char* part :
       {"# Site switchover runbook", "Sites: dc1, dc2, dc3.", "## Objectives per service",
        "| db | dc1 | 2 m | 1 s | 30 s | 3 copies, 2 media, 1 offsite: meets 3-2-1 (declared) |",
        "| web | dc1 | 2 m | 1 s | 40 s | not declared |", "## From dc1 to dc2",
        "## From dc1 to dc3", "## From dc2 to dc1", "## From dc2 to dc3",
        "Estimated RTO: **1 m 30 s**", "#### Level 0 (longest estimate 30 s)",
        "#### Level 2 (longest estimate 40 s)",
        "- **db**: db-a → db-b, estimated 30 s (RTO 2 m, RPO 1 s)",
        "  2. promote `promote` on db-b (exec), timeout 5 s; at most 7 s elapsed",
        "Untouched (primary not on dc1): batch.", "### Roll back if",
        "aborts the whole site switchover", "switchyard site failback --from dc2 --to dc1",
        "- web: the new primary fails verification"})
    EXPECT_TRUE(has(md, part)) << "missing: " << part << "\n" << md;
  // dc3 has no instance: every service is blocked there.
  EXPECT_TRUE(has(md, "- **db**: db-a → ? — **blocked**: no instance on site dc3")) << md;
  // No pair from dc3, which holds no primary.
  EXPECT_FALSE(has(md, "## From dc3")) << md;
  EXPECT_LT(md.find("#### Level 0"), md.find("#### Level 1"));
}

TEST_F(site_runbook_test, the_markdown_export_ends_with_the_site_runbook) {
  db.objective.backup = config::backup_settings{1, 1, 0};
  auto md = render_plans(entries(), export_format::markdown, "2024-05-01T12:00:00Z");
  EXPECT_TRUE(has(md, "- Backups: 1 copies, 1 media, 0 offsite: **does not meet 3-2-1**")) << md;
  EXPECT_TRUE(has(md, "- Backups: not declared")) << md;
  auto site = md.find("# Site switchover runbook");
  ASSERT_NE(site, std::string::npos) << md;
  EXPECT_GT(site, md.find("## batch"));
}

TEST_F(site_runbook_test, dot_has_a_cluster_per_site_with_services_dependencies_and_order) {
  plan_export_context ctx;
  auto dot = render_plans(entries(), export_format::dot, "2024-05-01T12:00:00Z", ctx);
  for (const char* part :
       {"subgraph \"cluster_dc1\" {",
        "label=\"dc1\\nswitchover order: 1. db, queue 2. cache 3. web\"",
        "subgraph \"cluster_dc2\" {", "label=\"dc2\\nswitchover order: 2. batch\"",
        "subgraph \"cluster_dc1_web\" {",
        "\"web@dc1\" [shape=folder, style=\"\", label=\"web\\nswitchover level 3\"]",
        "\"web@dc1\" -> \"cache@dc1\" [label=\"depends on\", style=dashed]",
        "\"web@dc2\" -> \"db@dc2\" [label=\"depends on\", style=dashed]",
        "\"db@dc1\" -> \"db/db-a\" [arrowhead=none, style=dotted]",
        "\"db/db-a\" -> \"db/db-b\" [label=\"fails over to\""})
    EXPECT_TRUE(has(dot, part)) << "missing: " << part << "\n" << dot;
}

TEST_F(site_runbook_test, a_dependency_through_a_service_that_stays_still_orders_the_work) {
  // front (dc1) -> middle (dc2, stays) -> db (dc1): front after db, one level up.
  auto middle = service("middle", {"db"}, "dc2");
  auto front = service("front", {"middle"}, "dc1");
  std::vector<plan_export_entry> all{entry(front, 1s), entry(middle, 1s), entry(db, 1s)};
  auto plan = plan_site_switchover(all, "dc1", "dc2", 4);
  ASSERT_EQ(plan.services.size(), 2u);
  EXPECT_EQ(plan.services[0].entry->service->name, "db");
  EXPECT_EQ(plan.services[0].level, 0u);
  EXPECT_EQ(plan.services[1].entry->service->name, "front");
  EXPECT_EQ(plan.services[1].level, 1u);
  EXPECT_EQ(plan.estimated_rto_ms, 2'000);
}

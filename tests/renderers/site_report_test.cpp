// The drill report as Markdown and a site switchover as CLI text.
#include <gtest/gtest.h>

#include "renderers/site_report.hpp"

using namespace switchyard;
using namespace switchyard::renderers;

namespace {

drill_report sample_drill() {
  drill_report r;
  r.id = 12;
  r.from_site = "dc1";
  r.to_site = "dc2";
  r.principal = "alice";
  r.failback = true;
  r.passed = false;
  r.started_ms = 1'714'564'800'000; // 2024-05-01T12:00:00Z
  r.finished_ms = 1'714'564'890'000;
  r.rto_ms = 42'500;
  r.switchover = 3;
  r.failback_switchover = 4;
  r.topology_restored = true;
  drill_service_result db;
  db.service = service_id{"db"};
  db.passed = true;
  db.rto_ms = 8'000;
  db.rto_objective_ms = 60'000;
  db.rpo = 0;
  db.rpo_objective_ms = 1'000;
  db.detail = "ok";
  db.steps = {{"fence-old", "fence", true, 120}, {"promote", "promote", true, 3'400}};
  db.checks = {{"available", true, "healthy after 2 s"}, {"integrity:checksum", true, "a|b"}};
  drill_service_result cache;
  cache.service = service_id{"cache"};
  cache.passed = false;
  cache.rto_ms = -1;
  cache.rto_objective_ms = 5'000;
  cache.rpo = -1;
  cache.rpo_objective_ms = 0;
  cache.detail = "not available on dc2 within 30 s";
  cache.checks = {{"available", false, "timed out"}};
  r.services = {db, cache};
  return r;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST(site_report, human_duration_and_utc) {
  EXPECT_EQ(human_duration(0), "0 ms");
  EXPECT_EQ(human_duration(42'500), "42 s 500 ms");
  EXPECT_EQ(human_duration(3'660'000), "1 h 1 m");
  EXPECT_EQ(utc_iso8601(1'714'564'800'000), "2024-05-01T12:00:00Z");
  EXPECT_EQ(utc_iso8601(0), "-");
}

TEST(site_report, drill_markdown_header) {
  auto md = drill_report_markdown(sample_drill());
  EXPECT_EQ(md.rfind("# DR drill #12: dc1 → dc2\n", 0), 0u) << md;
  for (const char* part :
       {"- **Result: FAIL**", "from **dc1** to **dc2**, then back to **dc1**", "- Run by: alice",
        "- Started: 2024-05-01T12:00:00Z", "- Finished: 2024-05-01T12:01:30Z",
        "- Overall RTO: 42 s 500 ms", "- Topology restored: yes",
        "- Site switchover: #3; failback: #4", "1 of 2 passed."})
    EXPECT_TRUE(has(md, part)) << "missing: " << part << "\n" << md;
}

TEST(site_report, drill_markdown_service_table_and_sections) {
  auto md = drill_report_markdown(sample_drill());
  EXPECT_TRUE(has(md, "| db | PASS | 8 s | 1 m | gap 0 | 1 s | ok |")) << md;
  EXPECT_TRUE(has(md, "| cache | FAIL | not reached | 5 s | unknown | 0 (no loss) | not available "
                      "on dc2 within 30 s |"))
      << md;
  EXPECT_TRUE(has(md, "### db (PASS)")) << md;
  EXPECT_TRUE(has(md, "| 2 | promote | promote | ok | 3 s 400 ms |")) << md;
  EXPECT_TRUE(has(md, "Steps took 3 s 520 ms in all.")) << md;
  EXPECT_TRUE(has(md, "| integrity:checksum | ok | a\\|b |")) << md;
  EXPECT_TRUE(has(md, "### cache (FAIL)")) << md;
  EXPECT_TRUE(has(md, "| available | failed | timed out |")) << md;
  // db's section comes before cache's, in report order.
  EXPECT_LT(md.find("### db"), md.find("### cache"));
}

TEST(site_report, drill_without_failback_or_services) {
  drill_report r;
  r.id = 1;
  r.from_site = "a";
  r.to_site = "b";
  r.failback = false;
  r.passed = true;
  auto md = drill_report_markdown(r);
  EXPECT_TRUE(has(md, "- **Result: PASS**")) << md;
  EXPECT_TRUE(has(md, "(no failback)")) << md;
  EXPECT_TRUE(has(md, "- Topology restored: n/a (no failback)")) << md;
  EXPECT_TRUE(has(md, "- Overall RTO: not reached")) << md;
  EXPECT_TRUE(has(md, "No service took part.")) << md;
}

namespace {

site_record sample_assessment() {
  site_record r;
  r.id = 0;
  r.from_site = "dc1";
  r.to_site = "dc2";
  r.parallelism = 2;
  r.estimated_rto_ms = 90'000;
  r.blockers = {"cache: no healthy instance on dc2"};
  r.untouched = {"batch"};
  site_participant db;
  db.service = service_id{"db"};
  db.from = instance_id{"db-a"};
  db.to = instance_id{"db-c"};
  db.level = 0;
  db.estimated_ms = 30'000;
  db.rto_ms = 60'000;
  db.rpo_ms = 1'000;
  db.gap = 512;
  site_participant cache;
  cache.service = service_id{"cache"};
  cache.from = instance_id{"cache-a"};
  cache.level = 1;
  cache.estimated_ms = 60'000;
  cache.rto_ms = 120'000;
  cache.gap = -1;
  cache.blocker = "no healthy instance on dc2";
  r.participants = {db, cache};
  return r;
}

} // namespace

TEST(site_report, assessment_text) {
  auto text = site_record_text(sample_assessment());
  for (const char* part :
       {"Assessment of a site switchover from dc1 to dc2 (dry run: nothing was changed)",
        "Can run now: NO", "Services: 2; parallelism 2 per level; estimated RTO 1 m 30 s",
        "Blockers:\n  - cache: no healthy instance on dc2", "Untouched (no primary on dc1): batch",
        "  Level 0 (1 service, longest estimate 30 s):\n    db: db-a -> db-c  [pending]",
        "      estimated 30 s; RTO 1 m; RPO 1 s; data at risk: gap 512",
        "  Level 1 (1 service, longest estimate 1 m):\n    cache: cache-a -> ?  [pending]",
        "data at risk: unknown", "      BLOCKED: no healthy instance on dc2"})
    EXPECT_TRUE(has(text, part)) << "missing: " << part << "\n" << text;
  EXPECT_LT(text.find("Level 0"), text.find("Level 1"));
}

TEST(site_report, result_text) {
  auto r = sample_assessment();
  r.id = 5;
  r.state = site_state::completed;
  r.principal = "bob";
  r.reason = "DC1 power work";
  r.blockers.clear();
  r.started_ms = 1'714'564'800'000;
  r.decided_ms = 1'714'564'805'000;
  r.finished_ms = 1'714'564'860'000;
  r.participants[0].state = participant_state::committed;
  r.participants[0].switchover = switchover_id{77};
  r.participants[0].commit_started_ms = 1'714'564'805'000;
  r.participants[0].commit_finished_ms = 1'714'564'815'000;
  r.participants[0].verified_ms = 1'714'564'820'000;
  r.participants[0].verified = true;
  r.participants[0].checks = {{"available", true, "1.2 s"}, {"integrity:offset", false, "lag"}};
  auto text = site_record_text(r);
  for (const char* part :
       {"Site switchover #5 from dc1 to dc2: completed", "Requested by bob: DC1 power work",
        "Started 2024-05-01T12:00:00Z, decided 2024-05-01T12:00:05Z, finished "
        "2024-05-01T12:01:00Z (took 1 m)",
        "db: db-a -> db-c  [committed]", "switchover #77", "switched over in 10 s, verified",
        "[ok] available: 1.2 s", "[FAILED] integrity:offset: lag"})
    EXPECT_TRUE(has(text, part)) << "missing: " << part << "\n" << text;
  EXPECT_FALSE(has(text, "Blockers:")) << text;
}

// Drill reports and verification checks through JSON and back.
#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "persistence/sqlite_store.hpp"

using namespace switchyard;
using namespace switchyard::persistence;

namespace {

drill_report sample_report() {
  drill_report r;
  r.id = 7;
  r.from_site = "dc1";
  r.to_site = "dc2";
  r.principal = "alice";
  r.failback = true;
  r.passed = false;
  r.started_ms = 1'700'000'000'000;
  r.finished_ms = 1'700'000'042'000;
  r.rto_ms = 12'345;
  r.switchover = 3;
  r.failback_switchover = 4;
  r.topology_restored = true;
  r.detail = "cache missed its RTO";
  drill_service_result db;
  db.service = service_id{"db"};
  db.passed = true;
  db.rto_ms = 8'000;
  db.rto_objective_ms = 60'000;
  db.rpo = 0;
  db.rpo_objective_ms = 1'000;
  db.detail = "ok";
  db.steps = {{"fence-old", "fence", true, 120}, {"promote", "promote", true, 3'400}};
  db.checks = {{"available", true, "healthy after 2.1 s"},
               {"integrity:checksum", true, "checksum \"abc\"\nmatches"}};
  drill_service_result cache;
  cache.service = service_id{"cache"};
  cache.passed = false;
  cache.rto_ms = -1;
  cache.rto_objective_ms = 5'000;
  cache.rpo = -1;
  cache.rpo_objective_ms = 0;
  cache.detail = "never verified";
  cache.checks = {{"available", false, "not healthy within 30 s"}};
  r.services = {db, cache};
  return r;
}

void expect_same(const drill_report& a, const drill_report& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.from_site, b.from_site);
  EXPECT_EQ(a.to_site, b.to_site);
  EXPECT_EQ(a.principal, b.principal);
  EXPECT_EQ(a.failback, b.failback);
  EXPECT_EQ(a.passed, b.passed);
  EXPECT_EQ(a.started_ms, b.started_ms);
  EXPECT_EQ(a.finished_ms, b.finished_ms);
  EXPECT_EQ(a.rto_ms, b.rto_ms);
  EXPECT_EQ(a.switchover, b.switchover);
  EXPECT_EQ(a.failback_switchover, b.failback_switchover);
  EXPECT_EQ(a.topology_restored, b.topology_restored);
  EXPECT_EQ(a.detail, b.detail);
  ASSERT_EQ(a.services.size(), b.services.size());
  for (std::size_t i = 0; i < a.services.size(); ++i) {
    const auto& x = a.services[i];
    const auto& y = b.services[i];
    EXPECT_EQ(x.service, y.service);
    EXPECT_EQ(x.passed, y.passed);
    EXPECT_EQ(x.rto_ms, y.rto_ms);
    EXPECT_EQ(x.rto_objective_ms, y.rto_objective_ms);
    EXPECT_EQ(x.rpo, y.rpo);
    EXPECT_EQ(x.rpo_objective_ms, y.rpo_objective_ms);
    EXPECT_EQ(x.detail, y.detail);
    ASSERT_EQ(x.steps.size(), y.steps.size());
    for (std::size_t k = 0; k < x.steps.size(); ++k) {
      EXPECT_EQ(x.steps[k].name, y.steps[k].name);
      EXPECT_EQ(x.steps[k].phase, y.steps[k].phase);
      EXPECT_EQ(x.steps[k].ok, y.steps[k].ok);
      EXPECT_EQ(x.steps[k].duration_ms, y.steps[k].duration_ms);
    }
    ASSERT_EQ(x.checks.size(), y.checks.size());
    for (std::size_t k = 0; k < x.checks.size(); ++k) {
      EXPECT_EQ(x.checks[k].name, y.checks[k].name);
      EXPECT_EQ(x.checks[k].ok, y.checks[k].ok);
      EXPECT_EQ(x.checks[k].detail, y.checks[k].detail);
    }
  }
}

} // namespace

TEST(SiteJson, DrillReportRoundTrip) {
  auto r = sample_report();
  auto text = drill_report_to_json(r);
  auto back = drill_report_from_json(text);
  ASSERT_TRUE(back) << describe(back.error());
  expect_same(r, *back);
  // Stable: the same report gives the same text.
  EXPECT_EQ(drill_report_to_json(*back), text);
}

TEST(SiteJson, DrillReportKeysInDocumentedOrder) {
  auto text = drill_report_to_json(sample_report());
  auto pos = [&](const char* key) { return text.find(std::string("\"") + key + "\":"); };
  ASSERT_NE(pos("id"), std::string::npos);
  EXPECT_LT(pos("id"), pos("from_site"));
  EXPECT_LT(pos("from_site"), pos("to_site"));
  EXPECT_LT(pos("passed"), pos("rto_ms"));
  EXPECT_LT(pos("topology_restored"), pos("services"));
  EXPECT_NE(text.find("\"rpo\": -1"), std::string::npos);
  EXPECT_NE(text.find("\"duration_ms\": 3400"), std::string::npos);
}

TEST(SiteJson, EmptyReportRoundTrip) {
  drill_report r;
  auto back = drill_report_from_json(drill_report_to_json(r));
  ASSERT_TRUE(back) << describe(back.error());
  expect_same(r, *back);
}

TEST(SiteJson, MalformedDrillReportIsAClearError) {
  auto not_json = drill_report_from_json("{not json");
  ASSERT_FALSE(not_json);
  EXPECT_NE(describe(not_json.error()).find("drill report is unreadable"), std::string::npos);
  EXPECT_NE(describe(not_json.error()).find("not a JSON object"), std::string::npos);

  auto missing = drill_report_from_json(R"({"id": 1})");
  ASSERT_FALSE(missing);
  EXPECT_NE(describe(missing.error()).find("from_site"), std::string::npos)
      << describe(missing.error());

  auto text = drill_report_to_json(sample_report());
  auto pos = text.find("\"rto_ms\": 12345");
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, 15, "\"rto_ms\": \"x\"");
  auto wrong_type = drill_report_from_json(text);
  ASSERT_FALSE(wrong_type);
  EXPECT_NE(describe(wrong_type.error()).find("unreadable"), std::string::npos);

  auto bad_services = drill_report_from_json(
      R"({"id":1,"from_site":"a","to_site":"b","principal":"p","failback":true,"passed":true,)"
      R"("started_ms":0,"finished_ms":0,"rto_ms":0,"switchover":0,"failback_switchover":0,)"
      R"("topology_restored":false,"detail":"","services":{}})");
  ASSERT_FALSE(bad_services);
  EXPECT_NE(describe(bad_services.error()).find("services"), std::string::npos);
}

TEST(SiteJson, ChecksRoundTrip) {
  std::vector<verification_check> checks{{"available", true, "1.2 s"},
                                         {"integrity:offset", false, "lag 42 bytes"},
                                         {"performance", true, ""}};
  auto text = checks_to_json(checks);
  EXPECT_LT(text.find("\"name\""), text.find("\"ok\""));
  EXPECT_LT(text.find("\"ok\""), text.find("\"detail\""));
  auto back = checks_from_json(text);
  ASSERT_TRUE(back) << describe(back.error());
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[1].name, "integrity:offset");
  EXPECT_FALSE((*back)[1].ok);
  EXPECT_EQ((*back)[1].detail, "lag 42 bytes");
  EXPECT_TRUE((*back)[2].ok);

  auto empty = checks_from_json(checks_to_json({}));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(SiteJson, MalformedChecksAreAClearError) {
  auto object = checks_from_json(R"({"name":"x"})");
  ASSERT_FALSE(object);
  EXPECT_NE(describe(object.error()).find("verification checks are unreadable"), std::string::npos);
  auto missing = checks_from_json(R"([{"name":"x","ok":true}])");
  ASSERT_FALSE(missing);
  EXPECT_NE(describe(missing.error()).find("detail"), std::string::npos)
      << describe(missing.error());
  EXPECT_FALSE(checks_from_json(""));
}

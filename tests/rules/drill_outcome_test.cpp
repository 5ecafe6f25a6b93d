// The outcome of a DR drill, pure: a drill that failed (a leg, the failback,
// the topology, or one of its services) shows no service as passed.
#include <gtest/gtest.h>

#include "rules/drill_outcome.hpp"

using namespace switchyard;
using namespace switchyard::actors;

namespace {

drill_report two_services_passed() {
  drill_report r;
  r.failback = true;
  r.rto_ms = 138;
  for (const char* name : {"db", "web"}) {
    drill_service_result s;
    s.service = service_id{name};
    s.passed = true;
    s.rto_ms = 100;
    s.detail = "switched in 100 ms, verified";
    r.services.push_back(s);
  }
  return r;
}

} // namespace

TEST(drill_outcome, passes_when_every_service_and_every_leg_did) {
  auto r = two_services_passed();
  settle_drill(r, {});
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.detail, "2 service(s) drilled, overall RTO 138 ms, topology restored");
  for (const auto& s : r.services) {
    EXPECT_TRUE(s.passed);
    EXPECT_EQ(s.detail, "switched in 100 ms, verified");
  }
}

TEST(drill_outcome, a_failed_failback_fails_every_service) {
  auto r = two_services_passed();
  settle_drill(r, {"failback: refused, nothing was changed: web: no healthy instance on site dc1",
                   "db is on db-b after the failback, it started on db-a"});
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.detail, "failback: refused, nothing was changed: web: no healthy instance on site "
                      "dc1; db is on db-b after the failback, it started on db-a");
  for (const auto& s : r.services) {
    EXPECT_FALSE(s.passed) << s.service.value;
    EXPECT_EQ(s.detail, "switched in 100 ms, verified; but the drill failed: " + r.detail);
  }
}

TEST(drill_outcome, one_failed_service_fails_the_others_too) {
  auto r = two_services_passed();
  r.services[1].passed = false;
  r.services[1].detail = "RTO 40000 ms over the objective 30000 ms";
  settle_drill(r, {});
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.detail, "2 service(s) drilled, overall RTO 138 ms, topology restored; failed: web");
  EXPECT_FALSE(r.services[0].passed);
  EXPECT_EQ(r.services[0].detail, "switched in 100 ms, verified; but the drill failed: web failed");
  EXPECT_EQ(r.services[1].detail, "RTO 40000 ms over the objective 30000 ms") << "its own reason";
}

TEST(drill_outcome, a_drill_of_nothing_does_not_pass) {
  drill_report r;
  settle_drill(r, {});
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.detail, "no service was drilled");
}

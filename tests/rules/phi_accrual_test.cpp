// phi-accrual (pure): phi against known values of the normal tail, the
// window's mean and floored deviation, and outages kept out of the window.
#include <cmath>

#include <gtest/gtest.h>

#include "rules/phi_accrual.hpp"

using namespace std::chrono_literals;
using switchyard::actors::phi_accrual;
using switchyard::actors::phi_of;

namespace {

// -log10(1 - Phi(y)) for y standard deviations above the mean, from tables of
// the normal distribution's upper tail Q(y).
double expected_phi(double tail) {
  return -std::log10(tail);
}

} // namespace

TEST(phi_accrual, phi_of_matches_the_normal_tail) {
  EXPECT_NEAR(phi_of(1.0, 1.0, 0.25), expected_phi(0.5), 1e-9);                     // y = 0
  EXPECT_NEAR(phi_of(1.25, 1.0, 0.25), expected_phi(0.15865525393145707), 1e-9);    // y = 1
  EXPECT_NEAR(phi_of(1.5, 1.0, 0.25), expected_phi(0.022750131948179209), 1e-9);    // y = 2
  EXPECT_NEAR(phi_of(1.75, 1.0, 0.25), expected_phi(0.0013498980316301), 1e-9);     // y = 3
  EXPECT_NEAR(phi_of(2.0, 1.0, 0.25), expected_phi(3.1671241833119857e-05), 1e-9);  // y = 4
  EXPECT_NEAR(phi_of(2.25, 1.0, 0.25), expected_phi(2.8665157187919333e-07), 1e-9); // y = 5
  EXPECT_NEAR(phi_of(2.5, 1.0, 0.25), expected_phi(9.8658765757868e-10), 1e-6);     // y = 6
  EXPECT_NEAR(phi_of(0.5, 1.0, 0.25), expected_phi(0.9772498680518208), 1e-9);      // y = -2
  // Familiar landmarks: phi 1 is 10%, phi 8 about 5.6 standard deviations.
  EXPECT_NEAR(phi_of(1.2815515655446004, 0.0, 1.0), 1.0, 1e-9);
  EXPECT_NEAR(phi_of(5.612001244174789, 0.0, 1.0), 8.0, 1e-6);
}

TEST(phi_accrual, phi_stays_finite_and_growing_far_out) {
  // Where erfc underflows, the asymptotic tail takes over without a jump.
  double at30 = phi_of(30.0, 0.0, 1.0);
  double at30_series = phi_of(30.000001, 0.0, 1.0);
  EXPECT_NEAR(at30, at30_series, 1e-3);
  EXPECT_NEAR(at30, 197.30, 0.05); // Q(30) = 4.906e-198
  double far = phi_of(100.0, 0.0, 1.0);
  EXPECT_TRUE(std::isfinite(far));
  EXPECT_NEAR(far, 2173.87, 0.05); // Q(100) = 1.3e-2174
  EXPECT_GT(phi_of(1000.0, 0.0, 1.0), far);
}

TEST(phi_accrual, regular_heartbeats_use_the_floor) {
  phi_accrual d{100, 250ms};
  caf::actor_clock::time_point t{};
  EXPECT_EQ(d.phi(t), 0.0) << "no heartbeat yet";
  d.heartbeat(t);
  EXPECT_EQ(d.phi(t + 5s), 0.0) << "one heartbeat gives no interval";
  for (int i = 0; i < 10; ++i)
    d.heartbeat(t += 1s);
  EXPECT_EQ(d.samples(), 10u);
  EXPECT_DOUBLE_EQ(d.mean_s(), 1.0);
  EXPECT_DOUBLE_EQ(d.std_dev_s(), 0.25); // no spread at all: the floor
  EXPECT_NEAR(d.phi(t + 1s), expected_phi(0.5), 1e-9);
  EXPECT_NEAR(d.phi(t + 2s), expected_phi(3.1671241833119857e-05), 1e-9); // 4 sigma
  EXPECT_DOUBLE_EQ(d.silence_s(t + 2500ms), 2.5);
}

TEST(phi_accrual, the_window_s_spread_counts_above_the_floor) {
  phi_accrual d{4, 10ms};
  caf::actor_clock::time_point t{};
  d.heartbeat(t);
  // Intervals 1, 3, 1, 3: mean 2, standard deviation 1.
  for (auto gap : {1s, 3s, 1s, 3s})
    d.heartbeat(t += gap);
  EXPECT_DOUBLE_EQ(d.mean_s(), 2.0);
  EXPECT_DOUBLE_EQ(d.std_dev_s(), 1.0);
  EXPECT_NEAR(d.phi(t + 4s), expected_phi(0.022750131948179209), 1e-9); // 2 sigma
  // The window keeps the last 4: after two more 2 s intervals it holds 1, 3, 2, 2.
  d.heartbeat(t += 2s);
  d.heartbeat(t += 2s);
  EXPECT_EQ(d.samples(), 4u);
  EXPECT_DOUBLE_EQ(d.mean_s(), 2.0); // 1, 3, 2, 2
  EXPECT_NEAR(d.std_dev_s(), std::sqrt(0.5), 1e-12);
}

TEST(phi_accrual, an_outage_is_not_an_interval) {
  phi_accrual d{100, 250ms};
  caf::actor_clock::time_point t{};
  d.heartbeat(t);
  for (int i = 0; i < 5; ++i)
    d.heartbeat(t += 1s);
  t += 60s; // down for a minute, then back
  d.restart(t);
  EXPECT_EQ(d.samples(), 5u);
  EXPECT_DOUBLE_EQ(d.mean_s(), 1.0);
  EXPECT_NEAR(d.phi(t + 1s), expected_phi(0.5), 1e-9);
}

// The API's bounds on client input (api_limits) and the per-address rate of
// audit rows for refused calls (refusal_limiter): pure logic, explicit clock.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/api_limits.hpp"
#include "api/refusal_limiter.hpp"
#include "switchyard/v1/switchyard.pb.h"

using namespace std::chrono_literals;
using namespace switchyard::actors;

TEST(api_limits, quote_keeps_short_input_and_cuts_long_input_to_a_prefix) {
  EXPECT_EQ(quote("web"), "web");
  EXPECT_EQ(quote(std::string(64, 'x')), std::string(64, 'x'));
  EXPECT_EQ(quote(std::string(3'000'000, 'x')), std::string(64, 'x') + "…");
}

TEST(api_limits, cuts_never_split_a_utf8_character) {
  // "é" is two bytes: 63 x + é crosses byte 64, so the cut falls before é.
  auto s = std::string(63, 'x') + "é" + std::string(10, 'y');
  EXPECT_EQ(quote(s), std::string(63, 'x') + "…");
  EXPECT_EQ(utf8_prefix("a€b", 2), "a"); // € is three bytes
  EXPECT_EQ(utf8_prefix("a€b", 4), "a€");
  EXPECT_EQ(utf8_prefix("abc", 10), "abc");
  // Not UTF-8 at all (continuation bytes only): a plain byte cut.
  EXPECT_EQ(utf8_prefix(std::string(10, '\x80'), 6).size(), 6u);
}

TEST(api_limits, clip_marks_what_it_left_out) {
  EXPECT_EQ(clip("short", 10), "short");
  EXPECT_EQ(clip(std::string(100, 'a'), 10), std::string(10, 'a') + "…[truncated 90 bytes]");
}

TEST(api_limits, audit_arguments_clip_each_string_and_the_whole) {
  nlohmann::json args{{"service", "web"}, {"reason", std::string(4'000'000, 'r')}, {"n", 3}};
  auto text = audit_arguments(args);
  EXPECT_LT(text.size(), audit_string_bytes + 200);
  auto doc = nlohmann::json::parse(text); // still JSON: each string was clipped, not the text
  EXPECT_EQ(doc["service"], "web");
  EXPECT_EQ(doc["n"], 3);
  EXPECT_EQ(doc["reason"].get<std::string>(),
            std::string(audit_string_bytes, 'r') + "…[truncated " +
                std::to_string(4'000'000 - audit_string_bytes) + " bytes]");

  nlohmann::json many = nlohmann::json::object();
  for (int i = 0; i < 20; ++i)
    many["f" + std::to_string(i)] = std::string(1000, 'z');
  auto whole = audit_arguments(many);
  EXPECT_LE(whole.size(), audit_arguments_bytes + 40);
  EXPECT_NE(whole.find("…[truncated "), std::string::npos);

  // Invalid UTF-8 is replaced, never thrown on.
  EXPECT_NO_THROW(audit_arguments(nlohmann::json{{"bad", std::string("\xc3\x28", 2)}}));
}

TEST(api_limits, every_method_of_the_service_has_a_cap_and_its_own_request_type) {
  const auto* file = switchyard::v1::GetStatusRequest::descriptor()->file();
  const auto* svc = file->FindServiceByName("Switchyard");
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(api_methods().size(), static_cast<std::size_t>(svc->method_count()));
  for (int i = 0; i < svc->method_count(); ++i) {
    const auto* m = svc->method(i);
    const auto* entry = find_api_method("/switchyard.v1.Switchyard/" + m->name());
    ASSERT_NE(entry, nullptr) << m->name();
    EXPECT_EQ(entry->request_type, m->input_type()->full_name()) << m->name();
    EXPECT_LE(entry->max_request_bytes, max_request_bytes) << m->name();
    // Only the calls that carry a free-text reason get the larger cap.
    bool has_reason = m->input_type()->FindFieldByName("reason") != nullptr;
    EXPECT_EQ(entry->max_request_bytes, has_reason ? mutation_request_cap : read_request_cap)
        << m->name();
  }
  EXPECT_EQ(find_api_method("/grpc.health.v1.Health/Check"), nullptr);
  EXPECT_EQ(find_api_method("/switchyard.v1.Switchyard/Nope"), nullptr);

  switchyard::v1::SwitchoverRequest req;
  req.set_reason(std::string(5000, 'r'));
  EXPECT_EQ(find_api_method("/switchyard.v1.Switchyard/RequestFailover")->request_size(&req),
            req.ByteSizeLong());
}

TEST(refusal_limiter, a_burst_is_recorded_then_rows_are_left_out_and_counted) {
  refusal_limiter limiter{{5, 1000ms, 100}};
  auto t0 = refusal_limiter::clock::time_point{} + 1h;
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(limiter.admit("ipv4:10.0.0.1", t0).record) << i;
  auto first = limiter.admit("ipv4:10.0.0.1", t0);
  EXPECT_FALSE(first.record);
  EXPECT_TRUE(first.first_left_out);
  for (int i = 0; i < 99; ++i) {
    auto v = limiter.admit("ipv4:10.0.0.1", t0 + 10ms);
    EXPECT_FALSE(v.record);
    EXPECT_FALSE(v.first_left_out);
  }
  EXPECT_EQ(limiter.left_out_total(), 100u);
  // Another address has its own bucket.
  EXPECT_TRUE(limiter.admit("ipv4:10.0.0.2", t0).record);
  // One refill period later one row is recorded, saying how many were left out.
  auto next = limiter.admit("ipv4:10.0.0.1", t0 + 1010ms);
  EXPECT_TRUE(next.record);
  EXPECT_EQ(next.left_out, 100u);
  EXPECT_FALSE(limiter.admit("ipv4:10.0.0.1", t0 + 1020ms).record);
  // Quiet for long enough: the whole burst again, never more.
  auto later = t0 + 1h;
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(limiter.admit("ipv4:10.0.0.1", later).record) << i;
  EXPECT_FALSE(limiter.admit("ipv4:10.0.0.1", later).record);
}

TEST(refusal_limiter, tracks_a_bounded_number_of_addresses) {
  refusal_limiter limiter{{2, 1000ms, 10}};
  auto t0 = refusal_limiter::clock::time_point{} + 1h;
  // 10 busy addresses (over their rate) fill the table...
  for (int a = 0; a < 10; ++a)
    for (int i = 0; i < 3; ++i)
      limiter.admit("ipv4:10.0.0." + std::to_string(a), t0);
  // ...so 1,000 more share one bucket instead of growing it.
  int recorded = 0;
  for (int a = 0; a < 1000; ++a)
    recorded += limiter.admit("ipv4:10.1." + std::to_string(a), t0).record ? 1 : 0;
  EXPECT_EQ(recorded, 2);
  EXPECT_LE(limiter.addresses(), 11u);
  // Once the busy ones are idle (full again, nothing owed) they are forgotten.
  auto later = t0 + 1h;
  limiter.admit("ipv4:10.0.0.0", later); // owed its count: recorded, now idle
  for (int a = 1; a < 10; ++a)
    limiter.admit("ipv4:10.0.0." + std::to_string(a), later);
  EXPECT_TRUE(limiter.admit("ipv4:10.2.0.1", later + 2s).record);
  EXPECT_LE(limiter.addresses(), 11u);
}

TEST(refusal_limiter, the_address_of_a_peer_leaves_out_the_port) {
  EXPECT_EQ(peer_address("ipv4:127.0.0.1:54321"), "ipv4:127.0.0.1");
  EXPECT_EQ(peer_address("ipv6:[::1]:54321"), "ipv6:[::1]");
  EXPECT_EQ(peer_address("ipv6:%5B::1%5D:54321"), "ipv6:%5B::1%5D");
  EXPECT_EQ(peer_address("unix:/tmp/sock"), "unix:/tmp/sock");
  EXPECT_EQ(peer_address("ipv4:127.0.0.1"), "ipv4:127.0.0.1");
}

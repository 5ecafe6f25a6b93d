// Endpoint lists (parsing, the gRPC target) and prefix ranges: pure.
#include <gtest/gtest.h>

#include "cluster/endpoints.hpp"
#include "messages/error.hpp"

using namespace switchyard::cluster;
using switchyard::describe;
using switchyard::sy_errc;

namespace {

std::string parse_error(std::string_view text) {
  auto parsed = parse_endpoints(text);
  if (parsed)
    return "parsed";
  EXPECT_EQ(parsed.error(), sy_errc::invalid_config);
  return describe(parsed.error());
}

} // namespace

TEST(endpoints, a_list_with_or_without_scheme) {
  auto parsed = parse_endpoints("127.0.0.1:2379, http://10.0.0.2:22379/,[::1]:2379");
  ASSERT_TRUE(parsed) << describe(parsed.error());
  EXPECT_EQ(*parsed, (std::vector<std::string>{"127.0.0.1:2379", "10.0.0.2:22379", "[::1]:2379"}));
}

TEST(endpoints, errors_name_the_bad_entry) {
  EXPECT_NE(parse_error("127.0.0.1:2379,,127.0.0.1:2380").find("an empty entry"),
            std::string::npos);
  EXPECT_NE(parse_error("127.0.0.1").find("\"127.0.0.1\": expected host:port"), std::string::npos);
  EXPECT_NE(parse_error("127.0.0.1:http").find("port \"http\" is not a number from 1 to 65535"),
            std::string::npos);
  EXPECT_NE(parse_error("127.0.0.1:70000").find("port \"70000\""), std::string::npos);
  EXPECT_NE(parse_error("https://10.0.0.1:2379").find("TLS is not supported yet"),
            std::string::npos);
  EXPECT_NE(parse_error("").find("an empty entry"), std::string::npos);
}

TEST(endpoints, one_target_over_every_member) {
  auto target = channel_target({"127.0.0.1:2379", "127.0.0.1:22379", "127.0.0.1:2379"});
  ASSERT_TRUE(target) << describe(target.error());
  EXPECT_EQ(*target, "ipv4:127.0.0.1:2379,127.0.0.1:22379") << "duplicates once";
  auto v6 = channel_target({"[::1]:2379"});
  ASSERT_TRUE(v6);
  EXPECT_EQ(*v6, "ipv6:[::1]:2379");
  auto named = channel_target({"localhost:2379"});
  ASSERT_TRUE(named) << describe(named.error());
  EXPECT_NE(named->find("127.0.0.1:2379"), std::string::npos) << *named;
  auto mixed = channel_target({"127.0.0.1:2379", "[::1]:2379"});
  ASSERT_FALSE(mixed);
  EXPECT_NE(describe(mixed.error()).find("a mix of IPv4 and IPv6"), std::string::npos);
  EXPECT_FALSE(channel_target({}));
}

TEST(endpoints, prefix_end_is_the_first_key_past_the_prefix) {
  EXPECT_EQ(prefix_end("/a"), "/b");
  EXPECT_EQ(prefix_end("/switchyard/"), "/switchyard0");
  EXPECT_EQ(prefix_end("a\xff"), "b");
  EXPECT_EQ(prefix_end("\xff\xff"), std::string(1, '\0')) << "every key";
  EXPECT_EQ(prefix_end(""), std::string(1, '\0'));
}

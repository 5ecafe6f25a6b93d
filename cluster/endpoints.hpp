// Endpoint lists and key ranges: parsing "host:port,..." and turning it into
// one gRPC target; the range end of a key prefix.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace switchyard::cluster {

/// Splits "127.0.0.1:2379,10.0.0.2:2379" (or with "http://") into endpoints;
/// invalid_config naming the bad one otherwise.
[[nodiscard]] caf::expected<std::vector<std::string>> parse_endpoints(std::string_view text);

/// The gRPC target for the endpoints, "ipv4:10.0.0.1:2379,10.0.0.2:2379"
/// (or ipv6:): one channel over all of them, so that round_robin passes over
/// a dead member. Host names are resolved here, once.
[[nodiscard]] caf::expected<std::string> channel_target(const std::vector<std::string>& endpoints);

/// The smallest key after every key that starts with `prefix` (etcd's
/// range_end of a prefix): "/a" -> "/b", "a\xff" -> "b"; "\0" (every key)
/// when there is none.
[[nodiscard]] std::string prefix_end(std::string_view prefix);

} // namespace switchyard::cluster

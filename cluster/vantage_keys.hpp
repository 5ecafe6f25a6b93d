// The keys and values of the vantage points' views (vantage_views.hpp),
// shared by the publisher and the reader. Internal to cluster/.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "cluster/vantage_views.hpp"

namespace switchyard::cluster::vantage_keys {

caf::error invalid(std::string message);
/// Names become etcd key segments: a '/' inside one would shift the others.
bool bad_segment(const std::string& s);
caf::expected<void> validate_prefix(const std::string& prefix);
std::string encode(const down_report& r);
down_report decode(const std::string& value);
/// A member key's value: {"replica", "address"}.
std::string encode_member(const std::string& replica, const std::string& address);
/// The address in a member key's value; "" when it has none or is not JSON
/// (the key's presence is what makes the member live).
std::string member_address(const std::string& value);
/// The replica a key under the prefix belongs to, and for a view key the
/// instance: "<prefix>/members/<replica>" or
/// "<prefix>/views/<replica>/<service>/<instance>".
std::optional<std::pair<std::string, std::optional<instance_key>>>
parse_key(const std::string& key, const std::string& prefix);

} // namespace switchyard::cluster::vantage_keys

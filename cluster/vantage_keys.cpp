#include "cluster/vantage_keys.hpp"

#include <nlohmann/json.hpp>

#include "messages/error.hpp"

namespace switchyard::cluster::vantage_keys {

caf::error invalid(std::string message) {
  return make_sy_error(sy_errc::invalid_config, std::move(message));
}

bool bad_segment(const std::string& s) {
  return s.empty() || s.find('/') != std::string::npos;
}

caf::expected<void> validate_prefix(const std::string& prefix) {
  if (prefix.empty() || prefix.front() != '/' || prefix.back() == '/')
    return invalid("prefix: \"" + prefix + "\" must start with '/' and not end with one");
  return caf::unit;
}

std::string encode(const down_report& r) {
  return nlohmann::json{{"since_ms", r.since_ms}, {"reason", r.reason}}.dump();
}

down_report decode(const std::string& value) {
  down_report r;
  try {
    auto j = nlohmann::json::parse(value);
    r.since_ms = j.value("since_ms", std::int64_t{0});
    r.reason = j.value("reason", std::string{});
  } catch (const nlohmann::json::exception&) {
    // Still a vote: the key's presence is the report, its value only detail.
    r.reason = value;
  }
  return r;
}

std::optional<std::pair<std::string, std::optional<instance_key>>>
parse_key(const std::string& key, const std::string& prefix) {
  auto members = prefix + "/members/";
  auto views = prefix + "/views/";
  if (key.starts_with(members)) {
    auto id = key.substr(members.size());
    if (bad_segment(id))
      return std::nullopt;
    return std::pair{id, std::optional<instance_key>{}};
  }
  if (!key.starts_with(views))
    return std::nullopt;
  auto rest = key.substr(views.size());
  auto a = rest.find('/');
  auto b = a == std::string::npos ? a : rest.find('/', a + 1);
  if (a == std::string::npos || b == std::string::npos || a == 0 || b == a + 1 ||
      b + 1 == rest.size())
    return std::nullopt;
  return std::pair{rest.substr(0, a),
                   std::optional{instance_key{rest.substr(a + 1, b - a - 1), rest.substr(b + 1)}}};
}

std::string encode_member(const std::string& replica, const std::string& address) {
  return nlohmann::json{{"replica", replica}, {"address", address}}.dump();
}

std::string member_address(const std::string& value) {
  try {
    return nlohmann::json::parse(value).value("address", std::string{});
  } catch (const nlohmann::json::exception&) {
    return {};
  }
}

} // namespace switchyard::cluster::vantage_keys

// The cluster: section: the replicas of switchyardd, the etcd endpoints they
// elect a leader through, the leader lease's timings and the vantage points'
// quorum. The timing and quorum rules are the cluster's own
// (rules/lease_rules.hpp, rules/quorum_rules.hpp); this file only reads the
// values and points each rule's error at the key it is about.
#include "config/loader_support.hpp"

#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "messages/error.hpp"
#include "rules/lease_rules.hpp"
#include "rules/quorum_rules.hpp"

namespace switchyard::config::detail {

namespace {

const char* const f = "cluster";

// The text of a rule's error (invalid_config with a message).
std::string message_of(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  return describe(err);
}

// Splits "field: rest" into its field and the rest; empty field if none.
std::pair<std::string, std::string> split_field(const std::string& message) {
  auto colon = message.find(": ");
  if (colon == std::string::npos || message.find(' ') < colon)
    return {"", message};
  return {message.substr(0, colon), message.substr(colon + 2)};
}

// A host:port with a port from 1 to 65535.
bool valid_address(const std::string& text) {
  std::string host;
  std::uint16_t port = 0;
  return split_address(text, host, port);
}

// members: every replica, names valid and unique, each with its API address.
// True if every name is valid and unique (the rules comparing members with
// member and quorum are then worth checking).
bool read_members(yaml_reader& r, const YAML::Node& node, cluster_settings& c) {
  const auto lf = join(f, "members");
  if (!r.require(node, "members", f))
    return false;
  auto list = node["members"];
  if (!r.expect_sequence(list, lf))
    return false;
  if (list.size() == 0) {
    r.fail(list, lf, "at least one member is required (this replica included)");
    return false;
  }
  bool ok = true;
  std::map<std::string, std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto ef = index(lf, i);
    if (!r.expect_map(list[i], ef)) {
      ok = false;
      continue;
    }
    r.check_keys(list[i], ef, {"name", "api"});
    cluster_member m;
    if (!read_name(r, list[i], "name", ef, m.name))
      ok = false;
    else if (auto [it, fresh] = seen.emplace(m.name, ef); !fresh) {
      r.fail(list[i]["name"], join(ef, "name"),
             "'" + m.name + "' is already used by " + it->second);
      ok = false;
    }
    if (r.require(list[i], "api", ef) && r.read(list[i], "api", join(ef, "api"), m.api) &&
        !valid_address(m.api))
      r.fail(list[i]["api"], join(ef, "api"),
             "'" + m.api +
                 "' is not host:port with a port from 1 to 65535 (where that replica's API "
                 "answers, e.g. 10.0.0.1:7400)");
    c.members.push_back(std::move(m));
  }
  return ok;
}

void read_member(yaml_reader& r, const YAML::Node& node, cluster_settings& c, bool members_ok) {
  if (!read_name(r, node, "member", f, c.member) || !members_ok || c.find(c.member) != nullptr)
    return;
  std::string names;
  for (const auto& m : c.members)
    names += (names.empty() ? "" : ", ") + m.name;
  r.fail(node["member"], join(f, "member"),
         "'" + c.member + "' is not one of cluster.members (" + names +
             "): each replica names itself there");
}

void read_endpoints(yaml_reader& r, const YAML::Node& node, cluster_settings& c) {
  const auto lf = join(f, "endpoints");
  if (!r.require(node, "endpoints", f))
    return;
  auto list = node["endpoints"];
  if (!r.expect_sequence(list, lf))
    return;
  if (list.size() == 0)
    r.fail(list, lf, "at least one etcd client endpoint (host:port) is required");
  std::map<std::string, std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto ef = index(lf, i);
    std::string text;
    if (!r.scalar(list[i], ef, text))
      continue;
    if (!valid_address(text))
      r.fail(list[i], ef,
             "'" + text +
                 "' is not host:port with a port from 1 to 65535 (an etcd client endpoint, e.g. "
                 "10.0.0.1:2379)");
    else if (auto [it, fresh] = seen.emplace(text, ef); !fresh)
      r.fail(list[i], ef, "'" + text + "' is already listed as " + it->second);
    c.endpoints.push_back(std::move(text));
  }
}

void read_prefix(yaml_reader& r, const YAML::Node& node, cluster_settings& c) {
  if (!r.read(node, "prefix", join(f, "prefix"), c.prefix) || !node["prefix"].IsDefined())
    return;
  const auto& p = c.prefix;
  const char* why = nullptr;
  if (p.empty() || p.front() != '/')
    why = "must start with '/'";
  else if (p == "/")
    why = "must not be just '/' (every key of etcd would be ours)";
  else if (p.back() == '/')
    why = "must not end with '/' (the keys below it add their own)";
  else if (p.find_first_of(" \t\r\n\f\v") != std::string::npos)
    why = "must not contain whitespace";
  if (why != nullptr)
    r.fail(node["prefix"], join(f, "prefix"), "'" + p + "' " + why + " (e.g. /switchyard)");
}

// The lease timings, checked by the lease's own rules; each error is reported
// at the key it names (ours: lease_ttl, election_retry), a rule about several
// at keepalive_interval, else lease_ttl, else the section.
void read_timings(yaml_reader& r, const YAML::Node& node, cluster_settings& c) {
  bool ok = true;
  for (auto [key, value] : {std::pair{"lease_ttl", &c.lease_ttl},
                            std::pair{"keepalive_interval", &c.keepalive_interval},
                            std::pair{"safety_margin", &c.safety_margin},
                            std::pair{"request_timeout", &c.request_timeout},
                            std::pair{"election_retry", &c.election_retry}})
    ok = r.read(node, key, join(f, key), *value) && ok;
  if (!ok)
    return; // one typo, one error: the rules would judge a default nobody wrote
  cluster::lease_timing timing;
  timing.ttl = c.lease_ttl;
  timing.keepalive_interval = c.keepalive_interval;
  timing.safety_margin = c.safety_margin;
  timing.request_timeout = c.request_timeout;
  timing.retry_interval = c.election_retry;
  auto valid = cluster::validate(timing);
  if (valid)
    return;
  // Our names for the rules' fields, in the field prefix and in the text.
  static const std::map<std::string, std::string> ours{{"ttl", "lease_ttl"},
                                                       {"keepalive_interval", "keepalive_interval"},
                                                       {"safety_margin", "safety_margin"},
                                                       {"request_timeout", "request_timeout"},
                                                       {"retry_interval", "election_retry"}};
  auto [field, text] = split_field(message_of(valid.error()));
  for (auto at = text.find("than ttl ("); at != std::string::npos;
       at = text.find("than ttl (", at + 1))
    text.replace(at + 5, 3, "lease_ttl");
  auto it = ours.find(field);
  std::string key;
  if (it != ours.end()) {
    key = it->second;
  } else {
    text = field.empty() ? text : field + ": " + text; // a rule about several fields
    key = node["keepalive_interval"].IsDefined() ? "keepalive_interval"
          : node["lease_ttl"].IsDefined()        ? "lease_ttl"
                                                 : "";
  }
  if (key.empty() || !node[key].IsDefined())
    r.fail(node, key.empty() ? f : join(f, key), text);
  else
    r.fail(node[key], join(f, key), text);
}

// quorum: checked by the vantage points' own rules against the members.
void read_quorum(yaml_reader& r, const YAML::Node& node, cluster_settings& c, bool members_ok) {
  const auto qf = join(f, "quorum");
  int quorum = 0;
  if (!r.read(node, "quorum", qf, quorum, std::numeric_limits<int>::min(),
              std::numeric_limits<int>::max()))
    return;
  if (node["quorum"].IsDefined())
    c.quorum = quorum;
  if (!members_ok)
    return; // already reported; the member count would be wrong
  cluster::quorum_settings settings;
  for (const auto& m : c.members)
    settings.members.push_back(m.name);
  settings.quorum = c.quorum;
  auto valid = cluster::validate(settings);
  if (valid)
    return;
  auto [field, text] = split_field(message_of(valid.error()));
  if (field == "members")
    r.fail(node["members"], join(f, "members"), text);
  else if (field == "quorum" && node["quorum"].IsDefined())
    r.fail(node["quorum"], qf, text);
  else
    r.fail(node, f, field.empty() ? text : field + ": " + text);
}

} // namespace

void read_cluster(yaml_reader& r, const YAML::Node& node, cluster_settings& c) {
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f,
               {"member", "members", "endpoints", "prefix", "lease_ttl", "keepalive_interval",
                "safety_margin", "request_timeout", "election_retry", "quorum"});
  bool members_ok = read_members(r, node, c);
  read_member(r, node, c, members_ok);
  read_endpoints(r, node, c);
  read_prefix(r, node, c);
  read_timings(r, node, c);
  read_quorum(r, node, c, members_ok);
}

} // namespace switchyard::config::detail

#include "rules/quorum_rules.hpp"

#include <algorithm>

#include "messages/error.hpp"

namespace switchyard::cluster {

namespace {

caf::error invalid(std::string message) {
  return make_sy_error(sy_errc::invalid_config, std::move(message));
}

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty())
      out += ", ";
    out += item;
  }
  return out;
}

std::string members_text(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " member" : " members");
}

} // namespace

caf::expected<void> validate(const quorum_settings& s) {
  if (s.members.empty())
    return invalid("members: must list at least one replica id (the vantage points)");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < s.members.size(); ++i) {
    const auto& id = s.members[i];
    if (id.empty())
      return invalid("members: entry " + std::to_string(i + 1) + " is an empty replica id");
    // Replica ids are path segments of etcd keys (<prefix>/views/<replica>/...).
    if (id.find('/') != std::string::npos)
      return invalid("members: " + quoted(id) + " contains '/', which separates etcd key parts");
    if (!seen.insert(id).second)
      return invalid("members: " + quoted(id) +
                     " is listed twice (its vote would count once: the quorum would be off)");
  }
  if (s.quorum) {
    auto q = *s.quorum;
    if (q < 1)
      return invalid("quorum: " + std::to_string(q) +
                     " is below 1 (every instance would be objectively down without a report)");
    if (static_cast<std::size_t>(q) > s.members.size())
      return invalid("quorum: " + std::to_string(q) + " is more than the " +
                     members_text(s.members.size()) +
                     " (no instance could ever be objectively down)");
  }
  return caf::unit;
}

std::size_t effective_quorum(const quorum_settings& s) {
  if (s.quorum && *s.quorum >= 1)
    return static_cast<std::size_t>(*s.quorum);
  return s.members.size() / 2 + 1;
}

std::string describe_quorum(const quorum_settings& s) {
  auto n = s.members.size();
  auto q = effective_quorum(s);
  auto majority = n / 2 + 1;
  std::string out = "quorum " + std::to_string(q) + " of " + members_text(n);
  if (n == 1)
    return out + ": a single vantage point, its view alone decides";
  if (!s.quorum)
    out += " (majority)";
  if (q < majority)
    out += ": below a majority, replicas cut off from an instance by their own network can "
           "fail it over";
  return out;
}

down_verdict judge_down(const quorum_settings& s, const std::set<std::string>& reporting_down,
                        const std::set<std::string>& live) {
  down_verdict v;
  v.needed = effective_quorum(s);
  std::vector<std::string> down;
  std::vector<std::string> up;
  std::vector<std::string> absent;
  std::vector<std::string> ignored;
  std::set<std::string> configured;
  std::size_t live_members = 0;
  // In configuration order, so that explanations read the same every time.
  for (const auto& id : s.members) {
    if (!configured.insert(id).second)
      continue; // a duplicate (validate() refuses it) votes once
    bool is_live = live.count(id) != 0;
    bool says_down = reporting_down.count(id) != 0;
    if (!is_live) {
      absent.push_back(id);
      // A report outliving its replica's membership (read between the two
      // deletions, or a membership key removed by hand) is not a vote.
      if (says_down)
        ignored.push_back(id + " (not live)");
      continue;
    }
    ++live_members;
    (says_down ? down : up).push_back(id);
  }
  for (const auto& id : reporting_down)
    if (configured.count(id) == 0)
      ignored.push_back(id + " (not a configured member)");
  v.votes = down.size();
  v.objectively_down = v.votes >= v.needed;

  auto& e = v.explanation;
  e = v.objectively_down ? "objectively down: " : "not objectively down: ";
  e += std::to_string(v.votes) + " of " + std::to_string(v.needed) + " votes needed (down: ";
  e += down.empty() ? "none" : join(down);
  if (!up.empty())
    e += "; up: " + join(up);
  if (!absent.empty())
    e += "; not reporting: " + join(absent);
  e += ")";
  if (!ignored.empty())
    e += "; ignored reports from " + join(ignored);
  if (live_members < v.needed)
    e += "; only " + std::to_string(live_members) + " of " + members_text(s.members.size()) +
         " live, fewer than the quorum";
  return v;
}

} // namespace switchyard::cluster

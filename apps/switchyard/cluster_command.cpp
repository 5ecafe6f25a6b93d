#include "apps/switchyard/cluster_command.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "apps/switchyard/render.hpp"

namespace switchyard::cli {

namespace {

// "2.5 s"
std::string seconds(std::int64_t ms) {
  return fmt::format("{:.1f} s", static_cast<double>(ms) / 1000.0);
}

std::string joined(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out;
  for (const auto& i : items)
    out += (out.empty() ? "" : ", ") + i;
  return out.empty() ? std::string{"-"} : out;
}

void print_votes(std::ostream& out, const v1::ClusterStatus& c) {
  // One column per member: the configured ones in order, then any other that voted.
  std::vector<std::string> members(c.members().begin(), c.members().end());
  for (const auto& v : c.votes())
    if (std::find(members.begin(), members.end(), v.member()) == members.end())
      members.push_back(v.member());
  // (service, primary) -> member -> down
  std::map<std::pair<std::string, std::string>, std::map<std::string, bool>> rows;
  for (const auto& v : c.votes())
    rows[{v.service(), v.primary()}][v.member()] = v.down();
  std::vector<std::string> header{"SERVICE", "PRIMARY"};
  header.insert(header.end(), members.begin(), members.end());
  header.emplace_back("DOWN VOTES");
  std::vector<std::vector<std::string>> table;
  for (const auto& [key, views] : rows) {
    std::vector<std::string> row{key.first, key.second};
    std::size_t down = 0;
    for (const auto& m : members) {
      auto it = views.find(m);
      row.push_back(it == views.end() ? "-" : it->second ? "down" : "up");
      down += it != views.end() && it->second ? 1U : 0U;
    }
    row.push_back(fmt::format("{}/{}{}", down, c.quorum(),
                              c.quorum() > 0 && down >= c.quorum() ? " DOWN" : ""));
    table.push_back(std::move(row));
  }
  out << '\n';
  print_table(out, header, table);
}

} // namespace

void print_cluster(std::ostream& out, const v1::ClusterStatus& c) {
  if (!c.clustered()) {
    out << "not clustered: this switchyardd decides alone (no cluster: section)\n";
    return;
  }
  out << fmt::format("member:   {}\n", c.member());
  if (c.leader_id().empty())
    out << "leader:   NONE\n";
  else
    out << fmt::format("leader:   {}{} (epoch {}{})\n", c.leader_id(),
                       c.leader_address().empty() ? std::string{} : " at " + c.leader_address(),
                       c.epoch(), c.leader_id() == c.member() ? "; this replica" : "");
  if (c.may_act())
    out << "acting:   yes: this replica leads and may act\n";
  else
    out << fmt::format("acting:   NO: {}\n", c.reason().empty() ? "not the leader" : c.reason());
  if (c.leader())
    out << fmt::format("lease:    {} left of {}\n", seconds(c.lease_remaining_ms()),
                       seconds(c.lease_ttl_ms()));
  out << fmt::format("quorum:   {} of {} replicas must see a primary down\n", c.quorum(),
                     c.members_size());
  std::string members;
  for (const auto& m : c.members()) {
    members += (members.empty() ? "" : ", ") + m;
    if (m == c.leader_id())
      members += " (leader)";
    if (m == c.member())
      members += " (this replica)";
  }
  out << fmt::format("members:  {}\n", members.empty() ? std::string{"-"} : members)
      << fmt::format("etcd:     {}\n", joined(c.endpoints()));
  if (c.votes_size() == 0)
    out << "\nno votes published yet\n";
  else
    print_votes(out, c);
}

} // namespace switchyard::cli

// The plan export as a Graphviz picture: one cluster per site with its
// services, instances and switchover order, then the failover edges.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "renderers/plan_export_detail.hpp"
#include "renderers/site_runbook.hpp"

namespace switchyard::renderers::detail {

namespace {

/// Inside a DOT quoted string `"` ends it and `\` starts an escape (`\n`,
/// `\N`, ...), so both are escaped; a line break becomes DOT's `\n`.
std::string dot_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += {'\\', c};
    else if (c == '\n')
      out += "\\n";
    else if (c != '\r')
      out += c;
  }
  return out;
}

std::string dot_quoted(std::string_view text) {
  return "\"" + dot_escape(text) + "\"";
}

/// A quoted label of several lines.
std::string dot_label(const std::vector<std::string_view>& lines) {
  std::string out = "\"";
  for (std::size_t i = 0; i < lines.size(); ++i)
    out += (i == 0 ? "" : "\\n") + dot_escape(lines[i]);
  return out + "\"";
}

/// Subgraph names are global in a DOT file and "cluster_a_b" could be service
/// "a_b" as well as site "b" of service "a": a repeat gets a suffix.
class dot_names {
public:
  std::string unique(const std::string& wanted) {
    auto name = wanted;
    for (int n = 2; !used_.insert(name).second; ++n)
      name = fmt::format("{}#{}", wanted, n);
    return name;
  }

private:
  std::set<std::string> used_;
};

std::string node_id(const config::service_settings& svc, const std::string& instance) {
  return dot_quoted(svc.name + "/" + instance);
}

/// Primary: filled and bold. Unhealthy: red. Unknown health: grey and dashed.
std::string node_dot(const plan_export_entry& e, const config::instance_settings& inst) {
  bool primary = inst.name == e.current_primary;
  auto health = health_of(e, inst.name);
  std::string style = "rounded";
  std::string attrs = fmt::format(
      "label={}", dot_label({inst.name, primary ? "primary" : "standby", to_string(health)}));
  if (primary) {
    style += ",filled,bold";
    attrs += fmt::format(", fillcolor=\"{}\"",
                         health == health_status::unhealthy ? "mistyrose" : "lightblue");
  }
  if (health == health_status::unhealthy) {
    attrs += ", color=\"red3\", fontcolor=\"red3\"";
  } else if (health == health_status::unknown) {
    style += ",dashed";
    attrs += ", color=\"gray50\"";
  }
  return fmt::format("{} [{}, style=\"{}\"]", node_id(*e.service, inst.name), attrs, style);
}

void plan_edges_dot(std::string& out, const config::service_settings& svc, const failover_plan& p) {
  const auto* from = first_name(p.primary_targets);
  if (from == nullptr)
    return;
  for (std::size_t i = 0; i < p.secondary_targets.size(); ++i) {
    auto to = node_id(svc, p.secondary_targets[i].value);
    if (i == 0)
      out += fmt::format("    {} -> {} [label=\"fails over to\", penwidth=2];\n",
                         node_id(svc, *from), to);
    else
      out += fmt::format("    {} -> {} [label=\"candidate {}\", style=dashed];\n",
                         node_id(svc, *from), to, i + 1);
  }
}

/// A service's node in a site's cluster: "web@dc1" (instance nodes are "web/web-a").
std::string service_node_id(const config::service_settings& svc, const std::string& site) {
  return dot_quoted(svc.name + "@" + site);
}

bool has_instance_on(const config::service_settings& svc, const std::string& site) {
  return std::any_of(svc.instances.begin(), svc.instances.end(),
                     [&](const auto& inst) { return inst.site == site; });
}

/// One cluster per site: per service with instances there a sub-cluster with
/// the service node (its switchover level) and its instances, the dependency
/// edges between the service nodes, and the site's switchover order.
void site_dot(std::string& out, const std::vector<plan_export_entry>& entries,
              const std::string& site, const std::map<std::string, std::uint32_t>& levels,
              const std::map<std::string, const plan_export_entry*>& by_name, dot_names& names) {
  std::map<std::uint32_t, std::string> order; // level -> services with their primary here
  for (const auto& e : entries)
    if (primary_site(e) == site) {
      auto& names_at = order[levels.at(e.service->name)];
      names_at += (names_at.empty() ? "" : ", ") + e.service->name;
    }
  std::vector<std::string> label{site};
  if (order.empty()) {
    label.emplace_back("no primaries");
  } else {
    std::string text = "switchover order:";
    for (const auto& [level, list] : order)
      text += fmt::format(" {}. {}", level + 1, list);
    label.push_back(text);
  }
  out += fmt::format("  subgraph {} {{\n", dot_quoted(names.unique("cluster_" + site)));
  std::vector<std::string_view> label_views(label.begin(), label.end());
  out += fmt::format("    label={};\n", dot_label(label_views));
  for (const auto& e : entries) {
    const auto& svc = *e.service;
    if (!has_instance_on(svc, site))
      continue;
    out += fmt::format("    subgraph {} {{\n",
                       dot_quoted(names.unique("cluster_" + site + "_" + svc.name)));
    std::string caveat = e.plan ? e.note : "no failover plan: " + e.note;
    auto level = fmt::format("switchover level {}", levels.at(svc.name) + 1);
    out += fmt::format("      label={};\n",
                       caveat.empty() ? dot_quoted(svc.name) : dot_label({svc.name, caveat}));
    out += fmt::format("      {} [shape=folder, style=\"\", label={}];\n",
                       service_node_id(svc, site), dot_label({svc.name, level}));
    for (const auto& inst : svc.instances)
      if (inst.site == site) {
        out += fmt::format("      {};\n", node_dot(e, inst));
        out += fmt::format("      {} -> {} [arrowhead=none, style=dotted];\n",
                           service_node_id(svc, site), node_id(svc, inst.name));
      }
    out += "    }\n";
  }
  // Dependencies between the services present on this site.
  for (const auto& e : entries) {
    const auto& svc = *e.service;
    if (!has_instance_on(svc, site))
      continue;
    for (const auto& dep : svc.depends_on)
      if (auto d = by_name.find(dep);
          d != by_name.end() && has_instance_on(*d->second->service, site))
        out += fmt::format("    {} -> {} [label=\"depends on\", style=dashed];\n",
                           service_node_id(svc, site), service_node_id(*d->second->service, site));
  }
  out += "  }\n";
}

} // namespace

std::string render_dot(const std::vector<plan_export_entry>& entries,
                       const std::string& generated_at, const plan_export_context& context) {
  std::string out = "digraph switchyard {\n";
  out += fmt::format("  graph [rankdir=LR, labelloc=t, label={}];\n",
                     dot_label({"Switchyard failover plans", "generated " + generated_at}));
  out += "  node [shape=box, style=rounded];\n";
  dot_names names;
  auto levels = dependency_levels(entries);
  std::map<std::string, const plan_export_entry*> by_name;
  for (const auto& e : entries)
    by_name.emplace(e.service->name, &e);
  for (const auto& site : export_sites(entries, context))
    site_dot(out, entries, site, levels, by_name, names);
  // Failover edges last: they may cross from one site's cluster to another's.
  for (const auto& e : entries)
    if (e.plan)
      plan_edges_dot(out, *e.service, *e.plan);
  out += "}\n";
  return out;
}

} // namespace switchyard::renderers::detail

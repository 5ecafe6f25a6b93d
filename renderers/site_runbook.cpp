// The site switchover runbook of the plan export: order, estimates, objectives.
#include "renderers/site_runbook.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <string_view>

#include <fmt/format.h>

#include "renderers/site_report.hpp"

namespace switchyard::renderers {

namespace {

std::int64_t to_ms(caf::timespan d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

std::string cell(std::string_view text) {
  return table_cell(text);
}

/// A one-line code span (a line break inside becomes a space).
std::string code(std::string_view text) {
  return code_span(cell(text));
}

/// Levels over the `depends_on` graph of `entries` by a memoized depth-first
/// walk (linear; dependency_graph::topological_order is quadratic, too slow
/// for an export of thousands of services): a service's level is the largest
/// of its known dependencies' levels plus `step(dependency)`. A cycle (the
/// loader refuses one) is cut where the walk meets it again.
template <class Step>
std::map<std::string, std::uint32_t> walk_levels(const std::vector<plan_export_entry>& entries,
                                                 Step step) {
  std::map<std::string, const config::service_settings*> by_name;
  for (const auto& e : entries)
    by_name.emplace(e.service->name, e.service);
  std::map<std::string, std::uint32_t> level;
  std::set<std::string> visiting;
  auto visit = [&](auto& self, const std::string& name) -> std::uint32_t {
    if (auto i = level.find(name); i != level.end())
      return i->second;
    if (!visiting.insert(name).second)
      return 0;
    std::uint32_t l = 0;
    for (const auto& dep : by_name.at(name)->depends_on)
      if (by_name.count(dep) > 0)
        l = std::max(l, self(self, dep) + step(dep));
    visiting.erase(name);
    level[name] = l;
    return l;
  };
  for (const auto& e : entries)
    visit(visit, e.service->name);
  return level;
}

const config::instance_settings* find_instance(const plan_export_entry& e,
                                               const std::string& name) {
  return e.service->find_instance(name);
}

/// The instance on `site` to promote: the plan's best candidate there, else
/// the one with the highest priority (file order breaks ties); empty if none.
std::string target_on(const plan_export_entry& e, const std::string& site) {
  if (e.plan)
    for (const auto& cand : e.plan->secondary_targets)
      if (const auto* inst = find_instance(e, cand.value); inst != nullptr && inst->site == site)
        return inst->name;
  const config::instance_settings* best = nullptr;
  for (const auto& inst : e.service->instances)
    if (inst.site == site && inst.name != e.current_primary &&
        (best == nullptr || inst.priority > best->priority))
      best = &inst;
  return best == nullptr ? std::string{} : best->name;
}

/// The summed estimate: per level, batches of `parallelism` in order of work,
/// each as long as its longest member.
std::int64_t estimate(const std::vector<site_runbook_service>& services, int parallelism) {
  auto batch = static_cast<std::size_t>(std::max(1, parallelism));
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < services.size()) {
    auto level = services[i].level;
    std::size_t in_batch = 0;
    std::int64_t longest = 0;
    for (; i < services.size() && services[i].level == level; ++i) {
      if (in_batch == batch) {
        total += longest;
        longest = 0;
        in_batch = 0;
      }
      longest = std::max(longest, services[i].estimated_ms);
      ++in_batch;
    }
    total += longest;
  }
  return total;
}

void objectives_table(std::string& out, const std::vector<plan_export_entry>& entries) {
  out += "## Objectives per service\n\n";
  out += "| Service | Primary site | RTO | RPO | Estimated failover | Backups (3-2-1) |\n";
  out += "|---|---|---|---|---|---|\n";
  for (const auto& e : entries) {
    const auto& svc = *e.service;
    auto site = primary_site(e);
    std::string estimated = "no plan";
    if (e.plan) {
      auto ms = to_ms(e.plan->estimated_failover_time);
      estimated = human_duration(ms);
      if (svc.objective.rto.count() > 0 && ms > svc.objective.rto.count())
        estimated += " (**exceeds the RTO**)";
    }
    out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", cell(svc.name),
                       site.empty() ? "?" : cell(site), human_duration(svc.objective.rto.count()),
                       human_duration(svc.objective.rpo.count()), estimated,
                       e.backups              ? measured_backup_summary(*e.backups)
                       : svc.objective.backup ? backup_summary(svc.objective) + " (declared)"
                                              : backup_summary(svc.objective));
  }
  out += "\n";
}

void service_steps(std::string& out, const site_runbook_service& p) {
  const auto& e = *p.entry;
  out += fmt::format("- **{}**: {} → {}", e.service->name, p.from.empty() ? "?" : p.from,
                     p.to.empty() ? "?" : p.to);
  if (!p.blocker.empty()) {
    out += fmt::format(" — **blocked**: {}\n", cell(p.blocker));
    return;
  }
  out += fmt::format(", estimated {} (RTO {}, RPO {})\n", human_duration(p.estimated_ms),
                     human_duration(e.service->objective.rto.count()),
                     human_duration(e.service->objective.rpo.count()));
  if (!e.plan)
    return;
  const auto* planned_to =
      e.plan->secondary_targets.empty() ? nullptr : &e.plan->secondary_targets.front().value;
  caf::timespan elapsed{0};
  for (const auto& st : e.plan->steps) {
    elapsed += st.timeout;
    // The plan is made for its best candidate; here the new primary is on the new site.
    auto target = planned_to != nullptr && st.target.value == *planned_to ? p.to : st.target.value;
    out += fmt::format("  {}. {} {} on {} ({}), timeout {}; at most {} elapsed\n", st.sequence,
                       to_string(st.phase), code(st.name), cell(target), cell(st.action_kind),
                       human_duration(to_ms(st.timeout)), human_duration(to_ms(elapsed)));
  }
}

void pair_md(std::string& out, const std::vector<plan_export_entry>& entries,
             const std::string& from, const std::string& to, int parallelism) {
  auto plan = plan_site_switchover(entries, from, to, parallelism);
  out += fmt::format("## From {} to {}\n\n", from, to);
  std::size_t blocked = 0;
  for (const auto& p : plan.services)
    blocked += p.blocker.empty() ? 0U : 1U;
  out +=
      fmt::format("Moves {} service{} with the primary on **{}** to **{}**. Estimated RTO: **{}** "
                  "(per dependency level the longest estimate of each batch of {}, summed).\n\n",
                  plan.services.size(), plan.services.size() == 1 ? "" : "s", from, to,
                  human_duration(plan.estimated_rto_ms), std::max(1, parallelism));
  if (blocked > 0)
    out += fmt::format("> **Blocked:** {} service{} cannot move to {} now (see below): the site "
                       "switchover would not start.\n\n",
                       blocked, blocked == 1 ? "" : "s", to);
  if (!plan.untouched.empty()) {
    std::string names;
    for (const auto& u : plan.untouched)
      names += (names.empty() ? "" : ", ") + u;
    out += fmt::format("Untouched (primary not on {}): {}.\n\n", from, names);
  }
  out += "### Order of work\n\n";
  out += fmt::format("Switchyard: `switchyard site switchover --from {} --to {} --reason ...` "
                     "(assess first: `switchyard site assess --from {} --to {}`). By hand: one "
                     "level after the other, dependencies first; the services of one level at "
                     "most {} at a time.\n\n",
                     from, to, from, to, std::max(1, parallelism));
  std::size_t i = 0;
  while (i < plan.services.size()) {
    auto level = plan.services[i].level;
    std::int64_t longest = 0;
    std::string body;
    for (; i < plan.services.size() && plan.services[i].level == level; ++i) {
      longest = std::max(longest, plan.services[i].estimated_ms);
      service_steps(body, plan.services[i]);
    }
    out += fmt::format("#### Level {} (longest estimate {})\n\n{}\n", level,
                       human_duration(longest), body);
  }
  out += "### Roll back if\n\n";
  out += fmt::format(
      "- Before the commit decision (prepare): any service whose pre-checks or prepare actions "
      "fail, or that is not prepared in time, aborts the whole site switchover: every prepared "
      "service is released and its prepare actions are undone (their rollback commands, in "
      "reverse). No primary has moved.\n"
      "- After the decision (commit): a service whose switchover fails is undone by its own "
      "rollback steps; services already on {} stay there. To return, run `switchyard site "
      "failback --from {} --to {}`.\n"
      "- A service that is not available on {} within the verification timeout, or whose "
      "integrity checks fail, fails the verification: fail back if it cannot be fixed within its "
      "RTO.\n",
      to, to, from, to);
  for (const auto& p : plan.services)
    if (p.entry->plan)
      for (const auto& c : p.entry->plan->rollback_criteria)
        out += fmt::format("- {}: {}\n", p.entry->service->name, c);
  out += "\n";
}

} // namespace

std::vector<std::string> export_sites(const std::vector<plan_export_entry>& entries,
                                      const plan_export_context& context) {
  std::vector<std::string> sites;
  for (const auto& s : context.sites)
    sites.push_back(s.name);
  for (const auto& e : entries)
    for (const auto& inst : e.service->instances)
      if (std::find(sites.begin(), sites.end(), inst.site) == sites.end())
        sites.push_back(inst.site);
  return sites;
}

std::string primary_site(const plan_export_entry& entry) {
  const auto* inst = entry.service->find_instance(entry.current_primary);
  return inst == nullptr ? std::string{} : inst->site;
}

std::map<std::string, std::uint32_t>
dependency_levels(const std::vector<plan_export_entry>& entries) {
  return walk_levels(entries, [](const std::string&) { return 1U; });
}

site_runbook_plan plan_site_switchover(const std::vector<plan_export_entry>& entries,
                                       const std::string& from_site, const std::string& to_site,
                                       int parallelism) {
  site_runbook_plan plan;
  plan.from_site = from_site;
  plan.to_site = to_site;
  std::map<std::string, const plan_export_entry*> moving;
  for (const auto& e : entries) {
    if (primary_site(e) == from_site)
      moving[e.service->name] = &e;
    else
      plan.untouched.push_back(e.service->name);
  }
  // A participant's level: after every participant it depends on, directly
  // or through services that do not move.
  auto reach =
      walk_levels(entries, [&](const std::string& dep) { return moving.count(dep) > 0 ? 1U : 0U; });
  for (const auto& e : entries) {
    if (moving.count(e.service->name) == 0)
      continue;
    site_runbook_service p;
    p.entry = &e;
    p.from = e.current_primary;
    p.to = target_on(e, to_site);
    auto r = reach.find(e.service->name);
    p.level = r == reach.end() ? 0 : r->second;
    if (e.plan)
      p.estimated_ms = to_ms(e.plan->estimated_failover_time);
    if (p.to.empty())
      p.blocker = fmt::format("no instance on site {}", to_site);
    else if (!e.plan)
      p.blocker = e.note.empty() ? std::string{"no failover plan"} : "no failover plan: " + e.note;
    plan.services.push_back(std::move(p));
  }
  std::stable_sort(plan.services.begin(), plan.services.end(),
                   [](const auto& a, const auto& b) { return a.level < b.level; });
  plan.estimated_rto_ms = estimate(plan.services, parallelism);
  return plan;
}

std::string backup_summary(const config::objectives& objective) {
  if (!objective.backup)
    return "not declared";
  const auto& b = *objective.backup;
  std::string missing;
  if (b.copies < 3)
    missing += fmt::format("{}{} more cop{}", missing.empty() ? "" : ", ", 3 - b.copies,
                           3 - b.copies == 1 ? "y" : "ies");
  if (b.media < 2)
    missing += fmt::format("{}{} more kind of media", missing.empty() ? "" : ", ", 2 - b.media);
  if (b.offsite < 1)
    missing += fmt::format("{}an offsite copy", missing.empty() ? "" : ", ");
  return fmt::format("{} copies, {} media, {} offsite: {}", b.copies, b.media, b.offsite,
                     b.meets_3_2_1() ? std::string{"meets 3-2-1"}
                                     : "**does not meet 3-2-1** (needs " + missing + ")");
}

std::string measured_backup_summary(const backup_compliance_row& row) {
  auto summary = fmt::format("{} verified cop{}, {} media, {} offsite: {}", row.copies,
                             row.copies == 1 ? "y" : "ies", row.media, row.offsite,
                             row.meets_3_2_1 ? "meets 3-2-1" : "**does not meet 3-2-1**");
  if (row.age_ms < 0)
    return summary + "; **no verified backup**";
  auto age = human_duration(row.age_ms);
  if (row.rpo_ms <= 0)
    return fmt::format("{}; newest verified {} old", summary, age);
  return fmt::format("{}; newest verified {} old ({})", summary, age,
                     row.rpo_met ? "RPO " + human_duration(row.rpo_ms)
                                 : "**past the RPO of " + human_duration(row.rpo_ms) + "**");
}

std::string site_runbook_markdown(const std::vector<plan_export_entry>& entries,
                                  const plan_export_context& context) {
  std::string out = "# Site switchover runbook\n\n";
  auto sites = export_sites(entries, context);
  out += fmt::format(
      "Sites: {}.", sites.empty() ? std::string{"none"} : [&] {
        std::string s;
        for (const auto& name : sites)
          s += (s.empty() ? "" : ", ") + name;
        return s;
      }());
  out += " A site switchover moves every service whose primary is on one site to another: "
         "prepare all (two-phase commit), then switch them over level by level, dependencies "
         "first, and verify.\n\n";
  objectives_table(out, entries);
  bool any = false;
  for (const auto& from : sites) {
    bool holds = std::any_of(entries.begin(), entries.end(),
                             [&](const auto& e) { return primary_site(e) == from; });
    if (!holds)
      continue;
    for (const auto& to : sites)
      if (to != from) {
        pair_md(out, entries, from, to, context.parallelism);
        any = true;
      }
  }
  if (!any)
    out += "No site switchover is possible: it takes a site holding primaries and another "
           "site.\n";
  return out;
}

} // namespace switchyard::renderers

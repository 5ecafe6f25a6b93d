#include "actors/site_assessment.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/dependencies.hpp"

namespace switchyard::actors {

namespace {

bool site_known(const config::switchyard_config& cfg, const std::string& site) {
  return std::any_of(cfg.sites.begin(), cfg.sites.end(),
                     [&](const config::site_settings& s) { return s.name == site; });
}

health_status health_of(const service_state& st, const std::string& instance) {
  for (const auto& h : st.instances)
    if (h.instance.value == instance)
      return h.status;
  return health_status::unknown;
}

bool in_maintenance(const service_state& st, const std::string& instance) {
  return std::any_of(st.maintenance.begin(), st.maintenance.end(), [&](const auto& m) {
    return m.instance.value.empty() || m.instance.value == instance;
  });
}

// The instance of `svc` on `site` to promote: the preferred one if healthy,
// else the healthy one (not in maintenance) with the highest priority.
std::string choose_target(const config::service_settings& svc, const service_state& st,
                          const std::string& site, const std::string& preferred) {
  const config::instance_settings* best = nullptr;
  for (const auto& inst : svc.instances) {
    if (inst.site != site || health_of(st, inst.name) != health_status::healthy ||
        in_maintenance(st, inst.name))
      continue;
    if (inst.name == preferred)
      return inst.name;
    if (best == nullptr || inst.priority > best->priority)
      best = &inst;
  }
  return best == nullptr ? std::string{} : best->name;
}

} // namespace

site_record assess_site(const site_assessment_input& in) {
  const auto& cfg = *in.cfg;
  site_record r;
  r.operation = in.operation;
  r.from_site = in.from_site;
  r.to_site = in.to_site;
  r.parallelism = static_cast<std::uint32_t>(cfg.orchestrator.site_switchover.parallelism);
  for (const auto* site : {&in.from_site, &in.to_site})
    if (!site_known(cfg, *site))
      r.blockers.push_back(fmt::format("no site named '{}'", *site));
  if (in.from_site == in.to_site)
    r.blockers.push_back(fmt::format("from and to are the same site ('{}')", in.from_site));
  if (!r.blockers.empty())
    return r;
  std::map<std::string, const service_state*> state_of;
  for (const auto& st : in.states)
    state_of[st.service.value] = &st;
  config::dependency_graph graph{cfg.services};
  auto order = graph.topological_order().value_or(std::vector<std::string>{});
  std::map<std::string, std::uint32_t> level_of; // participants only
  for (const auto& name : order) {
    const auto* svc = cfg.find_service(name);
    auto s = state_of.find(name);
    if (svc == nullptr || s == state_of.end())
      continue;
    const auto& st = *s->second;
    const auto* primary = svc->find_instance(st.primary.value);
    if (primary == nullptr || primary->site != in.from_site) {
      r.untouched.push_back(fmt::format("{}: primary {} is on site {}", name, st.primary.value,
                                        primary == nullptr ? "?" : primary->site));
      continue;
    }
    // A service with no instance on the target site is local to its site:
    // not part of the site's move (listed, so the operator sees it).
    if (std::none_of(svc->instances.begin(), svc->instances.end(),
                     [&](const auto& inst) { return inst.site == in.to_site; })) {
      r.untouched.push_back(fmt::format("{}: no instance on site {} (it stays on {})", name,
                                        in.to_site, in.from_site));
      continue;
    }
    site_participant p;
    p.service = service_id{name};
    p.from = st.primary;
    p.rto_ms = svc->objective.rto.count();
    p.rpo_ms = svc->objective.rpo.count();
    // After every participant it depends on, directly or not.
    for (const auto& dep : graph.all_dependencies_of(name))
      if (auto l = level_of.find(dep); l != level_of.end())
        p.level = std::max(p.level, l->second + 1);
    level_of[name] = p.level;
    auto preferred = in.preferred.find(name);
    p.to = instance_id{choose_target(
        *svc, st, in.to_site, preferred == in.preferred.end() ? std::string{} : preferred->second)};
    if (p.to.value.empty()) {
      std::vector<std::string> seen;
      for (const auto& inst : svc->instances)
        if (inst.site == in.to_site)
          seen.push_back(fmt::format("{} is {}{}", inst.name, to_string(health_of(st, inst.name)),
                                     in_maintenance(st, inst.name) ? " (in maintenance)" : ""));
      p.blocker = fmt::format("no healthy instance on site {} (not in maintenance): {}", in.to_site,
                              fmt::join(seen, ", "));
    } else if (st.failover_in_flight)
      p.blocker = "a switchover of it is in progress";
    else if (std::any_of(st.maintenance.begin(), st.maintenance.end(),
                         [](const auto& m) { return m.instance.value.empty(); }))
      p.blocker = "the service is in maintenance";
    const bool back =
        in.operation == site_operation::failback || in.operation == site_operation::drill_failback;
    if (back && p.blocker.empty())
      for (const auto& inst : svc->instances)
        if (inst.site == in.to_site && health_of(st, inst.name) != health_status::healthy) {
          p.blocker = fmt::format("site {} is not ready: {} is {}", in.to_site, inst.name,
                                  to_string(health_of(st, inst.name)));
          break;
        }
    if (!p.blocker.empty())
      r.blockers.push_back(fmt::format("{}: {}", name, p.blocker));
    r.participants.push_back(std::move(p));
  }
  std::stable_sort(r.participants.begin(), r.participants.end(),
                   [](const auto& a, const auto& b) { return a.level < b.level; });
  if (r.participants.empty())
    r.blockers.push_back(fmt::format("no service has its primary on site {}", in.from_site));
  return r;
}

std::vector<std::vector<std::size_t>> level_batches(const site_record& r, std::uint32_t level,
                                                    std::uint32_t parallelism) {
  std::vector<std::vector<std::size_t>> batches;
  for (std::size_t i = 0; i < r.participants.size(); ++i) {
    if (r.participants[i].level != level)
      continue;
    if (batches.empty() || batches.back().size() >= std::max<std::uint32_t>(1, parallelism))
      batches.emplace_back();
    batches.back().push_back(i);
  }
  return batches;
}

std::uint32_t last_level(const site_record& r) {
  std::uint32_t last = 0;
  for (const auto& p : r.participants)
    last = std::max(last, p.level);
  return last;
}

std::int64_t estimate_rto(const site_record& r) {
  std::int64_t total = 0;
  for (std::uint32_t level = 0; level <= last_level(r); ++level)
    for (const auto& batch : level_batches(r, level, r.parallelism)) {
      std::int64_t longest = 0;
      for (auto i : batch)
        longest = std::max(longest, r.participants[i].estimated_ms);
      total += longest;
    }
  return total;
}

std::string busiest_site(const config::switchyard_config& cfg, const service_state_list& states,
                         const std::string& except) {
  std::map<std::string, int> count;
  for (const auto& st : states)
    if (const auto* svc = cfg.find_service(st.service.value))
      if (const auto* p = svc->find_instance(st.primary.value); p != nullptr && p->site != except)
        ++count[p->site];
  std::string best;
  for (const auto& [site, n] : count)
    if (best.empty() || n > count[best])
      best = site;
  return best;
}

} // namespace switchyard::actors

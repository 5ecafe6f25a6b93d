#include "rules/site_assessment.hpp"

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

// The instances of `svc` on `site` that are not healthy: a failback to the
// site is refused while there is any (see assess_site).
std::vector<std::string> not_ready_on(const config::service_settings& svc, const service_state& st,
                                      const std::string& site) {
  std::vector<std::string> down;
  for (const auto& inst : svc.instances)
    if (inst.site == site && health_of(st, inst.name) != health_status::healthy)
      down.push_back(inst.name);
  return down;
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
  const bool back =
      in.operation == site_operation::failback || in.operation == site_operation::drill_failback;
  std::map<std::string, const service_state*> state_of;
  for (const auto& st : in.states)
    state_of[st.service.value] = &st;
  config::dependency_graph graph{cfg.services};
  auto order = graph.topological_order().value_or(std::vector<std::string>{});
  std::map<std::string, std::uint32_t> level_of; // participants only
  std::vector<std::string> cannot_return;        // warnings: no failback possible now
  for (const auto& name : order) {
    const auto* svc = cfg.find_service(name);
    auto s = state_of.find(name);
    if (svc == nullptr || s == state_of.end())
      continue;
    const auto& st = *s->second;
    const auto* primary = svc->find_instance(st.primary.value);
    if (!in.only.empty() && in.only.count(name) == 0) {
      r.untouched.push_back(
          fmt::format("{}: not moved by the drill (primary {})", name, st.primary.value));
      continue;
    }
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
    if (back && p.blocker.empty())
      for (const auto& inst : svc->instances)
        if (inst.site == in.to_site && health_of(st, inst.name) != health_status::healthy) {
          p.blocker = fmt::format("site {} is not ready: {} is {}", in.to_site, inst.name,
                                  to_string(health_of(st, inst.name)));
          break;
        }
    // The way back: a failback needs every instance on the site left healthy.
    if (!back && p.blocker.empty()) {
      auto down = not_ready_on(*svc, st, in.from_site);
      std::vector<std::string> states_of;
      for (const auto& d : down)
        states_of.push_back(fmt::format("{} is {}", d, to_string(health_of(st, d))));
      if (!down.empty() && in.then_failback)
        p.blocker = fmt::format("its failback to site {} could not run: {}; the drill would leave "
                                "it on site {} (bring {} back first, or drill with --no-failback)",
                                in.from_site, fmt::join(states_of, ", "), in.to_site,
                                fmt::join(down, ", "));
      else if (!down.empty())
        cannot_return.push_back(fmt::format("{}: {}", name, fmt::join(states_of, ", ")));
    }
    if (!p.blocker.empty())
      r.blockers.push_back(fmt::format("{}: {}", name, p.blocker));
    r.participants.push_back(std::move(p));
  }
  if (!cannot_return.empty())
    r.detail = fmt::format("warning: a failback to site {} could not run now (it needs every "
                           "instance there healthy): {}; a DR drill (over and back) would be "
                           "refused",
                           in.from_site, fmt::join(cannot_return, "; "));
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

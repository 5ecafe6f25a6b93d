#include "rules/failure_rules.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace switchyard::actors {

namespace {

// "250ms", "10s", "2m", "1m30s": as an operator writes it in the file.
std::string describe(caf::timespan d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms == 0)
    return "0s";
  std::string out;
  auto part = [&](long long unit, const char* suffix) {
    if (ms >= unit) {
      out += std::to_string(ms / unit) + suffix;
      ms %= unit;
    }
  };
  part(3'600'000, "h");
  part(60'000, "m");
  part(1'000, "s");
  part(1, "ms");
  return out;
}

std::string join_names(const std::vector<std::string>& names, const std::string& sep = ", ") {
  std::string out;
  for (const auto& n : names)
    out += out.empty() ? n : sep + n;
  return out;
}

} // namespace

void failure_rules::configure(const std::vector<config::service_settings>& services) {
  deps_.configure(services);
  sites_.clear();
  interval_of_.clear();
  std::set<std::string> configured;
  for (const auto& svc : services) {
    interval_of_[svc.name] = svc.health_check.interval;
    for (const auto& inst : svc.instances) {
      auto& info = instances_[inst.name];
      info.service = svc.name;
      info.site = inst.site;
      sites_[inst.site].push_back(inst.name);
      configured.insert(inst.name);
    }
  }
  std::erase_if(instances_, [&](const auto& i) { return !configured.count(i.first); });
  std::erase_if(open_, [&](const auto& i) { return !configured.count(i.first); });
  std::erase_if(
      held_, [&](const held_failure& h) { return !configured.count(h.detection.instance.value); });
  std::erase_if(down_sites_, [this](const std::string& s) { return !sites_.count(s); });
}

void failure_rules::remember_transition(const std::string& service, const std::string& instance,
                                        time_point at, time_point now) {
  auto window = caf::timespan{settings_.flapping.window};
  if (now - at > window)
    return;
  auto& info = instances_[instance];
  if (info.service.empty())
    info.service = service;
  info.transitions.insert(std::upper_bound(info.transitions.begin(), info.transitions.end(), at),
                          at);
}

void failure_rules::set_primary(const std::string& service, const std::string& instance,
                                time_point now) {
  deps_.set_primary(service, instance, now);
}

bool failure_rules::has_open_failure(const std::string& instance) const {
  return open_.count(instance) > 0;
}

void failure_rules::persisted(const failure_detection& d, detection_id id) {
  auto i = open_.find(d.instance.value);
  if (i != open_.end() && d.type == i->second.type && i->second.id.value == 0)
    i->second.id = id;
}

failure_detection failure_rules::base(const health_transition& t, bool is_primary) const {
  failure_detection d;
  d.service = t.service;
  d.instance = t.instance;
  d.affects_primary = is_primary;
  d.at = t.at;
  d.refused = t.refused;
  return d;
}

failure_rules::time_point failure_rules::failure_start(const health_transition& t,
                                                       time_point now) const {
  // The first failed probe was about `streak` intervals ago.
  auto i = interval_of_.find(t.service.value);
  if (i == interval_of_.end())
    return now;
  return now - i->second * static_cast<std::int64_t>(t.streak);
}

std::string failure_rules::flapping_note(const std::string& instance) const {
  auto i = instances_.find(instance);
  auto limit = static_cast<std::size_t>(settings_.flapping.transitions);
  if (i == instances_.end() || i->second.transitions.size() <= limit)
    return {};
  return fmt::format("; flapping: {} health transitions within {} (more than {})",
                     i->second.transitions.size(), describe(settings_.flapping.window), limit);
}

std::optional<classified> failure_rules::note_transition(const health_transition& t,
                                                         time_point now) {
  auto& info = instances_[t.instance.value];
  if (info.service.empty())
    info.service = t.service.value;
  auto window = caf::timespan{settings_.flapping.window};
  info.transitions.push_back(now);
  while (!info.transitions.empty() && now - info.transitions.front() > window)
    info.transitions.pop_front();
  auto limit = static_cast<std::size_t>(settings_.flapping.transitions);
  if (info.transitions.size() <= limit || (info.flap_noted && now - *info.flap_noted < window))
    return std::nullopt;
  info.flap_noted = now;
  auto d = base(t, deps_.is_primary(t.service.value, t.instance.value));
  d.type = failure_type::flapping;
  d.level = severity::warning;
  d.evidence = fmt::format(
      "{} {} of {} is flapping: {} health transitions within {} (more than {}); "
      "now {}. Failovers are still limited to one per block period; reported "
      "once per {}",
      d.affects_primary ? "primary" : "standby", t.instance.value, t.service.value,
      info.transitions.size(), describe(window), limit, to_string(t.to), describe(window));
  return classified{std::move(d), false};
}

classified failure_rules::cascading(failure_detection d, const dependency_tracker::root_cause& root,
                                    const std::string& note) const {
  d.type = failure_type::cascading;
  d.level = severity::critical;
  d.evidence += fmt::format(
      "; cascading: its dependency {} {} (root cause: primary {} of {}{}): {} is not failed "
      "over for it, {} is the service to fail over{}",
      root.service, root.still_down ? "is down" : "was down when this began", root.instance,
      root.service, root.still_down ? "" : ", since recovered or failed over", d.service.value,
      root.service, note);
  return classified{std::move(d), false};
}

void failure_rules::decide_primary(failure_detection d, time_point since, time_point now,
                                   classification& out) {
  const auto& instance = d.instance.value;
  auto& open = open_[instance];
  if (auto root = deps_.root_cause_of(d.service.value, since)) {
    open.type = failure_type::cascading;
    out.detections.push_back(cascading(std::move(d), *root, ""));
    return;
  }
  const auto& site = instances_[instance].site;
  const auto& site_rule = settings_.site_disaster;
  if (site_rule && !site.empty() && site_down(site)) {
    open.suppressed = true;
    d.evidence += fmt::format("; not acted on: site {} is down (see its site_wide detection): "
                              "recommend a site switchover",
                              site);
    out.detections.push_back(classified{std::move(d), false});
    return;
  }
  caf::timespan hold{0};
  bool site_check = site_rule && !site.empty();
  bool dependency_check = deps_.has_dependencies(d.service.value);
  if (site_check)
    hold = std::max(hold, caf::timespan{site_rule->window});
  if (dependency_check)
    hold = std::max(hold, caf::timespan{settings_.cascade_hold});
  if (hold.count() > 0) {
    held_.push_back(held_failure{std::move(d), now + hold, since, hold, site_check,
                                 dependency_check && settings_.cascade_hold.count() > 0});
    out.wake_after = out.wake_after ? std::min(*out.wake_after, hold) : hold;
    return;
  }
  open.forwarded = true;
  out.detections.push_back(classified{std::move(d), true});
}

classified failure_rules::release(held_failure h, time_point now) {
  auto& d = h.detection;
  auto& open = open_[d.instance.value];
  std::vector<std::string> checks;
  if (h.site_check)
    checks.push_back(fmt::format("the site-disaster check of site {} ({} of its instances "
                                 "failed within {}, threshold {})",
                                 instances_[d.instance.value].site,
                                 recent_failures(instances_[d.instance.value].site, now).size(),
                                 describe(settings_.site_disaster->window),
                                 site_threshold(instances_[d.instance.value].site)));
  if (h.dependency_check)
    checks.push_back("a failing dependency (" + join_names(deps_.dependencies_of(d.service.value)) +
                     ")");
  if (auto root = deps_.root_cause_of(d.service.value, h.since)) {
    open.type = failure_type::cascading;
    return cascading(std::move(d), *root,
                     fmt::format("; it was held {} to find this out", describe(h.hold)));
  }
  d.evidence += fmt::format("; held {} for {}: none, handed to the coordinator", describe(h.hold),
                            join_names(checks, " and "));
  open.forwarded = true;
  return classified{std::move(d), true};
}

void failure_rules::reclassify_dependents(const std::string& service, const failure_detection& root,
                                          time_point since, classification& out) {
  // Only failures that began after the root's did, give or take one of its
  // probe intervals: a dependent that has been down for an hour was not
  // brought down by a database failing now.
  auto slack = interval_of_.count(service) ? interval_of_.at(service) : caf::timespan{0};
  dependency_tracker::root_cause cause{service, root.instance.value, true};
  for (const auto& dependent : deps_.dependents_of(service)) {
    for (const auto& [name, info] : instances_) {
      auto open = open_.find(name);
      if (info.service != dependent || !info.failed_at || *info.failed_at < since - slack ||
          open == open_.end() || !open->second.primary ||
          open->second.type != failure_type::unreachable || open->second.suppressed)
        continue;
      auto held = std::find_if(held_.begin(), held_.end(), [&](const held_failure& h) {
        return h.detection.instance.value == name;
      });
      if (held != held_.end()) {
        // Its hold ends now: the dependency it was waiting to hear about failed.
        auto h = std::move(*held);
        held_.erase(held);
        open->second.type = failure_type::cascading;
        out.detections.push_back(cascading(std::move(h.detection), cause,
                                           fmt::format("; it was held until {} failed", service)));
        continue;
      }
      if (!open->second.forwarded)
        continue;
      open->second.type = failure_type::cascading;
      failure_detection d;
      d.service = service_id{dependent};
      d.instance = instance_id{name};
      d.affects_primary = true;
      d.at = root.at;
      d.evidence =
          fmt::format("primary {} of {} failed before its dependency did", name, dependent);
      auto id = open->second.id.value;
      auto earlier = id > 0 ? fmt::format(" #{}", id) : std::string{};
      const auto& now_primary = deps_.primary_of(dependent);
      out.detections.push_back(cascading(
          std::move(d), cause,
          now_primary == name
              ? fmt::format("; its unreachable detection{} came first and was handed to the "
                            "coordinator: a failover of {} may already have started",
                            earlier, dependent)
              : fmt::format("; its unreachable detection{} came first and was acted on: {} "
                            "has been failed over already (its primary is now {})",
                            earlier, dependent, now_primary)));
    }
  }
}

std::size_t failure_rules::site_threshold(const std::string& site) const {
  auto i = sites_.find(site);
  auto size = i == sites_.end() ? std::size_t{0} : i->second.size();
  const auto& rule = *settings_.site_disaster;
  auto by_share =
      static_cast<std::size_t>(std::ceil(rule.share * static_cast<double>(size) - 1e-9));
  return std::max(by_share, static_cast<std::size_t>(rule.min_instances));
}

std::vector<std::string> failure_rules::recent_failures(const std::string& site,
                                                        time_point now) const {
  std::vector<std::string> out;
  auto members = sites_.find(site);
  if (members == sites_.end())
    return out;
  auto window = caf::timespan{settings_.site_disaster->window};
  for (const auto& name : members->second) {
    auto i = instances_.find(name);
    if (i != instances_.end() && i->second.health == health_status::unhealthy &&
        i->second.failed_at && now - *i->second.failed_at <= window)
      out.push_back(name);
  }
  return out;
}

std::size_t failure_rules::unhealthy_in(const std::string& site) const {
  std::size_t n = 0;
  if (auto members = sites_.find(site); members != sites_.end())
    for (const auto& name : members->second)
      if (auto i = instances_.find(name);
          i != instances_.end() && i->second.health == health_status::unhealthy)
        ++n;
  return n;
}

void failure_rules::check_site(const std::string& site, const health_transition& t, time_point now,
                               classification& out) {
  if (!settings_.site_disaster || site.empty() || site_down(site))
    return;
  auto failed = recent_failures(site, now);
  auto threshold = site_threshold(site);
  auto size = sites_[site].size();
  if (failed.size() < threshold)
    return;
  down_sites_.insert(site);
  std::vector<std::string> described;
  for (const auto& name : failed) {
    const auto& svc = instances_[name].service;
    described.push_back(fmt::format("{} ({} of {})", name,
                                    deps_.is_primary(svc, name) ? "primary" : "standby", svc));
  }
  const auto& rule = *settings_.site_disaster;
  auto d = base(t, false);
  d.type = failure_type::site_wide;
  d.level = severity::critical;
  d.evidence = fmt::format(
      "site {} is down: {} of its {} instances turned unhealthy within {} (threshold {}: share "
      "{}, at least {}): {}. Primaries failing there are not failed over automatically until "
      "fewer than {} of its instances are unhealthy: recommend a site switchover",
      site, failed.size(), size, describe(rule.window), threshold, rule.share, rule.min_instances,
      join_names(described), threshold);
  out.detections.push_back(classified{std::move(d), false});
  // Held failures in this site are part of it: recorded, not acted on.
  for (auto h = held_.begin(); h != held_.end();) {
    if (instances_[h->detection.instance.value].site != site) {
      ++h;
      continue;
    }
    auto held = std::move(*h);
    h = held_.erase(h);
    open_[held.detection.instance.value].suppressed = true;
    held.detection.evidence += fmt::format(
        "; held for the site-disaster check (up to {}): not acted on, site {} is down (see its "
        "site_wide detection): recommend a site switchover",
        describe(held.hold), site);
    out.detections.push_back(classified{std::move(held.detection), false});
  }
}

void failure_rules::check_site_recovery(const std::string& site, const health_transition& t,
                                        classification& out) {
  if (!settings_.site_disaster || !site_down(site))
    return;
  auto unhealthy = unhealthy_in(site);
  auto threshold = site_threshold(site);
  if (unhealthy >= threshold)
    return;
  down_sites_.erase(site);
  auto d = base(t, deps_.is_primary(t.service.value, t.instance.value));
  d.type = failure_type::recovered;
  d.level = severity::info;
  d.evidence = fmt::format("site {} recovered: {} of its {} instances unhealthy, below the "
                           "site-disaster threshold {}; primaries failing there are acted on "
                           "again (those still down since the disaster are not: fail them over "
                           "by hand if needed)",
                           site, unhealthy, sites_[site].size(), threshold);
  out.detections.push_back(classified{std::move(d), false});
}

classification failure_rules::classify(const health_transition& t, time_point now) {
  classification out;
  const auto& service = t.service.value;
  const auto& instance = t.instance.value;
  bool was_unhealthy = instances_[instance].health == health_status::unhealthy;
  deps_.observe(t, now);
  auto& info = instances_[instance];
  info.health = t.to;
  if (t.to != health_status::unhealthy)
    info.failed_at.reset();
  else if (!was_unhealthy)
    info.failed_at = now;
  if (auto flap = note_transition(t, now))
    out.detections.push_back(std::move(*flap));
  bool is_primary = deps_.is_primary(service, instance);
  auto role = is_primary ? "primary" : "standby";
  auto site = info.site;
  if (t.to == health_status::unhealthy) {
    if (has_open_failure(instance))
      return out; // already reported, not recovered since
    auto d = base(t, is_primary);
    d.type = failure_type::unreachable;
    d.level = is_primary ? severity::critical : severity::warning;
    d.evidence =
        fmt::format("{} {} of {} failed {} consecutive probes (was {}); last: {}{}", role, instance,
                    service, t.streak, to_string(t.from), t.reason, flapping_note(instance));
    if (is_primary) {
      auto root = d;
      open_[instance].primary = true;
      auto since = failure_start(t, now);
      decide_primary(std::move(d), since, now, out);
      reclassify_dependents(service, root, since, out);
    } else {
      open_[instance].forwarded = true;
      out.detections.push_back(classified{std::move(d), true});
    }
    check_site(site, t, now, out);
    return out;
  }
  if (t.to == health_status::healthy && has_open_failure(instance)) {
    open_.erase(instance);
    auto held = std::find_if(held_.begin(), held_.end(), [&](const held_failure& h) {
      return h.detection.instance.value == instance;
    });
    if (held != held_.end()) {
      // Back before its hold ended: recorded, nothing to act on.
      auto h = std::move(*held);
      held_.erase(held);
      h.detection.evidence +=
          fmt::format("; recovered during its {} hold: not acted on", describe(h.hold));
      out.detections.push_back(classified{std::move(h.detection), false});
    }
    auto d = base(t, is_primary);
    d.type = failure_type::recovered;
    d.level = severity::info;
    d.evidence = fmt::format("{} {} of {} healthy again after {} consecutive probes; last: {}{}",
                             role, instance, service, t.streak, t.reason, flapping_note(instance));
    out.detections.push_back(classified{std::move(d), true});
  }
  if (t.to == health_status::healthy)
    check_site_recovery(site, t, out);
  return out;
}

classification failure_rules::release_due(time_point now) {
  classification out;
  std::vector<held_failure> due;
  for (auto h = held_.begin(); h != held_.end();) {
    if (h->due <= now) {
      due.push_back(std::move(*h));
      h = held_.erase(h);
    } else {
      ++h;
    }
  }
  for (auto& h : due)
    out.detections.push_back(release(std::move(h), now));
  return out;
}

} // namespace switchyard::actors

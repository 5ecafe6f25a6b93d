#include "actors/performance_monitor.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "messages/error.hpp"

namespace switchyard::actors {

void performance_monitor_state::configure(const std::vector<config::service_settings>& configured) {
  std::map<std::string, service_entry> next;
  std::map<std::string, std::string> next_service_of;
  std::map<std::string, scrape_target> next_targets;
  for (const auto& svc : configured) {
    if (!svc.performance)
      continue;
    service_entry entry{*svc.performance, svc.health_check.fall, {}};
    for (const auto& inst : svc.instances)
      if (inst.role == config::instance_role::primary)
        entry.primary = inst.name;
    auto old = services.find(svc.name);
    bool same = old != services.end() && old->second.settings == entry.settings &&
                old->second.fall == entry.fall;
    if (old != services.end() && svc.find_instance(old->second.primary) != nullptr)
      entry.primary = old->second.primary; // the coordinator's word beats the file's
    for (const auto& inst : svc.instances) {
      next_service_of[inst.name] = svc.name;
      auto w = windows.find(inst.name);
      auto was = service_of.find(inst.name);
      bool keep = same && w != windows.end() && was != service_of.end() && was->second == svc.name;
      if (!keep) {
        if (w != windows.end())
          windows.erase(w);
        windows.emplace(inst.name, performance_window{entry.settings, entry.fall});
      }
      if (entry.settings.metrics)
        next_targets.emplace(inst.name,
                             make_scrape_target(svc.name, inst, *entry.settings.metrics));
    }
    next.emplace(svc.name, std::move(entry));
  }
  for (auto i = windows.begin(); i != windows.end();)
    i = next_service_of.count(i->first) > 0 ? std::next(i) : windows.erase(i);
  services = std::move(next);
  service_of = std::move(next_service_of);
  scrape_targets = std::move(next_targets);
}

void performance_monitor_state::set_primary(const std::string& service,
                                            const std::string& instance) {
  if (auto i = services.find(service); i != services.end())
    i->second.primary = instance;
}

std::optional<performance_verdict>
performance_monitor_state::verdict(const std::string& instance,
                                   std::optional<performance_window::change> change) {
  if (!change)
    return std::nullopt;
  const auto& service = service_of[instance];
  performance_verdict v;
  v.service = service_id{service};
  v.instance = instance_id{instance};
  v.degraded = change->degraded;
  v.primary = services[service].primary == instance;
  v.evidence = std::move(change->evidence);
  v.at = caf::make_timestamp();
  return v;
}

std::optional<performance_verdict> performance_monitor_state::on_probe(const probe_sample& sample,
                                                                       time_point now) {
  auto w = windows.find(sample.instance.value);
  if (w == windows.end())
    return std::nullopt; // not monitored
  return verdict(sample.instance.value, w->second.add_probe(sample.ok, sample.latency, now));
}

std::optional<performance_verdict>
performance_monitor_state::on_scrape(const metrics_scrape& scrape, time_point now) {
  auto w = windows.find(scrape.instance.value);
  if (w == windows.end())
    return std::nullopt; // a scraper of a service reconfigured meanwhile
  auto before = w->second.last_scrape_error();
  auto change = w->second.add_scrape(scrape, now);
  const auto& after = w->second.last_scrape_error();
  // Logged when it starts and stops failing, not at every interval.
  if (!after.empty() && before.empty())
    spdlog::warn("{}/{}: metrics scrape failed (repeated at debug level): {}", scrape.service.value,
                 scrape.instance.value, after);
  else if (after.empty() && !before.empty())
    spdlog::info("{}/{}: metrics scrape works again", scrape.service.value, scrape.instance.value);
  return verdict(scrape.instance.value, std::move(change));
}

std::optional<performance_stats>
performance_monitor_state::service_stats(const std::string& service, time_point now) const {
  auto s = services.find(service);
  if (s == services.end())
    return std::nullopt;
  auto w = windows.find(s->second.primary);
  if (w == windows.end())
    return std::nullopt;
  return w->second.stats(now);
}

namespace {

using monitor_ptr = performance_monitor_actor::stateful_pointer<performance_monitor_state>;

// Scrapers follow the configuration: changed or removed targets stop, new ones start.
void sync_scrapers(monitor_ptr self) {
  auto& st = self->state;
  for (auto i = st.scrapers.begin(); i != st.scrapers.end();) {
    auto wanted = st.scrape_targets.find(i->first);
    if (wanted != st.scrape_targets.end() && wanted->second == i->second.first) {
      ++i;
      continue;
    }
    // An exit we ask for must not take the monitor down with it.
    self->unlink_from(i->second.second);
    self->send_exit(i->second.second, caf::exit_reason::user_shutdown);
    i = st.scrapers.erase(i);
  }
  auto me = caf::actor_cast<performance_monitor_actor>(self);
  for (const auto& [instance, target] : st.scrape_targets) {
    if (st.scrapers.count(instance) > 0)
      continue;
    // Detached: a scrape blocks for up to its timeout. Linked: it ends with the monitor.
    auto scraper = self->spawn<caf::detached + caf::linked>(metrics_scraper, target, me);
    st.scrapers.emplace(instance, std::make_pair(target, scraper));
  }
}

void report(monitor_ptr self, std::optional<performance_verdict> v) {
  if (!v)
    return;
  spdlog::log(v->degraded ? spdlog::level::warn : spdlog::level::info, "{}/{}: {}: {}",
              v->service.value, v->instance.value,
              v->degraded ? "performance degraded" : "performance recovered", v->evidence);
  if (auto cls = self->state.peers->classifier())
    self->send(cls, std::move(*v));
  else
    spdlog::error("{}/{}: classifier unavailable, performance verdict not recorded",
                  v->service.value, v->instance.value);
}

} // namespace

performance_monitor_actor::behavior_type
performance_monitor(performance_monitor_actor::stateful_pointer<performance_monitor_state> self,
                    std::shared_ptr<const config::switchyard_config> cfg, bool scrape,
                    peers_ptr peers) {
  self->state.peers = std::move(peers);
  self->state.configure(cfg->services);
  if (scrape)
    sync_scrapers(self);
  // A restarted monitor learns the primaries from the coordinator; at the
  // daemon's start the coordinator's topology comes through the classifier.
  if (auto coord = self->state.peers->coordinator())
    self->request(coord, std::chrono::seconds(10), get_state_atom::value)
        .then(
            [self](service_state_list& list) {
              for (const auto& s : list)
                self->state.set_primary(s.service.value, s.primary.value);
            },
            [](caf::error& err) {
              spdlog::warn("performance monitor: primaries not known yet ({}); the file's "
                           "primaries count until the coordinator says otherwise",
                           describe(err));
            });
  return {
      [self](probe_sample& s) { report(self, self->state.on_probe(s, self->clock().now())); },
      [self](metrics_scrape& s) { report(self, self->state.on_scrape(s, self->clock().now())); },
      [self](service_topology& t) { self->state.set_primary(t.service.value, t.primary.value); },
      [self, scrape](config_update& update) {
        if (!update.cfg)
          return;
        self->state.configure(update.cfg->services);
        if (scrape)
          sync_scrapers(self);
      },
  };
}

} // namespace switchyard::actors

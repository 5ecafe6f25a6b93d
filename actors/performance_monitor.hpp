// The performance monitor: sliding windows of every monitored instance's
// response time, error rate and throughput (actors/performance_window.*),
// fed by the health checkers' probe samples and, where configured, by
// scrapes of the instance's Prometheus endpoint (one detached
// metrics_scraper per instance). A threshold crossed for `hold` becomes a
// `degraded` detection, persisted by the classifier; its end an info
// `recovered` one. Nothing here triggers a failover.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_clock.hpp>

#include "actors/metrics_scraper.hpp"
#include "actors/peers.hpp"
#include "config/model.hpp"
#include "messages/interfaces.hpp"
#include "rules/performance_window.hpp"

namespace switchyard::actors {

struct performance_monitor_state {
  using time_point = caf::actor_clock::time_point;

  performance_monitor_state() = default;
  static inline const char* const name = "performance_monitor";
  peers_ptr peers; ///< the classifier (verdicts) and the coordinator (primaries at start)

  struct service_entry {
    config::performance_settings settings;
    int fall = 3;
    std::string primary;
  };

  /// Services with a `performance` section, by name.
  std::map<std::string, service_entry> services;
  std::map<std::string, std::string> service_of;       ///< monitored instance -> its service
  std::map<std::string, performance_window> windows;   ///< by instance
  std::map<std::string, scrape_target> scrape_targets; ///< instances with metrics, by instance
  /// Running scrapers and what they scrape, by instance.
  std::map<std::string, std::pair<scrape_target, metrics_scraper_actor>> scrapers;

  /// Applies the configured services (at start and on every reload). The
  /// windows of an instance whose service's performance settings or health
  /// check changed start over; known primaries are kept.
  void configure(const std::vector<config::service_settings>& configured);

  /// Records who is primary for `service`.
  void set_primary(const std::string& service, const std::string& instance);

  /// One probe of an instance; a verdict to report when it changed.
  std::optional<performance_verdict> on_probe(const probe_sample& sample, time_point now);

  /// One scrape of an instance; a verdict to report when it changed.
  std::optional<performance_verdict> on_scrape(const metrics_scrape& scrape, time_point now);

  /// The service's numbers: its primary's window.
  [[nodiscard]] std::optional<performance_stats> service_stats(const std::string& service,
                                                               time_point now) const;

private:
  std::optional<performance_verdict> verdict(const std::string& instance,
                                             std::optional<performance_window::change> change);
};

/// `scrape`: spawn the metrics scrapers (false in tests, which send scrapes).
performance_monitor_actor::behavior_type
performance_monitor(performance_monitor_actor::stateful_pointer<performance_monitor_state> self,
                    std::shared_ptr<const config::switchyard_config> cfg, bool scrape,
                    peers_ptr peers);

} // namespace switchyard::actors

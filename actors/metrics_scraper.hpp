// Scrapes one instance's Prometheus text endpoint on its own timer and sends
// what it found to the performance monitor. A scrape blocks (HTTP GET bounded
// by its timeout), so the monitor spawns scrapers detached: they never hold
// up the cooperative scheduler.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "config/model.hpp"
#include "messages/interfaces.hpp"
#include "observability/prometheus_text.hpp"

namespace switchyard::actors {

/// Where and what to scrape for one instance.
struct scrape_target {
  std::string service;
  std::string instance;
  std::string host;
  std::uint16_t port = 0; ///< the metrics port (the instance's unless configured)
  config::metrics_settings metrics;

  bool operator==(const scrape_target&) const = default;
};

/// The target for `instance` of `service` (its port unless metrics.port is set).
scrape_target make_scrape_target(const std::string& service,
                                 const config::instance_settings& instance,
                                 const config::metrics_settings& metrics);

/// The configured counters and latency metric from parsed text; latencies in
/// seconds (a name ending in _ms or _milliseconds is taken as milliseconds).
/// Pure.
metrics_scrape extract_metrics(const prometheus_text& text, const config::metrics_settings& m);

/// GET http://host:port/path, bounded by metrics.timeout, and extract. Blocks.
metrics_scrape scrape_once(const scrape_target& target);

struct metrics_scraper_state {
  metrics_scraper_state() = default;
  static inline const char* const name = "metrics_scraper";
  scrape_target target;
};

/// Scrapes at once, then every metrics.interval; sends each result to `monitor`.
metrics_scraper_actor::behavior_type
metrics_scraper(metrics_scraper_actor::stateful_pointer<metrics_scraper_state> self,
                scrape_target target, performance_monitor_actor monitor);

} // namespace switchyard::actors

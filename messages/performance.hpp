// Performance of instances: what one scrape of an instance's metrics endpoint
// found, and the performance monitor's verdicts (degraded, back within
// thresholds) that the failure classifier persists as detections.
#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>
#include <caf/timestamp.hpp>

#include "messages/ids.hpp"

namespace switchyard {

/// How the configured latency metric was exposed.
enum class latency_metric : std::uint8_t {
  none,      ///< not configured, or not in this scrape
  histogram, ///< <name>_sum and <name>_count (a histogram or a summary)
  gauge,     ///< <name> itself
};

/// One scrape of one instance's Prometheus text endpoint. Counter values are
/// summed over every label set of the metric; latencies are in seconds.
struct metrics_scrape {
  service_id service;
  instance_id instance;
  std::string error; ///< why the scrape failed; empty when it worked
  bool has_requests = false;
  double requests = 0; ///< the requests counter
  bool has_errors = false;
  double errors = 0; ///< the errors counter
  latency_metric latency = latency_metric::none;
  double latency_sum = 0;   ///< histogram: seconds spent on all requests
  double latency_count = 0; ///< histogram: requests observed
  double latency_value = 0; ///< gauge: seconds
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, metrics_scrape& x) {
  return f(caf::meta::type_name("metrics_scrape"), x.service, x.instance, x.error, x.has_requests,
           x.requests, x.has_errors, x.errors, x.latency, x.latency_sum, x.latency_count,
           x.latency_value);
}

/// The performance monitor's conclusion about one instance: degraded (a
/// threshold crossed for `hold`) or back within every threshold (for `hold`).
struct performance_verdict {
  service_id service;
  instance_id instance;
  bool degraded = false;
  bool primary = false; ///< the instance was its service's primary
  std::string evidence; ///< the numbers and the thresholds they crossed
  caf::timestamp at;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, performance_verdict& x) {
  return f(caf::meta::type_name("performance_verdict"), x.service, x.instance, x.degraded,
           x.primary, x.evidence, x.at);
}

} // namespace switchyard

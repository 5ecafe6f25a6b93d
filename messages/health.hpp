// Health of instances: the raw outcome of one probe and the transitions
// between healthy and unhealthy that the health checker derives from them.
#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>
#include <caf/timestamp.hpp>

#include "messages/ids.hpp"

namespace switchyard {

enum class health_status : std::uint8_t { unknown, healthy, unhealthy };

const char* to_string(health_status x);

/// The outcome of one probe of one instance.
struct probe_sample {
  service_id service;
  instance_id instance;
  bool ok = false;
  caf::timespan latency{0};
  std::string detail; ///< why it failed, or a short note on success
  caf::timestamp at;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, probe_sample& x) {
  return f(caf::meta::type_name("probe_sample"), x.service, x.instance, x.ok, x.latency, x.detail,
           x.at);
}

/// An instance crossed its rise or fall threshold.
struct health_transition {
  service_id service;
  instance_id instance;
  health_status from = health_status::unknown;
  health_status to = health_status::unknown;
  std::string reason;       ///< the last probe's detail, e.g. "connection refused"
  std::uint32_t streak = 0; ///< consecutive probes that agreed
  caf::timestamp at;
  /// The last probe's connection was refused: the host answered and nothing
  /// listens on the port (the process is gone, or a firewall rejects us).
  bool refused = false;
  /// Seen early: a held connection dropped and the probe run at once failed.
  bool fast = false;
  /// When the first probe of the streak that led here was sent (for `to` =
  /// unhealthy: the first failed probe of the episode, where its downtime
  /// starts); the epoch when not known.
  caf::timestamp since{};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, health_transition& x) {
  return f(caf::meta::type_name("health_transition"), x.service, x.instance, x.from, x.to, x.reason,
           x.streak, x.at, x.refused, x.fast, x.since);
}

} // namespace switchyard

// Classified failures: what the failure classifier concludes from health
// transitions, persisted before anyone acts on it.
#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>
#include <caf/timestamp.hpp>

#include "messages/ids.hpp"

namespace switchyard {

enum class failure_type : std::uint8_t {
  unreachable,    ///< the instance stopped answering its probe (crash, network)
  recovered,      ///< a previously failed instance answers again
  returned,       ///< an instance healthy again while another is primary: being made a replica
  diverged,       ///< it held writes the primary never received (discarded when it rejoined)
  rejoin_failed,  ///< making a returning instance a replica failed: it may serve stale data
  fencing_failed, ///< the old primary could not be fenced and is not confirmed dead
  degraded,       ///< answering, but too slow, too many errors or too little throughput
  cascading,      ///< down because a service it depends on is down (root cause named)
  flapping,       ///< too many health transitions in a window
  site_wide,      ///< a large share of one site's instances failed at once: a site disaster
};

enum class severity : std::uint8_t { info, warning, critical };

const char* to_string(failure_type x);
const char* to_string(severity x);

struct failure_detection {
  detection_id id{0}; ///< 0 until the store has persisted it
  service_id service;
  instance_id instance;
  failure_type type = failure_type::unreachable;
  severity level = severity::warning;
  bool affects_primary = false; ///< the instance was the service's primary when seen
  std::string evidence;         ///< human-readable: what was observed
  caf::timestamp at;
  bool refused = false; ///< its last probe was refused (see health_transition::refused)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, failure_detection& x) {
  return f(caf::meta::type_name("failure_detection"), x.id, x.service, x.instance, x.type, x.level,
           x.affects_primary, x.evidence, x.at, x.refused);
}

/// From the classifier to the coordinator: a detection it would act on could
/// not be journaled (`problem` says why; the classifier retries), or it has
/// been since, or is no longer needed (`problem` empty). Until then the
/// service is not ready, and nothing acts on the failure.
struct unjournaled_detection {
  service_id service;
  instance_id instance;
  std::string problem;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unjournaled_detection& x) {
  return f(caf::meta::type_name("unjournaled_detection"), x.service, x.instance, x.problem);
}

/// From the classifier to the store: a detection the coordinator acts on.
/// Once it is committed, the store hands it (with its id) to the coordinator
/// itself — after an `unjournaled_detection` that clears the service, when
/// `clears_unjournaled` — and answers the classifier as for any detection:
/// one hop fewer between a failure and its decision than through the
/// classifier, and still nothing acts on a detection that is not written.
struct detection_to_act_on {
  failure_detection detection;
  bool clears_unjournaled = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, detection_to_act_on& x) {
  return f(caf::meta::type_name("detection_to_act_on"), x.detection, x.clears_unjournaled);
}

} // namespace switchyard

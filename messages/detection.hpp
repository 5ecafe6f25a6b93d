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
  unreachable, ///< the instance stopped answering its probe (crash, network)
  recovered,   ///< a previously failed instance answers again
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
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, failure_detection& x) {
  return f(caf::meta::type_name("failure_detection"), x.id, x.service, x.instance, x.type, x.level,
           x.affects_primary, x.evidence, x.at);
}

} // namespace switchyard

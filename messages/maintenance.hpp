// Maintenance: an operator takes a service or one instance out of automatic
// action (still monitored) for a while. Persisted, so a restarted
// switchyardd does not fail over a service an operator is working on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/ids.hpp"

namespace switchyard {

/// One maintenance window; `instance` empty: the whole service.
struct maintenance_record {
  service_id service;
  instance_id instance;
  std::string reason;
  std::string principal;     ///< who turned it on
  std::int64_t since_ms = 0; ///< wall clock
  std::int64_t until_ms = 0; ///< wall clock; 0: until turned off
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, maintenance_record& x) {
  return f(caf::meta::type_name("maintenance_record"), x.service, x.instance, x.reason, x.principal,
           x.since_ms, x.until_ms);
}

using maintenance_list = std::vector<maintenance_record>;

/// Ends one maintenance window (store: delete its row).
struct maintenance_clear {
  service_id service;
  instance_id instance;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, maintenance_clear& x) {
  return f(caf::meta::type_name("maintenance_clear"), x.service, x.instance);
}

/// Sent by the coordinator to itself when a window's time is up; ignored if
/// the window was replaced or ended meanwhile (until_ms no longer matches).
struct maintenance_expiry {
  service_id service;
  instance_id instance;
  std::int64_t until_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, maintenance_expiry& x) {
  return f(caf::meta::type_name("maintenance_expiry"), x.service, x.instance, x.until_ms);
}

/// An operator's maintenance on/off, sent by the API to the coordinator.
struct maintenance_request {
  service_id service;
  instance_id instance; ///< empty: the whole service
  bool enable = false;
  std::string reason;
  std::string principal;
  std::int64_t duration_ms = 0; ///< 0: until turned off
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, maintenance_request& x) {
  return f(caf::meta::type_name("maintenance_request"), x.service, x.instance, x.enable, x.reason,
           x.principal, x.duration_ms);
}

struct maintenance_reply {
  bool changed = false; ///< false: it already was in that state
  std::string detail;
  std::int64_t until_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, maintenance_reply& x) {
  return f(caf::meta::type_name("maintenance_reply"), x.changed, x.detail, x.until_ms);
}

} // namespace switchyard

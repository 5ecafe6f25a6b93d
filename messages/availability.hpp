// Availability from persisted health history, per service and per instance,
// over the last hour, day and 30 days (computed by the store).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/ids.hpp"

namespace switchyard {

/// Availability of `service` (every service if empty) up to `now_ms`.
struct availability_query {
  service_id service;
  std::int64_t now_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, availability_query& x) {
  return f(caf::meta::type_name("availability_query"), x.service, x.now_ms);
}

/// One window of one service (instance empty: the service, i.e. its primary
/// of the moment) or one instance.
struct availability_record {
  service_id service;
  instance_id instance;
  std::string window; ///< "1h", "1d", "30d"
  std::int64_t window_ms = 0;
  std::int64_t observed_ms = 0; ///< with a known health: switchyardd was watching
  std::int64_t down_ms = 0;     ///< of which unhealthy
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, availability_record& x) {
  return f(caf::meta::type_name("availability_record"), x.service, x.instance, x.window,
           x.window_ms, x.observed_ms, x.down_ms);
}

using availability_list = std::vector<availability_record>;

} // namespace switchyard

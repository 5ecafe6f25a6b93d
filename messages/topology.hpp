// Who is primary for each service, as persisted and as the coordinator sees it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/timestamp.hpp>

#include "messages/health.hpp"
#include "messages/ids.hpp"
#include "messages/maintenance.hpp"
#include "messages/plan.hpp"

namespace switchyard {

/// The durable topology of one service, loaded by the daemon on start.
struct service_topology {
  service_id service;
  instance_id primary;
  epoch current_epoch{0};
  caf::timestamp last_failover{}; ///< epoch 0 of the clock when never failed over
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_topology& x) {
  return f(caf::meta::type_name("service_topology"), x.service, x.primary, x.current_epoch,
           x.last_failover);
}

using topology_list = std::vector<service_topology>;

struct instance_health {
  instance_id instance;
  health_status status = health_status::unknown;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, instance_health& x) {
  return f(caf::meta::type_name("instance_health"), x.instance, x.status);
}

/// The coordinator's live view of one service (for status queries and tests).
struct service_state {
  service_id service;
  instance_id primary;
  epoch current_epoch{0};
  bool failover_in_flight = false;
  bool in_block_period = false;
  std::vector<instance_health> instances;
  std::string last_decision;    ///< the latest decision and its reason
  maintenance_list maintenance; ///< active windows: the service's and its instances'
  bool shadow = false;          ///< shadow mode: decisions are recorded, never acted on
  std::string tilt;             ///< why automatic failovers are in TILT; empty when not
  /// Could a failover succeed right now? Unknown (false, no reasons) until
  /// first checked; otherwise why not.
  bool ready = false;
  std::vector<std::string> not_ready;
  std::int64_t readiness_checked_ms = 0; ///< unix epoch ms of the last full check; 0: never
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, service_state& x) {
  return f(caf::meta::type_name("service_state"), x.service, x.primary, x.current_epoch,
           x.failover_in_flight, x.in_block_period, x.instances, x.last_decision, x.maintenance,
           x.shadow, x.tilt, x.ready, x.not_ready, x.readiness_checked_ms);
}

using service_state_list = std::vector<service_state>;

/// Counts over every service, for GetStatus: what it shows without the cost
/// of a full service_state_list (readiness, strings) on the coordinator.
struct fleet_summary {
  std::int32_t services = 0;
  std::int32_t instances = 0;
  std::int32_t healthy_instances = 0;
  std::int32_t failovers_in_flight = 0;
  /// Failures that could not be journaled yet ("service: why"): nothing acts
  /// on them until they are (the classifier retries).
  std::vector<std::string> unjournaled;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, fleet_summary& x) {
  return f(caf::meta::type_name("fleet_summary"), x.services, x.instances, x.healthy_instances,
           x.failovers_in_flight, x.unjournaled);
}

/// A service's failover plan as the coordinator would make it now, for export.
struct exported_plan {
  service_id service;
  instance_id primary;
  epoch current_epoch{0};
  std::vector<instance_health> instances;
  bool has_plan = false;
  failover_plan plan;
  std::string note; ///< why there is no plan, or a caveat about it
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, exported_plan& x) {
  return f(caf::meta::type_name("exported_plan"), x.service, x.primary, x.current_epoch,
           x.instances, x.has_plan, x.plan, x.note);
}

using exported_plan_list = std::vector<exported_plan>;

} // namespace switchyard

// Which services' primaries are down, and whether a service's primary failing
// is explained by a (transitive) dependency being down: the root cause of a
// cascading failure. Pure logic, fed by the failure classifier with the
// transitions and topology it sees; time comes in as a parameter.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_clock.hpp>

#include "config/dependencies.hpp"
#include "config/model.hpp"
#include "messages/health.hpp"

namespace switchyard::actors {

class dependency_tracker {
public:
  using time_point = caf::actor_clock::time_point;

  /// A dependency whose primary failed: the root cause of a cascading failure.
  struct root_cause {
    std::string service;  ///< the dependency
    std::string instance; ///< its primary that failed
    /// Still unhealthy and still its primary; false when it recovered or was
    /// failed over since.
    bool still_down = true;
  };

  /// The services and their `depends_on` (validated: acyclic, known names).
  /// Health, primaries and outages of services still configured are kept.
  void configure(const std::vector<config::service_settings>& services);

  /// `instance` is `service`'s primary from `now` on (start, failover, switchover).
  void set_primary(const std::string& service, const std::string& instance, time_point now);
  /// Records an instance's new health.
  void observe(const health_transition& t, time_point now);

  [[nodiscard]] const std::string& primary_of(const std::string& service) const;
  [[nodiscard]] bool is_primary(const std::string& service, const std::string& instance) const;
  [[nodiscard]] bool primary_down(const std::string& service) const;
  [[nodiscard]] bool has_dependencies(const std::string& service) const;

  /// The dependency of `service`, direct or not, whose primary was down at
  /// some time since `since` (down now, or its outage ended after `since`);
  /// when several were, the deepest one (the one whose own dependencies were
  /// all up): a database rather than the cache in front of it.
  [[nodiscard]] std::optional<root_cause> root_cause_of(const std::string& service,
                                                        time_point since) const;

  /// What `service` depends on directly, as configured.
  [[nodiscard]] std::vector<std::string> dependencies_of(const std::string& service) const {
    return graph_.dependencies_of(service);
  }
  /// Everything that depends on `service`, directly or not, nearest first.
  [[nodiscard]] std::vector<std::string> dependents_of(const std::string& service) const;

private:
  struct outage {
    std::string instance;          ///< the primary that failed
    time_point start;              ///< when it turned unhealthy
    std::optional<time_point> end; ///< when the service had a healthy primary again
  };
  struct service_info {
    std::string primary;
    std::map<std::string, health_status> health; ///< by instance
    std::optional<outage> last_outage;           ///< the latest, open or not
  };

  /// Opens or closes the service's outage after its primary or its health changed.
  void update_outage(service_info& s, time_point now);
  [[nodiscard]] bool down_since(const std::string& service, time_point since) const;
  std::optional<root_cause> search(const std::string& service, time_point since,
                                   std::vector<std::string>& visited) const;

  config::dependency_graph graph_;
  std::map<std::string, service_info> services_;
};

} // namespace switchyard::actors

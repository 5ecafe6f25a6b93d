// The backup manager: keeps the catalog at hand, starts a job for each
// tier that is due (and for each operator request), verifies what was not
// verified yet, judges 3-2-1 and RPO per service and says so in events and
// metrics. The jobs (actors/backup_job.cpp) do the I/O in threads of their
// own; the rules they follow are rules/backup_rules.hpp.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/typed_response_promise.hpp>

#include "actors/peers.hpp"
#include "config/model.hpp"
#include "messages/backup.hpp"
#include "messages/interfaces.hpp"

namespace switchyard::actors {

/// What a job is asked to do.
struct backup_job_spec {
  enum class kind : std::uint8_t { take, verify, restore } what = kind::take;
  std::int64_t job = 0;
  std::shared_ptr<const config::switchyard_config> cfg;
  std::string service; ///< or state_backup_service
  backup_list catalog; ///< the service's backups when the job started
  // take
  std::vector<std::string> tiers;
  bool full = false;
  std::string trigger; ///< "schedule" or the operator
  // verify: these points (each with its chain); restore: the request
  std::vector<std::int64_t> points;
  backup_restore_request restore;
  std::string node; ///< artifact names: the cluster member, or "local"
  std::int64_t leader_epoch = 0;
};

/// Runs one job in a thread of its own and tells the manager the outcome.
void run_backup_job(caf::actor_system& sys, backup_job_spec spec, peers_ptr peers,
                    backup_manager_actor manager);

struct backup_manager_state {
  static inline const char* const name = "backup-manager";

  std::shared_ptr<const config::switchyard_config> cfg;
  peers_ptr peers;
  std::string node; ///< "local", or this replica's name in a cluster
  /// Every backup, by service (refreshed from the store after each job).
  std::map<std::string, backup_list> catalog;
  bool loaded = false;
  std::int64_t next_job = 1;
  /// Services with a job running (one at a time per service).
  std::map<std::string, std::int64_t> busy;
  std::unordered_map<std::int64_t, caf::typed_response_promise<backup_list>> creations;
  std::unordered_map<std::int64_t, caf::typed_response_promise<backup_outcome>> outcomes;
  std::unordered_map<std::int64_t, std::string> job_service;
  /// Services whose last compliance said RPO or 3-2-1 was met (for alerting
  /// once when that turns).
  std::map<std::string, bool> compliant;

  /// The policy of `service` (or of the state), nullptr if none.
  const config::backup_policy_settings* policy_of(const std::string& service) const;
  /// The services that have a policy, the state first when it has one.
  std::vector<std::string> backed_up() const;
  /// The tiers of `service` due at `now_ms`.
  std::vector<std::string> due_tiers(const std::string& service, std::int64_t now_ms) const;
  /// Restorable points to verify now: the newest of each tier when it was
  /// never verified or its verification is older than verify_every.
  std::vector<std::int64_t> due_verifications(const std::string& service,
                                              std::int64_t now_ms) const;
  /// 3-2-1 and RPO of `service` now.
  backup_compliance_row compliance(const std::string& service, std::int64_t now_ms) const;
};

backup_manager_actor::behavior_type
backup_manager(backup_manager_actor::stateful_pointer<backup_manager_state> self,
               std::shared_ptr<const config::switchyard_config> cfg, peers_ptr peers,
               std::string node);

} // namespace switchyard::actors

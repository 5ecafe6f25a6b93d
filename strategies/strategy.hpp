// The failover strategy interface: a strategy plans (pure, no side effects)
// and executes a plan step by step through its journal and actions.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <caf/expected.hpp>

#include "config/model.hpp"
#include "messages/health.hpp"
#include "messages/plan.hpp"
#include "messages/site.hpp"
#include "messages/switchover.hpp"
#include "strategies/journal.hpp"

namespace switchyard::strategies {

/// What a strategy knows about a service when it plans.
struct planning_input {
  const config::service_settings* service = nullptr;
  std::string current_primary;
  std::map<std::string, health_status> health; ///< by instance name
  std::string preferred_target{}; ///< an operator's choice; empty: the best healthy standby
  /// The old primary can take part (planned switchover): demote steps run.
  /// False for automatic and forced failovers: it is gone.
  bool old_primary_cooperates = false;
  /// Never promoted (e.g. in maintenance), even if healthy.
  std::set<std::string> excluded{};
};

struct execution_input {
  const config::service_settings* service = nullptr;
  failover_plan plan;
  switchover_id switchover{0};
  std::string old_primary;
  std::string new_primary;
  epoch run_epoch{0};
  /// Planned switchovers undo completed steps (their `rollback` commands, in
  /// reverse) when a later step fails; automatic failovers stop where they are.
  bool rollback_on_failure = false;
  /// Resuming after a restart of switchyardd: the steps already journaled.
  /// Done ones are not run again; a started one is run again (actions are
  /// idempotent); after a failed one only the rollback goes on.
  std::vector<journaled_step> journaled{};
  /// The old primary is confirmed dead by the strategy's rule (dead_when):
  /// a failed fence step is passed over instead of stopping the failover.
  bool old_primary_dead = false;
  /// Cluster mode: the fencing epoch of the leader running it (journaled
  /// with each step, SWITCHYARD_LEADER_EPOCH for exec actions); 0 otherwise.
  std::int64_t leader_epoch = 0;
};

struct execution_result {
  bool success = false;
  std::uint32_t steps_done = 0;
  std::string failed_step; ///< empty on success
  std::uint32_t steps_rolled_back = 0;
  std::string detail; ///< why it failed, or a summary
  /// Non-empty when an operator must act now: a fence step failed and the
  /// old primary is not confirmed dead, so nothing was promoted.
  std::string alert{};
};

/// A promotion candidate with its replication position, if it could be read.
struct ranked_candidate {
  std::string instance;
  std::optional<std::int64_t> position;
  std::string detail; ///< what the position action said
};

/// What bringing a returning instance back as a replica did.
struct rejoin_result {
  bool ok = true;
  std::string detail;
  std::string divergence; ///< non-empty: it held writes the primary never received
};

/// What the prepare phase of a site switchover did for one service.
struct site_prepare_result {
  bool ok = true;
  std::string detail;
};

/// The outcome of the strategy's pre-checks for one promotion candidate.
struct candidate_check_result {
  bool ok = true;
  std::string detail; ///< which check refused it and why; or a summary
};

class failover_strategy {
public:
  virtual ~failover_strategy() = default;

  [[nodiscard]] virtual std::string name() const = 0;

  /// Builds the plan for failing over away from the current primary. Pure.
  /// Fails with no_failover_target when no standby could be promoted.
  [[nodiscard]] virtual caf::expected<failover_plan> plan(const planning_input& in) const = 0;

  /// Whether the strategy has pre-checks to run before promoting a candidate.
  [[nodiscard]] virtual bool has_candidate_checks() const = 0;

  /// Runs the strategy's own pre-checks (blocking, read-only) for promoting
  /// `candidate` in place of `current_primary`.
  [[nodiscard]] virtual candidate_check_result check_candidate(const std::string& current_primary,
                                                               const std::string& candidate) = 0;

  /// `candidates` (best first by priority) ordered by replication position,
  /// most advanced first; ties and unreadable positions keep their order
  /// (unreadable ones go last). Blocking, read-only.
  [[nodiscard]] virtual std::vector<ranked_candidate>
  rank_candidates(const std::string& current_primary,
                  const std::vector<std::string>& candidates) = 0;

  /// Runs the strategy's readiness actions (read-only: are the actions'
  /// endpoints reachable?) as if `candidate` were to replace `current_primary`;
  /// one line per failed action.
  [[nodiscard]] virtual std::vector<std::string> check_readiness(const std::string& current_primary,
                                                                 const std::string& candidate) = 0;

  /// Makes `instance`, healthy again while `primary` is primary, a replica of
  /// it with the strategy's rejoin actions (none configured: nothing to do).
  [[nodiscard]] virtual rejoin_result rejoin(const std::string& primary,
                                             const std::string& instance) = 0;

  /// Starts `instance` (the primary, its process dead on a host that
  /// answers) again with the strategy's restart_in_place actions, in order;
  /// the first that fails stops it. Blocking.
  [[nodiscard]] virtual rejoin_result restart_in_place(const std::string& instance) = 0;

  /// Site switchover, prepare phase: runs the prepare actions against
  /// `target` in order; when one fails, undoes those already done (their
  /// rollback commands, in reverse) and reports the failure.
  [[nodiscard]] virtual site_prepare_result prepare_site(const std::string& current_primary,
                                                         const std::string& target) = 0;
  /// Site switchover aborted: the prepare actions' rollback commands, in
  /// reverse (each is run; failures are reported, not fatal).
  [[nodiscard]] virtual site_prepare_result undo_prepare(const std::string& current_primary,
                                                         const std::string& target) = 0;
  /// How far `target` is behind `current_primary` in the position action's
  /// unit (e.g. bytes); nullopt when there is no position action or either
  /// position cannot be read. Blocking, read-only.
  [[nodiscard]] virtual std::optional<std::int64_t> position_gap(const std::string& current_primary,
                                                                 const std::string& target) = 0;
  /// The integrity actions against the new primary (read-only checks after a
  /// site switchover), one result each.
  [[nodiscard]] virtual std::vector<verification_check>
  check_integrity(const std::string& old_primary, const std::string& new_primary) = 0;

  /// Runs the plan's steps in order. Each step is journaled before its action
  /// runs and finished after; the first failed step (or journal write) stops
  /// the failover and is reported.
  [[nodiscard]] virtual execution_result execute(const execution_input& in,
                                                 step_journal& journal) = 0;
};

/// The strategy configured for `service`.
std::unique_ptr<failover_strategy> make_strategy(const config::service_settings& service);

/// Every configured service's strategy, built once per configuration (at
/// start and on each reload) and shared by whoever runs them. Strategies keep
/// no state between calls (each call builds the actions it runs), so one
/// object serves every worker, on any thread. Holds the configuration the
/// strategies refer to.
class strategy_set {
public:
  explicit strategy_set(std::shared_ptr<const config::switchyard_config> cfg);

  const config::switchyard_config& config() const { return *cfg_; }
  /// The service's settings and strategy; nullptr when it is not configured.
  const config::service_settings* settings(const std::string& service) const;
  failover_strategy* find(const std::string& service) const;

private:
  std::shared_ptr<const config::switchyard_config> cfg_;
  std::vector<std::unique_ptr<failover_strategy>> by_position_; ///< as cfg_->services
};

} // namespace switchyard::strategies

// Active-passive: one primary, standbys waiting. A failover fences the old
// primary, promotes the best healthy standby, reroutes traffic, verifies.
#pragma once

#include <functional>
#include <set>

#include "strategies/action.hpp"
#include "strategies/strategy.hpp"

namespace switchyard::strategies {

using action_factory = std::function<std::unique_ptr<action>(const config::action_settings&)>;

class active_passive : public failover_strategy {
public:
  /// `make` builds each step's action (tests may inject their own); empty:
  /// make_action with this service.
  explicit active_passive(const config::service_settings& service, action_factory make = {});

  std::string name() const override { return "active_passive"; }
  caf::expected<failover_plan> plan(const planning_input& in) const override;
  bool has_candidate_checks() const override {
    return !service_.strategy.checks.empty() || !service_.strategy.position.empty();
  }
  std::vector<ranked_candidate>
  rank_candidates(const std::string& current_primary,
                  const std::vector<std::string>& candidates) override;
  std::vector<std::string> check_readiness(const std::string& current_primary,
                                           const std::string& candidate) override;
  rejoin_result rejoin(const std::string& primary, const std::string& instance) override;
  rejoin_result restart_in_place(const std::string& instance) override;
  candidate_check_result check_candidate(const std::string& current_primary,
                                         const std::string& candidate) override;
  site_prepare_result prepare_site(const std::string& current_primary,
                                   const std::string& target) override;
  site_prepare_result undo_prepare(const std::string& current_primary,
                                   const std::string& target) override;
  std::optional<std::int64_t> position_gap(const std::string& current_primary,
                                           const std::string& target) override;
  std::vector<verification_check> check_integrity(const std::string& old_primary,
                                                  const std::string& new_primary) override;
  execution_result execute(const execution_input& in, step_journal& journal) override;

private:
  /// The context of an action run outside a switchover (checks, positions, rejoin).
  action_context context_for(const std::string& old_primary, const std::string& new_primary,
                             const std::string& target, const char* phase,
                             const std::string& step) const;

  /// Runs the rollback commands of `actions[0, count)` in reverse; what each did.
  std::vector<std::string> undo(const std::vector<config::action_settings>& actions,
                                std::size_t count, const std::string& current_primary,
                                const std::string& target);

  const config::service_settings& service_;
  action_factory make_;
};

/// Healthy instances other than `primary` and not `excluded`, best first
/// (priority desc, then name).
std::vector<const config::instance_settings*>
promotion_candidates(const config::service_settings& service, const std::string& primary,
                     const std::map<std::string, health_status>& health,
                     const std::set<std::string>& excluded = {});

} // namespace switchyard::strategies

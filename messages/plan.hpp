// A failover plan: what a strategy would do for a service right now. Plans
// are persisted (versioned) before a failover executes them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/timestamp.hpp>

#include "messages/ids.hpp"

namespace switchyard {

/// Phase of an active-passive failover. Steps run phase by phase, in this
/// order. `demote` needs the old primary's cooperation (drain, step down)
/// and only runs in planned switchovers; `fence` isolates the old primary
/// without its help and always runs.
enum class step_phase : std::uint8_t { demote, fence, promote, reroute, verify };

const char* to_string(step_phase x);

/// One action of a plan, bound to the instance it acts on.
struct plan_step {
  std::uint32_t sequence = 0; ///< 1-based position in the plan
  step_phase phase = step_phase::fence;
  std::string name;        ///< the action's configured name
  std::string action_kind; ///< "exec", ...
  std::string description; ///< what it does, for operators (the command line)
  instance_id target;      ///< the instance this step acts on
  caf::timespan timeout{0};
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, plan_step& x) {
  return f(caf::meta::type_name("plan_step"), x.sequence, x.phase, x.name, x.action_kind,
           x.description, x.target, x.timeout);
}

struct failover_plan {
  service_id service;
  std::string strategy;                       ///< e.g. "active_passive"
  std::vector<instance_id> primary_targets;   ///< who is primary now (what fails over)
  std::vector<instance_id> secondary_targets; ///< promotion candidates, best first
  std::vector<std::string> triggers;          ///< conditions that start this plan
  std::vector<std::string> rollback_criteria; ///< conditions under which to undo it
  std::vector<plan_step> steps;               ///< for the first secondary target
  caf::timespan estimated_failover_time{0};
  caf::timespan rto{0}; ///< the service's recovery time objective
  caf::timespan rpo{0}; ///< the service's recovery point objective
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, failover_plan& x) {
  return f(caf::meta::type_name("failover_plan"), x.service, x.strategy, x.primary_targets,
           x.secondary_targets, x.triggers, x.rollback_criteria, x.steps, x.estimated_failover_time,
           x.rto, x.rpo);
}

} // namespace switchyard

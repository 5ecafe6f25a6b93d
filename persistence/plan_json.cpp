// The failover plan as JSON: what is stored per plan version and exported.
#include <nlohmann/json.hpp>

#include "persistence/sqlite_store.hpp"

namespace switchyard::persistence {

namespace {

std::int64_t ms(caf::timespan d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

nlohmann::json names(const std::vector<instance_id>& ids) {
  auto out = nlohmann::json::array();
  for (const auto& i : ids)
    out.push_back(i.value);
  return out;
}

} // namespace

std::string plan_to_json(const failover_plan& plan) {
  nlohmann::ordered_json j;
  j["service"] = plan.service.value;
  j["strategy"] = plan.strategy;
  j["primary_targets"] = names(plan.primary_targets);
  j["secondary_targets"] = names(plan.secondary_targets);
  j["triggers"] = plan.triggers;
  j["rollback_criteria"] = plan.rollback_criteria;
  auto steps = nlohmann::ordered_json::array();
  for (const auto& s : plan.steps) {
    nlohmann::ordered_json st;
    st["sequence"] = s.sequence;
    st["phase"] = to_string(s.phase);
    st["name"] = s.name;
    st["action_kind"] = s.action_kind;
    st["description"] = s.description;
    st["target"] = s.target.value;
    st["timeout_ms"] = ms(s.timeout);
    steps.push_back(std::move(st));
  }
  j["steps"] = std::move(steps);
  j["estimated_failover_time_ms"] = ms(plan.estimated_failover_time);
  j["rto_ms"] = ms(plan.rto);
  j["rpo_ms"] = ms(plan.rpo);
  // Invalid UTF-8 in a command must not throw: replace it.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace switchyard::persistence

// The failover plan as JSON: what is stored per plan version and exported.
#include <nlohmann/json.hpp>

#include "messages/error.hpp"
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

caf::expected<failover_plan> plan_from_json(const std::string& text) {
  auto fail = [](const std::string& why) {
    return make_sy_error(sy_errc::storage_failure, "stored plan is unreadable: " + why);
  };
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail("not a JSON object");
  try {
    failover_plan p;
    p.service = service_id{j.at("service").get<std::string>()};
    p.strategy = j.at("strategy").get<std::string>();
    for (const auto& n : j.at("primary_targets"))
      p.primary_targets.emplace_back(n.get<std::string>());
    for (const auto& n : j.at("secondary_targets"))
      p.secondary_targets.emplace_back(n.get<std::string>());
    p.triggers = j.at("triggers").get<std::vector<std::string>>();
    p.rollback_criteria = j.at("rollback_criteria").get<std::vector<std::string>>();
    constexpr step_phase phases[] = {step_phase::demote, step_phase::fence, step_phase::promote,
                                     step_phase::reroute, step_phase::verify};
    for (const auto& st : j.at("steps")) {
      plan_step s;
      s.sequence = st.at("sequence").get<std::uint32_t>();
      auto phase = st.at("phase").get<std::string>();
      bool known = false;
      for (auto ph : phases)
        if (phase == to_string(ph)) {
          s.phase = ph;
          known = true;
        }
      if (!known)
        return fail("unknown phase '" + phase + "'");
      s.name = st.at("name").get<std::string>();
      s.action_kind = st.at("action_kind").get<std::string>();
      s.description = st.at("description").get<std::string>();
      s.target = instance_id{st.at("target").get<std::string>()};
      s.timeout = std::chrono::milliseconds(st.at("timeout_ms").get<std::int64_t>());
      p.steps.push_back(std::move(s));
    }
    p.estimated_failover_time =
        std::chrono::milliseconds(j.at("estimated_failover_time_ms").get<std::int64_t>());
    p.rto = std::chrono::milliseconds(j.at("rto_ms").get<std::int64_t>());
    p.rpo = std::chrono::milliseconds(j.at("rpo_ms").get<std::int64_t>());
    return p;
  } catch (const nlohmann::json::exception& e) {
    return fail(e.what());
  }
}

} // namespace switchyard::persistence

// Drill reports and verification checks as JSON: what is stored (drills.report,
// site_participants.checks) and exported (`switchyard drill report ID --format json`).
#include <nlohmann/json.hpp>

#include "messages/error.hpp"
#include "persistence/sqlite_store.hpp"

namespace switchyard::persistence {

namespace {

using ojson = nlohmann::ordered_json;

std::string dump(const ojson& j) {
  // Invalid UTF-8 in a command's output must not throw: replace it.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

ojson checks_json(const std::vector<verification_check>& checks) {
  auto out = ojson::array();
  for (const auto& c : checks) {
    ojson j;
    j["name"] = c.name;
    j["ok"] = c.ok;
    j["detail"] = c.detail;
    out.push_back(std::move(j));
  }
  return out;
}

ojson steps_json(const std::vector<drill_step>& steps) {
  auto out = ojson::array();
  for (const auto& s : steps) {
    ojson j;
    j["name"] = s.name;
    j["phase"] = s.phase;
    j["ok"] = s.ok;
    j["duration_ms"] = s.duration_ms;
    out.push_back(std::move(j));
  }
  return out;
}

// Throws nlohmann::json::exception on a missing key or a wrong type.
std::vector<verification_check> checks_of(const nlohmann::json& j) {
  if (!j.is_array())
    throw std::invalid_argument("checks: not an array");
  std::vector<verification_check> out;
  for (const auto& c : j) {
    verification_check v;
    v.name = c.at("name").get<std::string>();
    v.ok = c.at("ok").get<bool>();
    v.detail = c.at("detail").get<std::string>();
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<drill_step> steps_of(const nlohmann::json& j) {
  if (!j.is_array())
    throw std::invalid_argument("steps: not an array");
  std::vector<drill_step> out;
  for (const auto& s : j) {
    drill_step d;
    d.name = s.at("name").get<std::string>();
    d.phase = s.at("phase").get<std::string>();
    d.ok = s.at("ok").get<bool>();
    d.duration_ms = s.at("duration_ms").get<std::int64_t>();
    out.push_back(std::move(d));
  }
  return out;
}

} // namespace

std::string drill_report_to_json(const drill_report& report) {
  ojson j;
  j["id"] = report.id;
  j["from_site"] = report.from_site;
  j["to_site"] = report.to_site;
  j["principal"] = report.principal;
  j["failback"] = report.failback;
  j["passed"] = report.passed;
  j["started_ms"] = report.started_ms;
  j["finished_ms"] = report.finished_ms;
  j["rto_ms"] = report.rto_ms;
  j["switchover"] = report.switchover;
  j["failback_switchover"] = report.failback_switchover;
  j["topology_restored"] = report.topology_restored;
  j["detail"] = report.detail;
  auto services = ojson::array();
  for (const auto& s : report.services) {
    ojson sj;
    sj["service"] = s.service.value;
    sj["passed"] = s.passed;
    sj["rto_ms"] = s.rto_ms;
    sj["rto_objective_ms"] = s.rto_objective_ms;
    sj["rpo"] = s.rpo;
    sj["rpo_objective_ms"] = s.rpo_objective_ms;
    sj["detail"] = s.detail;
    sj["steps"] = steps_json(s.steps);
    sj["checks"] = checks_json(s.checks);
    services.push_back(std::move(sj));
  }
  j["services"] = std::move(services);
  return dump(j);
}

caf::expected<drill_report> drill_report_from_json(const std::string& text) {
  auto fail = [](const std::string& why) {
    return make_sy_error(sy_errc::storage_failure, "stored drill report is unreadable: " + why);
  };
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail("not a JSON object");
  try {
    drill_report r;
    r.id = j.at("id").get<std::int64_t>();
    r.from_site = j.at("from_site").get<std::string>();
    r.to_site = j.at("to_site").get<std::string>();
    r.principal = j.at("principal").get<std::string>();
    r.failback = j.at("failback").get<bool>();
    r.passed = j.at("passed").get<bool>();
    r.started_ms = j.at("started_ms").get<std::int64_t>();
    r.finished_ms = j.at("finished_ms").get<std::int64_t>();
    r.rto_ms = j.at("rto_ms").get<std::int64_t>();
    r.switchover = j.at("switchover").get<std::int64_t>();
    r.failback_switchover = j.at("failback_switchover").get<std::int64_t>();
    r.topology_restored = j.at("topology_restored").get<bool>();
    r.detail = j.at("detail").get<std::string>();
    const auto& services = j.at("services");
    if (!services.is_array())
      return fail("services: not an array");
    for (const auto& sj : services) {
      drill_service_result s;
      s.service = service_id{sj.at("service").get<std::string>()};
      s.passed = sj.at("passed").get<bool>();
      s.rto_ms = sj.at("rto_ms").get<std::int64_t>();
      s.rto_objective_ms = sj.at("rto_objective_ms").get<std::int64_t>();
      s.rpo = sj.at("rpo").get<std::int64_t>();
      s.rpo_objective_ms = sj.at("rpo_objective_ms").get<std::int64_t>();
      s.detail = sj.at("detail").get<std::string>();
      s.steps = steps_of(sj.at("steps"));
      s.checks = checks_of(sj.at("checks"));
      r.services.push_back(std::move(s));
    }
    return r;
  } catch (const nlohmann::json::exception& e) {
    return fail(e.what());
  } catch (const std::invalid_argument& e) {
    return fail(e.what());
  }
}

std::string checks_to_json(const std::vector<verification_check>& checks) {
  return dump(checks_json(checks));
}

caf::expected<std::vector<verification_check>> checks_from_json(const std::string& text) {
  auto fail = [](const std::string& why) {
    return make_sy_error(sy_errc::storage_failure,
                         "stored verification checks are unreadable: " + why);
  };
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array())
    return fail("not a JSON array");
  try {
    return checks_of(j);
  } catch (const nlohmann::json::exception& e) {
    return fail(e.what());
  } catch (const std::invalid_argument& e) {
    return fail(e.what());
  }
}

} // namespace switchyard::persistence

// The plan export's entry points (format names, render_plans) and the facts
// every format shows. The formats themselves are in plan_export_data.cpp (JSON,
// YAML), plan_export_markdown.cpp and plan_export_dot.cpp.
#include "renderers/plan_export.hpp"

#include <chrono>

#include <fmt/format.h>

#include "renderers/plan_export_detail.hpp"

namespace switchyard::renderers {

namespace detail {

namespace {

const std::vector<config::action_settings>& actions_of(const config::strategy_settings& s,
                                                       step_phase phase) {
  switch (phase) {
  case step_phase::demote:
    return s.demote;
  case step_phase::fence:
    return s.fence;
  case step_phase::promote:
    return s.promote;
  case step_phase::reroute:
    return s.reroute;
  case step_phase::verify:
    break;
  }
  return s.verify;
}

} // namespace

std::int64_t to_ms(caf::timespan d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

std::string address_of(const config::instance_settings& inst) {
  // The loader strips an IPv6 host's brackets; without them the port would be ambiguous.
  if (inst.host.find(':') != std::string::npos)
    return fmt::format("[{}]:{}", inst.host, inst.port);
  return fmt::format("{}:{}", inst.host, inst.port);
}

health_status health_of(const plan_export_entry& e, const std::string& instance) {
  auto i = e.health.find(instance);
  return i == e.health.end() ? health_status::unknown : i->second;
}

const config::action_settings* action_of(const config::service_settings& svc, const plan_step& st) {
  for (const auto& a : actions_of(svc.strategy, st.phase))
    if (a.name == st.name)
      return &a;
  return nullptr;
}

const std::string* rollback_of(const config::service_settings& svc, const plan_step& st) {
  const auto* a = action_of(svc, st);
  return a == nullptr || a->rollback.empty() ? nullptr : &a->rollback;
}

const std::string* first_name(const std::vector<instance_id>& ids) {
  return ids.empty() ? nullptr : &ids.front().value;
}

} // namespace detail

std::optional<export_format> parse_export_format(std::string_view text) {
  if (text == "json")
    return export_format::json;
  if (text == "yaml")
    return export_format::yaml;
  if (text == "markdown" || text == "md")
    return export_format::markdown;
  if (text == "dot")
    return export_format::dot;
  return std::nullopt;
}

const char* to_string(export_format f) {
  switch (f) {
  case export_format::json:
    return "json";
  case export_format::yaml:
    return "yaml";
  case export_format::markdown:
    return "markdown";
  case export_format::dot:
    return "dot";
  }
  return "?";
}

std::string render_plans(const std::vector<plan_export_entry>& entries, export_format format,
                         const std::string& generated_at, const plan_export_context& context) {
  switch (format) {
  case export_format::json:
    return detail::render_json(entries, generated_at);
  case export_format::yaml:
    return detail::render_yaml(entries, generated_at);
  case export_format::markdown:
    return detail::render_markdown(entries, generated_at, context);
  case export_format::dot:
    return detail::render_dot(entries, generated_at, context);
  }
  return {};
}

} // namespace switchyard::renderers

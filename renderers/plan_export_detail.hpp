// Internals of the plan export shared by its formats (plan_export*.cpp): the
// facts every format shows and one renderer per format. Not for other users.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "renderers/plan_export.hpp"

namespace switchyard::renderers::detail {

std::int64_t to_ms(caf::timespan d);

/// "host:port", "[v6::host]:port".
std::string address_of(const config::instance_settings& inst);

/// `instance`'s health in `e`; unknown if it has none.
health_status health_of(const plan_export_entry& e, const std::string& instance);

/// The configured action a step runs; nullptr if it is no longer configured.
const config::action_settings* action_of(const config::service_settings& svc, const plan_step& st);

/// The configured undo command of a step; nullptr if it has none (or its
/// action is no longer configured, in which case nothing can run it either).
const std::string* rollback_of(const config::service_settings& svc, const plan_step& st);

/// The first of `ids`; nullptr if there is none.
const std::string* first_name(const std::vector<instance_id>& ids);

std::string render_json(const std::vector<plan_export_entry>& entries,
                        const std::string& generated_at);
std::string render_yaml(const std::vector<plan_export_entry>& entries,
                        const std::string& generated_at);
std::string render_markdown(const std::vector<plan_export_entry>& entries,
                            const std::string& generated_at, const plan_export_context& context);
std::string render_dot(const std::vector<plan_export_entry>& entries,
                       const std::string& generated_at, const plan_export_context& context);

} // namespace switchyard::renderers::detail

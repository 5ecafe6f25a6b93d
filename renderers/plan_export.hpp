// Renders the coordinator's current failover plans for people and tools:
// JSON and YAML for machines, a Markdown runbook, a Graphviz picture. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.hpp"
#include "messages/backup.hpp"
#include "messages/health.hpp"
#include "messages/plan.hpp"

namespace switchyard::renderers {

enum class export_format { json, yaml, markdown, dot };

/// "json" | "yaml" | "markdown" (also "md") | "dot"; anything else -> std::nullopt
std::optional<export_format> parse_export_format(std::string_view text);

const char* to_string(export_format f);

/// One service's plan as the coordinator sees it now.
struct plan_export_entry {
  const config::service_settings* service = nullptr; ///< never null
  std::string current_primary;
  std::uint64_t epoch = 0;
  std::map<std::string, health_status> health; ///< by instance name
  std::optional<failover_plan> plan;           ///< nullopt: no plan could be made
  /// Why there is no plan, or a caveat such as "no standby is healthy now:
  /// planned as if <x> were".
  std::string note;
  /// The service's backups as measured from the catalog (Switchyard's own,
  /// docs/backups.md); nullopt: it has no backup policy (or the backup
  /// manager did not answer).
  std::optional<backup_compliance_row> backups;
};

/// What the site-level parts of the Markdown and DOT exports need beyond the
/// entries (renderers/site_runbook.hpp).
struct plan_export_context {
  /// The configured sites, in order; empty: the sites the entries' instances
  /// name, in order of first use.
  std::vector<config::site_settings> sites;
  /// orchestrator.site_switchover.parallelism: services of one dependency
  /// level switched over at once.
  int parallelism = 4;
};

/// Renders the plans of `entries` (in the given order). `generated_at` is an
/// ISO-8601 UTC text supplied by the caller (keeps the output deterministic in tests).
std::string render_plans(const std::vector<plan_export_entry>& entries, export_format format,
                         const std::string& generated_at, const plan_export_context& context = {});

} // namespace switchyard::renderers

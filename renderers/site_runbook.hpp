// The site-level part of the plan export: for each pair of sites (from a site
// that holds primaries to each other site), the order of a whole-site
// switchover by dependency level, each service's steps and estimates, the
// estimated total RTO, rollback criteria, and the objectives (RTO, RPO, 3-2-1
// backups) per service. Pure; called by the Markdown and DOT exports.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "renderers/plan_export.hpp"

namespace switchyard::renderers {

/// One service's part in a planned site switchover.
struct site_runbook_service {
  const plan_export_entry* entry = nullptr; ///< never null
  std::string from;                         ///< its primary now, on the site being left
  std::string to;                ///< the instance on the new site to promote; empty: none there
  std::uint32_t level = 0;       ///< dependency level among the participants: 0 first
  std::int64_t estimated_ms = 0; ///< the plan's estimate; 0 without a plan
  std::string blocker;           ///< why it cannot take part (empty: it can)
};

/// A site switchover as the export plans it.
struct site_runbook_plan {
  std::string from_site;
  std::string to_site;
  std::vector<site_runbook_service> services; ///< in order of work: by level, then input order
  /// Services without their primary on from_site.
  std::vector<std::string> untouched;
  /// Per level, the batches of `parallelism` services' longest estimate, summed.
  std::int64_t estimated_rto_ms = 0;
};

/// The sites of `context`, or (none configured) those the instances name, in
/// order of first use.
std::vector<std::string> export_sites(const std::vector<plan_export_entry>& entries,
                                      const plan_export_context& context);

/// The site an entry's current primary runs in; empty if unknown.
std::string primary_site(const plan_export_entry& entry);

/// Each service's dependency level among all `entries`: 0 for a service that
/// depends on none of them, otherwise one more than its deepest dependency.
std::map<std::string, std::uint32_t>
dependency_levels(const std::vector<plan_export_entry>& entries);

/// A switchover of every service with its primary on `from_site` to `to_site`.
site_runbook_plan plan_site_switchover(const std::vector<plan_export_entry>& entries,
                                       const std::string& from_site, const std::string& to_site,
                                       int parallelism);

/// "3 copies, 2 media, 1 offsite: meets 3-2-1" or "not declared".
std::string backup_summary(const config::objectives& objective);

/// Measured from the catalog: "3 verified copies, 2 media, 1 offsite: meets
/// 3-2-1; newest verified 2h 5m old (RPO 4h)", or what is missing and how
/// far past the RPO it is.
std::string measured_backup_summary(const backup_compliance_row& row);

/// The "Site switchover runbook" Markdown section (starts with "# ").
std::string site_runbook_markdown(const std::vector<plan_export_entry>& entries,
                                  const plan_export_context& context);

} // namespace switchyard::renderers

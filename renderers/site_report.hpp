// Site switchovers and DR drills for people: the drill report as Markdown
// (`switchyard drill report ID --format markdown`) and a site switchover (or
// its assessment) as plain text for the CLI. Pure.
#pragma once

#include <cstdint>
#include <string>

#include "messages/site.hpp"
#include "renderers/markdown_text.hpp"

namespace switchyard::renderers {

/// "2026-11-30T23:05:00Z" (unix epoch ms, UTC, second precision); "-" for 0.
std::string utc_iso8601(std::int64_t unix_ms);

/// A readable drill report: the header (sites, who, when, PASS/FAIL, overall
/// RTO, topology restored), a table of the services against their objectives,
/// then each service's step timings and verification checks.
std::string drill_report_markdown(const drill_report& report);

/// A site switchover or its assessment (id 0) as text for a terminal: state,
/// the order of work by dependency level, per participant from -> to, estimated
/// time, objectives, data at risk, blockers, outcome and checks.
std::string site_record_text(const site_record& record);

} // namespace switchyard::renderers

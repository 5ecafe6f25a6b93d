// Start-up recovery of site switchovers a stopped switchyardd left
// unfinished: the journaled decision says whether to abort or carry through,
// and a drill they belonged to is closed as interrupted.
#include "actors/site_procedure.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/event_hub.hpp"
#include "actors/site_procedure_detail.hpp"

namespace switchyard::actors {

using namespace site_detail;

void site_procedure::recover() {
  recovering_ = true;
  auto store = peers_->store();
  auto rows =
      ask<site_record_list>(self_, store, caf::timespan{ask_timeout}, site_query{0, 0, true});
  if (!rows) {
    spdlog::error("site switchovers: reading unfinished ones failed: {}", describe(rows.error()));
    return;
  }
  for (auto& r : *rows) {
    if (r.state == site_state::preparing) {
      spdlog::warn("site switchover #{} ({} -> {}) was undecided when switchyardd stopped: "
                   "aborting it",
                   r.id, r.from_site, r.to_site);
      abort(r, "switchyardd stopped before the commit decision");
    } else {
      spdlog::warn("site switchover #{} ({} -> {}) was committed when switchyardd stopped: "
                   "carrying it through",
                   r.id, r.from_site, r.to_site);
      announce(r, "resuming after a restart of switchyardd: committed, carrying it through");
      if (!reserve(r, true))
        spdlog::error("site switchover #{}: a participant could not be reserved; going on "
                      "anyway (the decision is committed)",
                      r.id);
      for (auto& p : r.participants)
        if (leaves_running(p.state))
          p.state = participant_state::pending;
      carry_through(r);
    }
    if (r.drill != 0) {
      auto drills =
          ask<drill_report_list>(self_, store, caf::timespan{ask_timeout}, drill_query{r.drill, 1});
      if (drills && !drills->empty() && drills->front().finished_ms == 0) {
        auto d = drills->front();
        d.finished_ms = wall_clock_ms();
        d.passed = false;
        d.detail = fmt::format("interrupted by a restart of switchyardd; site switchover #{} "
                               "was {} at restart; no failback was run",
                               r.id, to_string(r.state));
        (void)ask<std::int64_t>(self_, store, caf::timespan{ask_timeout}, drill_save{d});
      }
    }
  }
}

} // namespace switchyard::actors

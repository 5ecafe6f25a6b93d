// Whole-site switchovers a switchyardd did not finish. Alone, at start, its
// journal decides: an undecided one is aborted, a committed one carried
// through, and a drill it belonged to is closed as interrupted. In a cluster
// a replica's journal only says what that replica was doing: the site
// switchover in flight is the one in etcd (control_authority::record_site),
// and whoever leads carries it on (take_over) with the same abort or
// carry-through, journaled here as a site switchover of its own that says
// whose it took over.
#include "actors/site_procedure.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/control_authority.hpp"
#include "actors/site_procedure_detail.hpp"

namespace switchyard::actors {

using namespace site_detail;

void site_procedure::resume(site_record& r, const std::string& why) {
  if (r.state == site_state::preparing) {
    spdlog::warn("site switchover #{} ({} -> {}) was undecided: {}: aborting it", r.id, r.from_site,
                 r.to_site, why);
    abort(r, why + " before the commit decision");
    return;
  }
  spdlog::warn("site switchover #{} ({} -> {}) was committed: {}: carrying it through", r.id,
               r.from_site, r.to_site, why);
  announce(r, fmt::format("resuming: {}: committed, carrying it through", why));
  if (!reserve(r, true))
    spdlog::error("site switchover #{}: a participant could not be reserved; going on "
                  "anyway (the decision is committed)",
                  r.id);
  for (auto& p : r.participants)
    if (leaves_running(p.state))
      p.state = participant_state::pending;
  carry_through(r);
}

void site_procedure::close_drill(const site_record& r, const std::string& why) {
  auto store = peers_->store();
  auto drills =
      ask<drill_report_list>(self_, store, caf::timespan{ask_timeout}, drill_query{r.drill, 1});
  if (!drills || drills->empty() || drills->front().finished_ms != 0)
    return;
  auto d = drills->front();
  d.finished_ms = wall_clock_ms();
  d.passed = false;
  d.detail = fmt::format("{}; site switchover #{} was {} then; no failback was run", why, r.id,
                         to_string(r.state));
  (void)ask<std::int64_t>(self_, store, caf::timespan{ask_timeout}, drill_save{d});
}

void site_procedure::recover() {
  recovering_ = true;
  auto store = peers_->store();
  auto rows =
      ask<site_record_list>(self_, store, caf::timespan{ask_timeout}, site_query{0, 0, true});
  if (!rows) {
    spdlog::error("site switchovers: reading unfinished ones failed: {}", describe(rows.error()));
    return;
  }
  const bool clustered = peers_->authority().view().clustered;
  for (auto& r : *rows) {
    if (clustered) {
      // Not this replica's to decide: whoever leads carries on from etcd.
      r.state = site_state::failed;
      r.finished_ms = wall_clock_ms();
      r.detail = "interrupted: this replica stopped while it ran it; the cluster's leader "
                 "carries a site switchover in flight on from etcd (see the leader's journal)";
      (void)save(r, false);
      announce(r, r.detail, true);
    } else {
      resume(r, "switchyardd stopped");
    }
    if (r.drill != 0)
      close_drill(r, "interrupted by a restart of switchyardd");
  }
}

void site_procedure::take_over(const site_takeover& t) {
  recovering_ = true;
  // Claimed first: a switchover that ended meanwhile (or another replica's
  // claim) is refused here, before anything is journaled or run.
  if (auto claimed = peers_->authority().take_over_site(t); !claimed) {
    spdlog::info("site switchover #{} of {}: not taken over: {}", t.record.id, t.leader_id,
                 describe(claimed.error()));
    return;
  }
  auto r = t.record;
  r.id = 0;
  r.reason = fmt::format("taken over: site switchover #{} begun by {} at leader epoch {}{}{}{}",
                         t.record.id, t.leader_id, t.leader_epoch,
                         r.drill != 0 ? fmt::format(" (a leg of its drill #{}: no failback is "
                                                    "run)",
                                                    r.drill)
                                      : std::string{},
                         t.record.reason.empty() ? "" : ": ", t.record.reason);
  r.drill = 0; // that drill is in the former leader's journal, not here
  if (auto id = save(r); !id) {
    spdlog::critical("site switchover #{} of {}: claimed but not journaled here: {}; the next "
                     "leader takes it over",
                     t.record.id, t.leader_id, describe(id.error()));
    return;
  }
  resume(r, fmt::format("its leader {} is gone", t.leader_id));
}

} // namespace switchyard::actors

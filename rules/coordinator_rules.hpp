// What the failover coordinator decides from its own state alone, without
// messaging: kept apart from the actor so it is tested on a manual clock.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "messages/detection.hpp"
#include "messages/maintenance.hpp"
#include "messages/records.hpp"
#include "messages/switchover.hpp"
#include "rules/failover_policy.hpp"

namespace switchyard::actors {

/// The journal's switchovers (`rows`) that started less than an hour before
/// the wall clock `wall_now_ms`, placed on this clock at `now`: they count
/// against max_failovers_per_hour across a restart. A start in the future of
/// the wall clock counts as now.
hourly_starts recent_starts(const switchover_record_list& rows, coord_clock::time_point now,
                            std::int64_t wall_now_ms);

/// The pending failures that `why` holds back, of every service but
/// `except`: decided on again now that it may have ended.
std::vector<failure_detection> held_back(const std::map<std::string, failure_detection>& pending,
                                         const std::map<std::string, hold>& held_by, hold why,
                                         const std::string& except);

/// The window in force for `instance` ("": the whole service), or nullptr.
const maintenance_record* window_in_force(const service_view& view, const std::string& instance);

/// The same window (when, until when, why, by whom).
bool same_window(const maintenance_record& a, const maintenance_record& b);

/// Whether a maintenance expiry timer still ends the window it was armed
/// for: false when that window ended or was replaced meanwhile.
bool expiry_ends_window(const service_view& view, const maintenance_expiry& e);

/// A maintenance window's key: its service and instance ("" for the service).
using window_key = std::pair<std::string, std::string>;

/// What a replica does with the maintenance windows the cluster replicated.
struct window_sync {
  std::vector<window_key> end;          ///< in force here, gone from the cluster: end them
  std::vector<maintenance_record> take; ///< the cluster's, not in force here (or different)
  std::vector<window_key> confirmed;    ///< recorded here and now seen in the cluster's list
};

/// Compares the windows in force here with `replicated` (every window etcd
/// holds), ignoring the expired ones (until_ms ≤ `wall_now_ms`). A window in
/// `unconfirmed` (this leader recorded it after the list may have been read)
/// is not ended for being absent: an older list must not end it, which would
/// release a failure it holds back.
window_sync sync_windows(const std::map<window_key, maintenance_record>& in_force,
                         const maintenance_list& replicated,
                         const std::set<window_key>& unconfirmed, std::int64_t wall_now_ms);

/// When a failover whose pre-checks found no candidate is looked at again:
/// a full fall of health checks later, at least 2 s.
caf::timespan no_candidate_retry(const config::health_check_settings& check);

/// What the end of a switchover (`what`: "failover" or "switchover") of the
/// service in `view` changes: it is no longer in flight; on success the new
/// primary and epoch.
struct switchover_end {
  std::string decision; ///< the service's last decision now
  /// The old primary, healthy again while its failover ran: to make a
  /// replica of the new primary now (its return was not acted on then).
  std::optional<std::string> rejoin;
};
switchover_end apply_switchover_end(service_view& view, const failover_result& r, const char* what);

/// Whether a health transition of an instance that is not the primary should
/// make it a replica of the primary (the strategy's rejoin): it is healthy
/// again after a failure, or it is seen for the first time (switchyardd just
/// started) and its probe says it serves as a primary ("PONG, master" from a
/// redis probe, "primary, ..." from a postgres one) — a second writer left
/// from while switchyardd was down.
bool wants_rejoin(health_status from, health_status to, const std::string& probe_detail);

/// What to say about a service's readiness whose problems now read `text`
/// ("": ready), given what was `reported` last (updated): nothing when it did
/// not change, nor when the first report is "ready".
enum class readiness_news { none, ready_again, not_ready };
readiness_news readiness_change(std::optional<std::string>& reported, const std::string& text);

} // namespace switchyard::actors

// The impact assessment of a site switchover, pure: which services move (their
// primary is on the site being left), to which instance, in which order
// (dependency levels), what blocks it, and the estimated RTO. The site
// coordinator adds what needs the runner (plans, pre-checks, position gaps).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "messages/site.hpp"
#include "messages/topology.hpp"

namespace switchyard::actors {

struct site_assessment_input {
  const config::switchyard_config* cfg = nullptr;
  service_state_list states; ///< the coordinator's view now
  std::string from_site;
  std::string to_site;
  site_operation operation = site_operation::switchover;
  /// Preferred target per service (a drill's failback: where it started);
  /// used when healthy, otherwise the best instance on the site.
  std::map<std::string, std::string> preferred;
  /// When not empty, only these services take part (a drill's failback: the
  /// ones its switchover moved); the others are listed as untouched.
  std::set<std::string> only{};
  /// A failback to `from_site` follows (a drill's switchover leg): a
  /// participant that could not be failed back now is a blocker. Without it
  /// (a switchover, a drill with --no-failback) it is a warning in `detail`.
  bool then_failback = false;
};

/// The participants in order of work (level by level, file order within a
/// level), the untouched services, and the blockers the view shows (unknown
/// site, no healthy target, maintenance, a switchover in flight; for a
/// failback, any instance of a participant on the site returned to that is
/// not healthy; with `then_failback`, the same for the failback that follows:
/// any instance of a participant on the site left that is not healthy).
/// Estimates are filled in by estimate_rto once plans are known.
site_record assess_site(const site_assessment_input& in);

/// The participants of `level`, in batches of at most `parallelism`.
std::vector<std::vector<std::size_t>> level_batches(const site_record& r, std::uint32_t level,
                                                    std::uint32_t parallelism);

/// Per level, the batches' longest estimated failover time, summed.
std::int64_t estimate_rto(const site_record& r);

/// The highest level of any participant (0 when there are none).
std::uint32_t last_level(const site_record& r);

/// The site holding the most primaries other than `except` (a drill's origin);
/// empty when no primary is elsewhere.
std::string busiest_site(const config::switchyard_config& cfg, const service_state_list& states,
                         const std::string& except);

} // namespace switchyard::actors

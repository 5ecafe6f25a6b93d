// Failure confirmed from several vantage points, as pure logic (Redis
// Sentinel's SDOWN/ODOWN): each replica of switchyardd reports the instances
// it sees down (subjectively down); an instance is objectively down when at
// least `quorum` configured, live replicas report it. A replica cut off from
// a primary by its own network is then one vote, not a failover.
//
// No I/O and no clock: the reports and the live set come in as arguments
// (cluster/vantage_views.hpp reads them from etcd).
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace switchyard::cluster {

/// The vantage points as configured.
struct quorum_settings {
  /// The replica ids whose views count.
  std::vector<std::string> members;
  /// How many of them must see an instance down; nullopt: a majority
  /// (members / 2 + 1). Signed so that a configured 0 or -1 can be reported.
  std::optional<int> quorum;
};

/// Checks the settings; the error (invalid_config) begins with the field name
/// ("members: ...", "quorum: ...").
[[nodiscard]] caf::expected<void> validate(const quorum_settings& settings);

/// The number of votes needed: the configured quorum, else a majority of the
/// members (at least 1, even for an empty member list).
[[nodiscard]] std::size_t effective_quorum(const quorum_settings& settings);

/// One line for status and logs: "quorum 2 of 3 members (majority)", and what
/// an unusual shape means (a single member decides alone; a quorum below a
/// majority lets a minority cut off from an instance fail it over).
[[nodiscard]] std::string describe_quorum(const quorum_settings& settings);

/// Whether one instance is objectively down, and why.
struct down_verdict {
  bool objectively_down = false;
  std::size_t votes = 0;  ///< configured, live members that report it down
  std::size_t needed = 0; ///< effective_quorum()
  /// "objectively down: 2 of 2 votes (down: r1, r2; up: r3)", naming who sees
  /// it down, who sees it up, who is not reporting and which reports were
  /// ignored (unknown replica ids, members that are not live).
  std::string explanation;
};

/// `reporting_down`: the replicas that report the instance down now; `live`:
/// the replicas that are alive (their membership is published). A report
/// counts only from a configured member that is live.
[[nodiscard]] down_verdict judge_down(const quorum_settings& settings,
                                      const std::set<std::string>& reporting_down,
                                      const std::set<std::string>& live);

} // namespace switchyard::cluster

// The backup rules, pure functions of the catalog's rows and `now`: whether a
// tier's next backup is full or incremental, which chain restores a point,
// which point a restore uses (tier preference, point in time), 3-2-1 and RPO
// compliance from the copies that exist and were verified, and what
// retention deletes.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "messages/backup.hpp"

namespace switchyard::rules {

/// The next backup of one tier of one service, and why it is of that kind.
struct next_backup {
  backup_kind kind = backup_kind::full;
  std::int64_t parent = 0; ///< incremental: the backup it applies on top of
  std::string reason;      ///< e.g. "first backup of tier local", "5 incrementals since full #12"
};

/// `history`: the backups of this service's tier (any order, any status).
/// Full when: the tier has no restorable backup; `full_every` is 0 or that
/// many incrementals already follow the last full; `forced_full` (the
/// operator asked); the source cannot take incrementals; the newest
/// restorable backup's chain has a link that is not restorable (the next
/// backup is forced full, the reason names the link); or `recorder_base` is
/// not that newest backup (sources whose incrementals are recorded by this
/// process, switchyardd's own state: recording started at `recorder_base`,
/// 0 = not recording). Pass `recorder_base` -1 for sources that can diff
/// against any parent. Otherwise incremental, parent = the newest restorable backup.
next_backup choose_next(const std::vector<backup_record>& history, int full_every, bool forced_full,
                        bool source_incremental, std::int64_t recorder_base);

/// The chain that restores backup `id`: its full base first, then each
/// incremental up to `id`, oldest first. A corrupt error naming the first
/// link that is missing from `all` or not restorable (e.g. "link #41 of the
/// chain of #44 is corrupt: sha256 mismatch").
caf::expected<std::vector<backup_record>> chain_of(const std::vector<backup_record>& all,
                                                   std::int64_t id);

/// What a restore uses.
struct restore_choice {
  std::vector<backup_record> chain; ///< to apply, base first; back() is the point restored
  std::string tier;
  /// One line per tier or point passed over, and why (e.g. "tier local:
  /// #44 skipped: link #41 is corrupt", "tier regional: nothing at or before 12:00").
  std::vector<std::string> skipped;
};

/// The newest restorable point at or before `at_ms` (0: the newest), trying
/// the tiers in `prefer` order (tiers not named there are not used); within
/// a tier, points whose chain is broken or touches an id in `bad` (found
/// corrupt while restoring) are passed over for the next older one. A
/// not_found error that lists why each tier had nothing.
caf::expected<restore_choice> choose_restore(const std::vector<backup_record>& all,
                                             std::int64_t at_ms,
                                             const std::vector<std::string>& prefer,
                                             const std::set<std::int64_t>& bad = {});

/// 3-2-1 and RPO for one service, from the copies that exist and were verified.
struct backup_compliance {
  int copies = 0;  ///< tiers holding a verified restorable point (intact chain)
  int media = 0;   ///< distinct media among those tiers
  int offsite = 0; ///< those tiers whose site is set and is not the service's
  bool meets_3_2_1 = false;
  std::int64_t newest_verified_ms = 0; ///< its point in time; 0: none
  std::int64_t age_ms = -1;            ///< now - newest_verified_ms; -1: none
  /// age within `rpo` (an rpo of 0: none declared, not judged: true when any
  /// verified point exists).
  bool rpo_met = false;
  std::vector<std::string> gaps; ///< what is missing, one line each; empty when all is met
};

/// `all`: every backup of the service. `service_site`: the site of its data
/// (the primary's). A tier counts once, however many points it holds.
backup_compliance assess_compliance(const std::vector<backup_record>& all,
                                    const std::string& service_site, std::chrono::milliseconds rpo,
                                    std::int64_t now_ms);

/// The backups of one tier that retention drops now. A restorable point is
/// kept when it is one of the newest `keep` (keep > 0) or younger than
/// `keep_for` (> 0); both 0 keep everything. Every link a kept point needs
/// is kept; running backups are kept; failed and corrupt ones older than the
/// newest kept point are dropped. Ids, oldest first.
std::vector<std::int64_t> retention_drop(const std::vector<backup_record>& tier, int keep,
                                         std::chrono::milliseconds keep_for, std::int64_t now_ms);

/// When a tier is next due: `every` after the last backup of it started; `now` if never.
std::int64_t next_due_ms(std::int64_t last_started_ms, std::chrono::milliseconds every,
                         std::int64_t now_ms);

} // namespace switchyard::rules

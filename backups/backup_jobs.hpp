// The work of a backup, a verification and a restore, as plain blocking
// functions (the actors run them in jobs of their own, actors/backup_job.cpp):
// a source produces raw data, it is packed (zstd + SHA-256) and put at the
// tier's destination; a chain is fetched back, each link checked, unpacked,
// and handed to the source to check or to restore.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "backups/backup_source.hpp"
#include "backups/destination.hpp"
#include "messages/backup.hpp"

namespace switchyard::backups {

/// Where a backup keeps the small file its source wants for the next
/// incremental (a folder's manifest), under the work folder.
std::string keep_path(const std::string& work_dir, const backup_record& b);

/// The artifact's name at its destination:
/// "<service>/<tier>/<node>-<id>-<kind>.<extension>.zst".
std::string artifact_name(const backup_record& b, const std::string& node,
                          const std::string& extension);

struct take_request {
  backup_source* source = nullptr;
  destination* dest = nullptr;
  backup_record record; ///< id, service, tier, kind and parent set
  int level = 3;        ///< zstd
  std::string work_dir;
  std::string node; ///< who takes it: the cluster member's name, or "local"
};

/// Produces, packs and stores one backup; returns the record completed
/// (artifact, sizes, sum, point, source, facts, status complete). Its
/// scratch folder is removed whatever happens; nothing partial is left at
/// the destination (destinations put complete files or nothing).
[[nodiscard]] caf::expected<backup_record> take_backup(const take_request& r);

/// Fetches `chain`'s artifacts (base first) from `dest` into `dir`, checks
/// each one's SHA-256 and unpacks it; returns the raw files in order. On
/// failure `failed_link` is the id of the link that failed (0: none of them
/// in particular) and the error names it.
[[nodiscard]] caf::expected<std::vector<std::string>>
fetch_chain(destination& dest, const std::vector<backup_record>& chain, const std::string& dir,
            std::int64_t& failed_link);

/// A scratch folder of its own under work_dir/jobs (created; removed by the
/// caller with remove_scratch).
[[nodiscard]] caf::expected<std::string> make_scratch(const std::string& work_dir,
                                                      const std::string& what);
void remove_scratch(const std::string& dir);

} // namespace switchyard::backups

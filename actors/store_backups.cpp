// The store's part in backing up switchyardd's own state: a read snapshot for
// a full backup, the changes recorded since a tier's last state backup for
// an incremental (SQLite's session extension, on the store's connection:
// only it sees every write).
#include <fmt/format.h>

#include "actors/store.hpp"
#include "messages/error.hpp"

namespace switchyard::actors {

std::int64_t store_state::recorder_base(const std::string& tier) const {
  auto it = recordings.find(tier);
  return it == recordings.end() || !it->second.recorder ? 0 : it->second.base;
}

caf::expected<state_capture> store_state::capture_state(const state_capture_request& r) {
  auto& rec = recordings[r.tier];
  if (r.full) {
    // Both at the same point of the journal: the snapshot holds everything
    // committed so far, the recorder everything after.
    auto snapshot = backups::state_snapshot::open(database_path);
    if (!snapshot)
      return snapshot.error();
    auto recorder = backups::change_recorder::start(db->connection());
    if (!recorder) {
      recordings.erase(r.tier);
      return recorder.error();
    }
    rec.recorder = std::move(*recorder);
    rec.base = r.backup_id;
    state_capture out;
    out.snapshot = std::shared_ptr<backups::state_snapshot>(std::move(*snapshot));
    return out;
  }
  if (!rec.recorder || rec.base != r.parent) {
    auto since = rec.recorder ? fmt::format("#{}", rec.base) : std::string{"nothing"};
    return make_sy_error(sy_errc::backup_failed,
                         fmt::format("state backup of tier {}: changes since #{} were not "
                                     "recorded by this switchyardd (it records since {}): a "
                                     "full backup is needed",
                                     r.tier, r.parent, since));
  }
  auto changes = rec.recorder->take();
  if (!changes) {
    // What was recorded is lost for the chain: the next backup must be full.
    recordings.erase(r.tier);
    return changes.error();
  }
  rec.base = r.backup_id;
  state_capture out;
  out.changeset = std::move(*changes);
  return out;
}

} // namespace switchyard::actors

// What a service's backups are taken from, behind one interface: a Redis
// (an RDB from a replica), an exec command (a file, or a folder archived by
// manifest), switchyardd's own SQLite state. A source produces the raw data
// of one backup, rebuilds data from a chain's raw files, and checks a test
// restore against what was recorded when the backup was taken.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "config/model.hpp"
#include "messages/backup.hpp"

namespace switchyard::backups {

/// Wall-clock milliseconds since the epoch: a backup's point in time.
inline std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct produce_request {
  std::string scratch; ///< an empty folder of this backup's own
  std::int64_t backup_id = 0;
  std::int64_t parent = 0; ///< incremental: the backup it applies on top of; 0: full
  /// Incremental: the file this source kept when it took the parent (its
  /// produced::keep); empty when it is not here (the source then fails and
  /// the next backup is full).
  std::string parent_keep;
};

struct produced {
  std::string file;          ///< the raw data, under scratch
  std::string extension;     ///< of the artifact's name: "rdb", "db", "changeset", "archive", "bin"
  std::string source;        ///< what it was taken from
  std::int64_t point_ms = 0; ///< when the data was read (wall clock)
  std::string facts = "{}";  ///< what a test restore must find (JSON)
  std::string keep;          ///< a file to keep for the next incremental ("" none)
};

class backup_source {
public:
  virtual ~backup_source() = default;
  virtual bool takes_incrementals() const = 0;
  /// Whether its incrementals are recorded by this process (own state): the
  /// rules then need to know where recording started.
  virtual bool records_changes() const { return false; }
  [[nodiscard]] virtual caf::expected<produced> produce(const produce_request& r) = 0;
  /// Rebuilds the data into `target` from the chain's raw files, base
  /// first; returns a line saying what was written where.
  [[nodiscard]] virtual caf::expected<std::string> restore(const std::vector<std::string>& raw,
                                                           const std::string& target) = 0;
  /// A test restore under `scratch` compared with `facts`; a line saying
  /// what matched, or a corrupt error saying what did not.
  [[nodiscard]] virtual caf::expected<std::string> check(const std::vector<std::string>& raw,
                                                         const std::string& facts,
                                                         const std::string& scratch) = 0;
};

/// A Redis: the RDB is fetched from the first of `candidates` (name,
/// "host:port") that answers: healthy replicas first, the primary last.
std::unique_ptr<backup_source>
make_redis_source(std::vector<std::pair<std::string, std::string>> candidates,
                  std::chrono::milliseconds timeout);

/// An exec command writing {output} (a file, or a folder when `directory`).
std::unique_ptr<backup_source> make_exec_source(const config::service_backup_settings& s);

/// Asks the store for a point of switchyardd's state (see state_capture).
using capture_fn = std::function<caf::expected<state_capture>(const state_capture_request&)>;

/// switchyardd's own state, captured through the store for `tier`.
std::unique_ptr<backup_source> make_state_source(capture_fn capture, std::string tier);

} // namespace switchyard::backups

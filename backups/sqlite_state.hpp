// Switchyard's own SQLite state, backed up while the daemon runs: full copies
// with SQLite's online backup API from a read snapshot, incrementals as
// changesets from SQLite's session extension, and the offline rebuild of a
// database from a base plus its chain (switchyardd --restore-state).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

struct sqlite3;
struct sqlite3_session;

namespace switchyard::backups {

/// Records every change made through one connection to every table of its
/// "main" database (SQLite's session extension), from start() or the last
/// take(). Used on the connection's own thread only.
class change_recorder {
public:
  [[nodiscard]] static caf::expected<std::unique_ptr<change_recorder>> start(sqlite3* db);
  ~change_recorder();
  change_recorder(const change_recorder&) = delete;
  change_recorder& operator=(const change_recorder&) = delete;

  /// The changes recorded so far as one changeset (empty: none), and
  /// recording starts again from here. Call outside a transaction: what an
  /// open transaction wrote is not committed yet.
  [[nodiscard]] caf::expected<std::string> take();

private:
  change_recorder(sqlite3* db, sqlite3_session* session) : db_(db), session_(session) {}
  sqlite3* db_;
  sqlite3_session* session_;
};

/// A consistent point-in-time view of a database file: a second connection
/// (read-only) holding a read transaction, opened on the thread that knows
/// no write is half-done; copy_to() may then run on any other thread, while
/// writers go on (WAL).
class state_snapshot {
public:
  [[nodiscard]] static caf::expected<std::unique_ptr<state_snapshot>> open(const std::string& path);
  ~state_snapshot();
  state_snapshot(const state_snapshot&) = delete;
  state_snapshot& operator=(const state_snapshot&) = delete;

  /// Writes the snapshot as a database file `target` (online backup API;
  /// target + ".partial", fsynced, renamed). Returns its size in bytes.
  [[nodiscard]] caf::expected<std::uint64_t> copy_to(const std::string& target);

private:
  explicit state_snapshot(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

/// What a rebuild did.
struct rebuild_report {
  std::size_t changesets = 0;   ///< applied
  std::uint64_t changes = 0;    ///< rows inserted, updated or deleted by them
  std::string integrity = "ok"; ///< PRAGMA integrity_check's answer
};

/// Rebuilds a database at `target` (which must not exist) from the database
/// file `base` and `changesets` (each a file holding one changeset, applied
/// in order, all or nothing: a conflict means the chain does not belong to
/// that base: a corrupt error naming the changeset). Then PRAGMA
/// integrity_check must answer "ok". Written to target + ".partial" and
/// renamed only when all of that holds.
[[nodiscard]] caf::expected<rebuild_report>
rebuild_database(const std::string& base, const std::vector<std::string>& changesets,
                 const std::string& target);

} // namespace switchyard::backups

// Switchyard's own SQLite state: full copies from a read snapshot (online
// backup API), changesets from the session extension, and the offline rebuild
// of a database from a base and its chain of changesets.
#include "backups/sqlite_state.hpp"

#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>
#include <utility>

#include <fmt/format.h>
#include <sqlite3.h>

#include "messages/error.hpp"

namespace switchyard::backups {

namespace {

// A snapshot may wait this long for a writer's lock (WAL recovery, a
// checkpoint resetting the log) before its read transaction starts.
constexpr int busy_timeout_ms = 5000;

caf::error io_error(const std::string& what, const std::string& path, int err) {
  return make_sy_error(sy_errc::backup_failed,
                       fmt::format("backup: cannot {} {}: {}", what, path, std::strerror(err)));
}

/// SQLite's explanation, with the OS's when an I/O call failed underneath.
std::string why(sqlite3* db, int rc) {
  if (db == nullptr)
    return sqlite3_errstr(rc);
  std::string text = sqlite3_errmsg(db);
  if (int sys = sqlite3_system_errno(db); sys != 0)
    text += fmt::format(" ({})", std::strerror(sys));
  return text;
}

/// A damaged file is corrupt; anything else (I/O, a full disk) is a failed backup.
caf::error sqlite_error(sqlite3* db, int rc, const std::string& what) {
  auto primary = rc & 0xff;
  auto code = primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB ? sy_errc::corrupt
                                                                    : sy_errc::backup_failed;
  return make_sy_error(code, what + ": " + why(db, rc));
}

caf::expected<void> exec(sqlite3* db, const char* sql, const std::string& what) {
  if (int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr); rc != SQLITE_OK)
    return sqlite_error(db, rc, what);
  return {};
}

/// The first column of every row of `sql`, as text.
caf::expected<std::vector<std::string>> column(sqlite3* db, const char* sql,
                                               const std::string& what) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
  std::vector<std::string> rows;
  while (rc == SQLITE_OK || rc == SQLITE_ROW) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(st, 0);
      rows.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "");
    }
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE)
    return sqlite_error(db, rc, what);
  return rows;
}

/// PRAGMA integrity_check's answer: "ok", or its first findings.
caf::expected<std::string> integrity(sqlite3* db, const std::string& path) {
  auto rows =
      column(db, "PRAGMA integrity_check", "rebuild: " + path + " fails its integrity check");
  if (!rows)
    return rows.error();
  std::string answer;
  for (std::size_t i = 0; i < rows->size() && i < 3; ++i)
    answer += (i > 0 ? "; " : "") + (*rows)[i];
  if (rows->size() > 3)
    answer += fmt::format("; ... ({} findings)", rows->size());
  return answer;
}

/// Makes the copy self-contained: a rollback journal, so no -wal file is part
/// of it (the backup API copies the source's "WAL" file-format bytes).
caf::expected<void> leave_wal_mode(sqlite3* db, const std::string& path) {
  auto mode = column(db, "PRAGMA journal_mode=DELETE",
                     "backup: cannot switch " + path + " out of WAL mode");
  if (!mode)
    return mode.error();
  if (mode->empty() || mode->front() != "delete")
    return make_sy_error(sy_errc::backup_failed,
                         fmt::format("backup: {} kept journal_mode '{}' instead of 'delete'", path,
                                     mode->empty() ? "" : mode->front()));
  return {};
}

void remove_with_sidecars(const std::string& path) {
  for (const char* suffix : {"", "-journal", "-wal", "-shm"})
    ::unlink((path + suffix).c_str());
}

caf::expected<void> fsync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0)
    return io_error("open", path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0)
    return io_error("fsync", path, err);
  return {};
}

/// Closes a finished database `partial` and gives it its final name: no
/// sidecar left, fsync, rename, fsync of the folder.
caf::expected<void> publish(sqlite3*& db, const std::string& partial, const std::string& target) {
  int rc = sqlite3_close(std::exchange(db, nullptr));
  if (rc != SQLITE_OK)
    return sqlite_error(nullptr, rc, "backup: closing " + partial);
  for (const char* suffix : {"-journal", "-wal"})
    if (std::filesystem::path p{partial + suffix}; ::access(p.c_str(), F_OK) == 0)
      return make_sy_error(
          sy_errc::backup_failed,
          fmt::format("backup: {} is left behind: the copy is not self-contained", p.string()));
  if (auto r = fsync_path(partial, O_RDONLY); !r)
    return r.error();
  if (::rename(partial.c_str(), target.c_str()) != 0)
    return io_error("rename " + partial + " to", target, errno);
  auto folder = std::filesystem::path(target).parent_path();
  if (auto r = fsync_path(folder.empty() ? "." : folder.string(), O_RDONLY | O_DIRECTORY); !r) {
    ::unlink(target.c_str()); // not known to be durable: the contract says absent
    return r.error();
  }
  return {};
}

/// The database being written at `partial`: closed and removed (with its
/// sidecars) unless it was published.
struct partial_db {
  explicit partial_db(std::string p) : path(std::move(p)) { remove_with_sidecars(path); }
  ~partial_db() {
    if (db != nullptr)
      sqlite3_close(db);
    if (!published)
      remove_with_sidecars(path);
  }
  partial_db(const partial_db&) = delete;
  partial_db& operator=(const partial_db&) = delete;

  caf::expected<void> open() {
    int rc =
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK)
      return sqlite_error(db, rc, "backup: cannot create " + path);
    return {};
  }
  caf::expected<std::uint64_t> publish_as(const std::string& target) {
    if (auto r = publish(db, path, target); !r)
      return r.error();
    published = true;
    std::error_code ec;
    auto size = std::filesystem::file_size(target, ec);
    if (ec)
      return io_error("stat", target, ec.value());
    return static_cast<std::uint64_t>(size);
  }

  std::string path;
  sqlite3* db = nullptr;
  bool published = false;
};

caf::expected<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return io_error("read", path, errno);
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad())
    return io_error("read", path, errno);
  return bytes;
}

/// Rows a changeset changes; also checks that its format is whole.
caf::expected<std::uint64_t> count_changes(std::string& bytes, const std::string& path) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX))
    return make_sy_error(
        sy_errc::backup_failed,
        fmt::format("rebuild: changeset {} is too large ({} bytes)", path, bytes.size()));
  sqlite3_changeset_iter* it = nullptr;
  int rc = sqlite3changeset_start(&it, static_cast<int>(bytes.size()), bytes.data());
  std::uint64_t n = 0;
  while (rc == SQLITE_OK || rc == SQLITE_ROW) {
    rc = sqlite3changeset_next(it);
    n += rc == SQLITE_ROW ? 1 : 0;
  }
  int fin = it != nullptr ? sqlite3changeset_finalize(it) : SQLITE_OK;
  if (rc == SQLITE_DONE)
    rc = fin;
  if (rc != SQLITE_OK && rc != SQLITE_DONE)
    return make_sy_error(sy_errc::corrupt, fmt::format("rebuild: changeset {} is damaged: {}", path,
                                                       sqlite3_errstr(rc)));
  return n;
}

/// Any conflict aborts the whole apply; `ctx` (a std::string) gets what it was.
int abort_on_conflict(void* ctx, int kind, sqlite3_changeset_iter* it) {
  auto& note = *static_cast<std::string*>(ctx);
  if (kind == SQLITE_CHANGESET_FOREIGN_KEY) {
    note = "it leaves foreign key violations";
    return SQLITE_CHANGESET_ABORT;
  }
  const char* table = "?";
  int columns = 0;
  int op = 0;
  int indirect = 0;
  sqlite3changeset_op(it, &table, &columns, &op, &indirect);
  const char* verb = op == SQLITE_INSERT ? "insert" : op == SQLITE_DELETE ? "delete" : "update";
  std::string key;
  unsigned char* pk = nullptr;
  sqlite3_value* value = nullptr;
  if (sqlite3changeset_pk(it, &pk, &columns) == SQLITE_OK && columns > 0 && pk[0] != 0) {
    int rc = op == SQLITE_INSERT ? sqlite3changeset_new(it, 0, &value)
                                 : sqlite3changeset_old(it, 0, &value);
    if (rc == SQLITE_OK && value != nullptr && sqlite3_value_text(value) != nullptr)
      key = fmt::format(" with key {}", reinterpret_cast<const char*>(sqlite3_value_text(value)));
  }
  const char* what = kind == SQLITE_CHANGESET_DATA ? "the row's values are not the ones it changes"
                     : kind == SQLITE_CHANGESET_NOTFOUND ? "the row is not there"
                     : kind == SQLITE_CHANGESET_CONFLICT ? "a row with that key is there already"
                                                         : "it violates a constraint";
  note = fmt::format("{} of a row in {}{}: {}", verb, table, key, what);
  return SQLITE_CHANGESET_ABORT;
}

} // namespace

// -- change_recorder ----------------------------------------------------------

namespace {

caf::expected<sqlite3_session*> new_session(sqlite3* db) {
  sqlite3_session* s = nullptr;
  int rc = sqlite3session_create(db, "main", &s);
  // NULL: every table, also those created later. Tables without a PRIMARY
  // KEY are ignored by the extension.
  if (rc == SQLITE_OK)
    rc = sqlite3session_attach(s, nullptr);
  if (rc != SQLITE_OK) {
    if (s != nullptr)
      sqlite3session_delete(s);
    return sqlite_error(db, rc, "backup: cannot record the state's changes");
  }
  return s;
}

} // namespace

caf::expected<std::unique_ptr<change_recorder>> change_recorder::start(sqlite3* db) {
  auto s = new_session(db);
  if (!s)
    return s.error();
  return std::unique_ptr<change_recorder>(new change_recorder(db, *s));
}

change_recorder::~change_recorder() {
  if (session_ != nullptr)
    sqlite3session_delete(session_);
}

caf::expected<std::string> change_recorder::take() {
  if (sqlite3_get_autocommit(db_) == 0)
    return make_sy_error(sy_errc::backup_failed,
                         "backup: cannot take the state's changes while a transaction is open "
                         "(its writes are not committed yet)");
  int n = 0;
  void* bytes = nullptr;
  if (int rc = sqlite3session_changeset(session_, &n, &bytes); rc != SQLITE_OK) {
    sqlite3_free(bytes);
    return sqlite_error(db_, rc, "backup: cannot collect the state's changes");
  }
  std::string changes;
  if (n > 0)
    changes.assign(static_cast<const char*>(bytes), static_cast<std::size_t>(n));
  sqlite3_free(bytes);
  // On failure the old session stays: its changes come again next time.
  auto fresh = new_session(db_);
  if (!fresh)
    return fresh.error();
  sqlite3session_delete(std::exchange(session_, *fresh));
  return changes;
}

// -- state_snapshot -----------------------------------------------------------

caf::expected<std::unique_ptr<state_snapshot>> state_snapshot::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  // Owned from here on, so it is closed on every error path.
  std::unique_ptr<state_snapshot> snap{new state_snapshot(db)};
  if (rc != SQLITE_OK)
    return sqlite_error(db, rc, "backup: cannot open " + path);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  // BEGIN alone takes no snapshot; the first read does, and it holds until
  // the transaction ends.
  if (auto r = exec(db, "BEGIN", "backup: cannot start a read transaction on " + path); !r)
    return r.error();
  if (auto r = column(db, "SELECT count(*) FROM sqlite_master", "backup: cannot read " + path); !r)
    return r.error();
  return snap;
}

state_snapshot::~state_snapshot() {
  if (db_ != nullptr)
    sqlite3_close_v2(db_); // ends the read transaction
}

caf::expected<std::uint64_t> state_snapshot::copy_to(const std::string& target) {
  partial_db out{target + ".partial"};
  if (auto r = out.open(); !r)
    return r.error();
  sqlite3_backup* b = sqlite3_backup_init(out.db, "main", db_, "main");
  if (b == nullptr)
    return sqlite_error(out.db, sqlite3_errcode(out.db), "backup: cannot copy into " + out.path);
  // The source is inside its read transaction, so the backup reads that
  // snapshot; writers go on meanwhile and do not restart it (another
  // connection's writes restart a backup only when it takes its own locks).
  int rc = sqlite3_backup_step(b, -1);
  int fin = sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE)
    return sqlite_error(out.db, rc, "backup: cannot copy the state into " + out.path);
  if (fin != SQLITE_OK)
    return sqlite_error(out.db, fin, "backup: cannot copy the state into " + out.path);
  if (auto r = leave_wal_mode(out.db, out.path); !r)
    return r.error();
  return out.publish_as(target);
}

// -- rebuild ------------------------------------------------------------------

caf::expected<rebuild_report> rebuild_database(const std::string& base,
                                               const std::vector<std::string>& changesets,
                                               const std::string& target) {
  std::error_code ec;
  if (std::filesystem::symlink_status(target, ec).type() != std::filesystem::file_type::not_found)
    return make_sy_error(sy_errc::backup_failed,
                         fmt::format("rebuild: {} exists already; it is not overwritten", target));
  partial_db out{target + ".partial"};
  std::filesystem::copy_file(base, out.path, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec)
    return make_sy_error(sy_errc::backup_failed, fmt::format("rebuild: cannot copy {} to {}: {}",
                                                             base, out.path, ec.message()));
  if (auto r = out.open(); !r)
    return r.error();
  if (auto r = leave_wal_mode(out.db, "base " + base); !r)
    return r.error();
  // Checked first, so a damaged base is not mistaken for a chain that does
  // not belong to it.
  auto before = integrity(out.db, "base " + base);
  if (!before)
    return before.error();
  if (*before != "ok")
    return make_sy_error(sy_errc::corrupt, fmt::format("rebuild: base {} fails its integrity "
                                                       "check: {}",
                                                       base, *before));
  // Foreign keys stay off (a new connection's default): the changesets hold
  // the rows that ON DELETE CASCADE removed as changes of their own.
  if (auto r = exec(out.db, "BEGIN", "rebuild: cannot start a transaction on " + out.path); !r)
    return r.error();
  rebuild_report report;
  for (std::size_t i = 0; i < changesets.size(); ++i) {
    const auto& path = changesets[i];
    auto bytes = read_whole(path);
    if (!bytes)
      return bytes.error();
    auto n = count_changes(*bytes, path);
    if (!n)
      return n.error();
    std::string note;
    int rc = sqlite3changeset_apply_v2(out.db, static_cast<int>(bytes->size()), bytes->data(),
                                       nullptr, abort_on_conflict, &note, nullptr, nullptr, 0);
    if (rc != SQLITE_OK && !note.empty())
      return make_sy_error(sy_errc::corrupt,
                           fmt::format("rebuild: changeset {} ({} of {}) does not apply to base "
                                       "{}: {}; the chain is out of order, incomplete or "
                                       "belongs to another base",
                                       path, i + 1, changesets.size(), base, note));
    if (rc != SQLITE_OK)
      return sqlite_error(out.db, rc, "rebuild: cannot apply changeset " + path);
    ++report.changesets;
    report.changes += *n;
  }
  if (auto r = exec(out.db, "COMMIT", "rebuild: cannot commit " + out.path); !r)
    return r.error();
  auto after = integrity(out.db, "the database rebuilt from " + base);
  if (!after)
    return after.error();
  report.integrity = *after;
  if (*after != "ok")
    return make_sy_error(sy_errc::corrupt,
                         fmt::format("rebuild: the database rebuilt from {} fails its integrity "
                                     "check: {}",
                                     base, *after));
  if (auto size = out.publish_as(target); !size)
    return size.error();
  return report;
}

} // namespace switchyard::backups

// Checkpoints a WAL database on its own connection and thread. With SQLite's
// automatic checkpoint, the commit that crosses the threshold copies the log
// into the database file and fsyncs it before it returns: about a quarter of
// a millisecond added, now and then, to whatever that commit was (a journaled
// failover step, say). The writing connection turns that off and tells this
// checkpointer how long the log is after each commit (its WAL hook); past
// the threshold this thread runs a PASSIVE checkpoint, which never blocks the
// writer; only when steady writing outruns it (the log at four times the
// threshold) does a commit copy the rest itself. Crash safety is SQLite's
// either way: the log is the truth until it is checkpointed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <caf/expected.hpp>

struct sqlite3;

namespace switchyard::persistence {

class wal_checkpointer {
public:
  /// SQLite's own default threshold: 1000 pages (about 4 MB) of log.
  static constexpr int default_threshold_pages = 1000;

  /// Opens its connection to `path` (a WAL database) and starts its thread.
  [[nodiscard]] static caf::expected<std::unique_ptr<wal_checkpointer>>
  start(const std::string& path, int threshold_pages = default_threshold_pages);

  /// Stops the thread (after a checkpoint under way) and closes the connection.
  ~wal_checkpointer();
  wal_checkpointer(const wal_checkpointer&) = delete;
  wal_checkpointer& operator=(const wal_checkpointer&) = delete;

  /// Makes `db` (the writing connection) hand its checkpoints to this one:
  /// its automatic checkpoint is replaced by a WAL hook that calls
  /// note_commit(). This checkpointer must outlive `db`'s use of the hook
  /// (close `db` first, or clear its hook).
  void attach(sqlite3* db);

  /// After a commit on `db` (database `name`): the log holds `wal_pages`
  /// pages. Cheap below the threshold (an integer compare); above it, wakes
  /// the thread once; at four times the threshold, checkpoints on `db`.
  void note_commit(sqlite3* db, const char* name, int wal_pages);

  /// Checkpoints this thread ran (each may have copied part of the log only,
  /// when a reader held older pages).
  [[nodiscard]] std::uint64_t checkpoints() const { return done_.load(); }
  /// Checkpoints a commit ran itself because this thread fell behind.
  [[nodiscard]] std::uint64_t inline_checkpoints() const { return inline_.load(); }

private:
  wal_checkpointer(sqlite3* db, int threshold_pages);
  void run();

  sqlite3* db_;
  const int threshold_;
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<bool> wanted_{false};
  std::atomic<std::uint64_t> done_{0};
  std::atomic<std::uint64_t> inline_{0};
  std::thread thread_;
};

} // namespace switchyard::persistence

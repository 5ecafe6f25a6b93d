#include "persistence/wal_checkpointer.hpp"

#include <chrono>

#include <sqlite3.h>

#include "messages/error.hpp"

namespace switchyard::persistence {

namespace {

int on_wal_commit(void* self, sqlite3* db, const char* name, int pages) {
  static_cast<wal_checkpointer*>(self)->note_commit(db, name, pages);
  return SQLITE_OK;
}

} // namespace

caf::expected<std::unique_ptr<wal_checkpointer>> wal_checkpointer::start(const std::string& path,
                                                                         int threshold_pages) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  if (rc != SQLITE_OK) {
    auto why = std::string(db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return make_sy_error(sy_errc::storage_failure,
                         "opening the checkpoint connection: " + why + " (" + path + ")");
  }
  sqlite3_busy_timeout(db, 1000);
  // A connection that has read nothing has not opened the log yet, and its
  // checkpoints would do nothing (SQLite 3.40 reports a log of -1 pages).
  if (sqlite3_exec(db, "PRAGMA schema_version", nullptr, nullptr, nullptr) != SQLITE_OK) {
    auto why = std::string(sqlite3_errmsg(db));
    sqlite3_close(db);
    return make_sy_error(sy_errc::storage_failure,
                         "reading through the checkpoint connection: " + why + " (" + path + ")");
  }
  return std::unique_ptr<wal_checkpointer>(new wal_checkpointer(db, threshold_pages));
}

wal_checkpointer::wal_checkpointer(sqlite3* db, int threshold_pages)
    : db_(db), threshold_(threshold_pages), thread_([this] { run(); }) {}

wal_checkpointer::~wal_checkpointer() {
  {
    std::lock_guard lock{m_};
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
  sqlite3_close(db_);
}

void wal_checkpointer::attach(sqlite3* db) {
  sqlite3_wal_hook(db, on_wal_commit, this);
}

void wal_checkpointer::note_commit(sqlite3* db, const char* name, int wal_pages) {
  // The writer starts the log over only when its transaction begins with the
  // log copied to the end. Under steady writing that never happens (this
  // thread, woken by a commit, copies while the next transaction begins), and
  // the log would grow without end: far past the threshold the writer copies
  // what is left itself, as SQLite's automatic checkpoint would have.
  if (wal_pages >= 4 * threshold_) {
    int log = 0;
    int copied = 0;
    if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) == SQLITE_OK)
      ++inline_;
    return;
  }
  if (wal_pages < threshold_ || wanted_.exchange(true))
    return; // short log, or the thread is already asked
  {
    std::lock_guard lock{m_}; // so that the wake-up cannot fall between its check and its wait
  }
  cv_.notify_one();
}

void wal_checkpointer::run() {
  std::unique_lock lock{m_};
  while (true) {
    cv_.wait(lock, [this] { return stop_ || wanted_.load(); });
    if (stop_)
      return;
    lock.unlock();
    // Cleared before the checkpoint: a commit during it that finds the log
    // still long asks again, and the next round copies what this one missed.
    wanted_.store(false);
    int log = 0;
    int copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    ++done_;
    lock.lock();
    // A reader still holds older pages (or the lock was busy): what is left
    // is copied next round, not in a loop that spins until it lets go.
    if (rc != SQLITE_OK || copied < log)
      cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; });
  }
}

} // namespace switchyard::persistence

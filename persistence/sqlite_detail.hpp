// Internal to persistence/: the state behind sqlite_store (one connection,
// one statement cache) and the helpers its definitions share. The class's
// member functions are defined by subject in several files:
//   sqlite_store.cpp        opening, migrations, group commits, config sync, topology
//   switchover_journal.cpp  plans, switchovers and their steps (the journal)
//   health_history.cpp      health transitions, detections, decisions, availability
//   audit_log.cpp           the audit trail and maintenance windows
//   site_journal.cpp        site switchovers and DR drills
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <caf/timestamp.hpp>

#include "persistence/sqlite_store.hpp"
#include "persistence/statement.hpp"
#include "persistence/statement_cache.hpp"
#include "persistence/switchover_ids.hpp"
#include "persistence/wal_checkpointer.hpp"

namespace switchyard::persistence {

struct sqlite_store::impl {
  explicit impl(sqlite3* handle) : db(handle), cache(handle) {}
  ~impl();
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  /// Destroyed after `db` is closed (the destructor's body closes it): `db`'s
  /// WAL hook points here.
  std::unique_ptr<wal_checkpointer> checkpointer;
  sqlite3* db = nullptr;
  statement_cache cache;               ///< every statement of `db`, prepared once
  std::shared_ptr<switchover_ids> ids; ///< where every switchover row's id comes from
  bool in_batch = false;

  // The cached statement for `sql`, reset and without bindings.
  caf::expected<statement*> stmt(std::string_view sql) { return cache.get(sql); }

  // Runs a cached statement that returns no rows.
  caf::expected<void> run(std::string_view sql) {
    auto st = stmt(sql);
    if (!st)
      return st.error();
    return (*st)->run();
  }

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back on error.
  // IMMEDIATE takes the write lock up front, so a busy database fails (after
  // busy_timeout) before anything is written rather than halfway through.
  // Inside a batch (group commit) it is a savepoint of the batch's transaction:
  // all or nothing of `body`, durable when the batch commits.
  template <class F> caf::expected<void> transaction(F&& body) {
    if (in_batch) {
      if (auto b = run("SAVEPOINT sy_write"); !b)
        return b.error();
      caf::expected<void> r = body();
      if (!r) {
        (void)run("ROLLBACK TO sy_write");
        (void)run("RELEASE sy_write");
        return r.error();
      }
      if (auto c = run("RELEASE sy_write"); !c) {
        (void)run("ROLLBACK TO sy_write");
        (void)run("RELEASE sy_write");
        return c.error();
      }
      return caf::unit;
    }
    if (auto b = run("BEGIN IMMEDIATE"); !b)
      return b.error();
    caf::expected<void> r = body();
    if (!r) {
      (void)run("ROLLBACK");
      return r.error();
    }
    if (auto c = run("COMMIT"); !c) {
      (void)run("ROLLBACK");
      return c.error();
    }
    return caf::unit;
  }
};

namespace detail {

inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t to_ms(caf::timestamp t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Parses a to_string() name back; unknown text maps to `fallback`.
template <class Enum, std::size_t N>
Enum parse(const std::string& text, const Enum (&values)[N], Enum fallback) {
  for (auto v : values)
    if (text == to_string(v))
      return v;
  return fallback;
}

} // namespace detail

} // namespace switchyard::persistence

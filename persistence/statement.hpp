// RAII wrapper of one prepared SQLite statement, reset after every use so it
// can be reused for the life of the connection.
#pragma once

#include <cstdint>
#include <string>

#include <caf/expected.hpp>

struct sqlite3;
struct sqlite3_stmt;

namespace switchyard::persistence {

class statement {
public:
  statement() = default;
  ~statement();
  statement(statement&& other) noexcept;
  statement& operator=(statement&& other) noexcept;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  [[nodiscard]] static caf::expected<statement> prepare(sqlite3* db, const std::string& sql);

  // Binding is 1-based, like SQLite.
  statement& bind(int index, std::int64_t value);
  statement& bind(int index, const std::string& value);
  statement& bind_null(int index);

  /// Steps once: true when a row is available, false when done; error otherwise.
  [[nodiscard]] caf::expected<bool> step();
  /// Runs to completion (for statements without result rows) and resets.
  [[nodiscard]] caf::expected<void> run();
  /// Steps through every result row, calling `on_row` for each, then resets.
  template <class F> [[nodiscard]] caf::expected<void> each_row(F&& on_row) {
    while (true) {
      auto row = step();
      if (!row)
        return row.error();
      if (!*row)
        break;
      on_row(*this);
    }
    reset();
    return caf::unit;
  }
  void reset();

  std::int64_t column_int(int index) const;
  std::string column_text(int index) const;

private:
  explicit statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
};

/// Runs SQL text that returns no rows (may contain several statements). A
/// failure reads "<what>: <SQLite's message> (<file>)"; `what` defaults to
/// the start of the SQL.
[[nodiscard]] caf::expected<void> exec_sql(sqlite3* db, const std::string& sql,
                                           const std::string& what = {});

/// A storage_failure reading "<what>: <SQLite's last message> (<file>)".
caf::error storage_error(sqlite3* db, const std::string& what);

/// A storage_failure reading "<message> (<file>)", for failures SQLite itself
/// did not report.
caf::error storage_error_at(sqlite3* db, const std::string& message);

} // namespace switchyard::persistence

// The prepared-statement wrapper and the error texts shared by the store.
#include "persistence/statement.hpp"

#include <sqlite3.h>

#include "messages/error.hpp"

namespace switchyard::persistence {

caf::error storage_error_at(sqlite3* db, const std::string& message) {
  const char* file = db != nullptr ? sqlite3_db_filename(db, "main") : nullptr;
  bool named = file != nullptr && *file != '\0';
  return make_sy_error(sy_errc::storage_failure, named ? message + " (" + file + ")" : message);
}

caf::error storage_error(sqlite3* db, const std::string& what) {
  return storage_error_at(db, what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "no database"));
}

statement::~statement() {
  if (stmt_ != nullptr)
    sqlite3_finalize(stmt_);
}

statement::statement(statement&& other) noexcept : stmt_(other.stmt_), db_(other.db_) {
  other.stmt_ = nullptr;
}

statement& statement::operator=(statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr)
      sqlite3_finalize(stmt_);
    stmt_ = other.stmt_;
    db_ = other.db_;
    other.stmt_ = nullptr;
  }
  return *this;
}

caf::expected<statement> statement::prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK)
    return storage_error(db, "preparing '" + sql.substr(0, 60) + "'");
  return statement{stmt, db};
}

statement& statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

statement& statement::bind(int index, const std::string& value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

statement& statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

caf::expected<bool> statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW)
    return true;
  if (rc == SQLITE_DONE)
    return false;
  auto err = storage_error(db_, std::string("executing '") +
                                    std::string(sqlite3_sql(stmt_)).substr(0, 60) + "'");
  reset();
  return err;
}

caf::expected<void> statement::run() {
  auto r = step();
  reset();
  if (!r)
    return r.error();
  return caf::unit;
}

void statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t statement::column_int(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

std::string statement::column_text(int index) const {
  auto* text = sqlite3_column_text(stmt_, index);
  return text == nullptr ? std::string{} : std::string(reinterpret_cast<const char*>(text));
}

caf::expected<void> exec_sql(sqlite3* db, const std::string& sql, const std::string& what) {
  // sqlite3_errmsg() still holds the failure right after sqlite3_exec returns.
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
    return storage_error(db, what.empty() ? "executing '" + sql.substr(0, 60) + "'" : what);
  return caf::unit;
}

} // namespace switchyard::persistence

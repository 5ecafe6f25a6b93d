// The prepared statements of one SQLite connection, keyed by their SQL text:
// each distinct text is prepared once (on first use) and reused for the life
// of the connection. Destroy (or clear) the cache before closing the
// connection: every statement is finalized then.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "persistence/statement.hpp"

struct sqlite3;

namespace switchyard::persistence {

class statement_cache {
public:
  explicit statement_cache(sqlite3* db) : db_(db) {}
  statement_cache(const statement_cache&) = delete;
  statement_cache& operator=(const statement_cache&) = delete;

  /// The statement for `sql`, prepared now if this text was never seen. A
  /// reused statement is reset with its bindings cleared, so it starts fresh
  /// even if its last user stopped half-way through the rows. A text that does
  /// not prepare is an error and is not cached. The pointer stays valid until
  /// clear() or destruction.
  [[nodiscard]] caf::expected<statement*> get(std::string_view sql);

  /// How many distinct statements are prepared.
  [[nodiscard]] std::size_t size() const { return stmts_.size(); }

  /// Finalizes every statement.
  void clear() { stmts_.clear(); }

private:
  sqlite3* db_;
  // std::less<>: looked up by string_view, so a hit allocates nothing.
  std::map<std::string, statement, std::less<>> stmts_;
};

} // namespace switchyard::persistence

// Prepares each SQL text once per connection (see statement_cache.hpp).
#include "persistence/statement_cache.hpp"

#include <utility>

namespace switchyard::persistence {

caf::expected<statement*> statement_cache::get(std::string_view sql) {
  if (auto i = stmts_.find(sql); i != stmts_.end()) {
    i->second.reset();
    return &i->second;
  }
  std::string text{sql};
  auto st = statement::prepare(db_, text);
  if (!st)
    return st.error();
  return &stmts_.emplace(std::move(text), std::move(*st)).first->second;
}

} // namespace switchyard::persistence

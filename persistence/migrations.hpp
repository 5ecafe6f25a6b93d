// Versioned schema migrations. PRAGMA user_version holds how many have been
// applied; each runs in its own transaction. Append new migrations; never
// edit one that has shipped.
#pragma once

#include <string>
#include <vector>

#include <caf/expected.hpp>

struct sqlite3;

namespace switchyard::persistence {

/// The migrations, in order: migration i brings the schema to version i+1.
const std::vector<std::string>& migrations();

/// Applies the pending migrations; refuses a database newer than this code.
[[nodiscard]] caf::expected<int> migrate(sqlite3* db);

} // namespace switchyard::persistence

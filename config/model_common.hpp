// What every part of the configuration model shares: durations, and where a
// value was written (for errors that name file:line:column).
#pragma once

#include <chrono>
#include <string>

namespace switchyard::config {

using milliseconds = std::chrono::milliseconds;

/// Where a value came from, for error messages that name file:line:column.
struct source_mark {
  std::string file;
  int line = 0;   ///< 1-based
  int column = 0; ///< 1-based
  /// Where a value was written is not part of what it means: moving a
  /// service down the file is not a change (see config/diff.hpp).
  friend bool operator==(const source_mark&, const source_mark&) { return true; }
};

} // namespace switchyard::config

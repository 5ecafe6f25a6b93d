// Loads and validates a YAML configuration. Errors name file:line:column,
// the field (as a path like services[0].health_check.interval) and what is wrong.
#pragma once

#include <string>
#include <vector>

#include "config/model.hpp"

namespace switchyard::config {

struct config_error {
  source_mark where;
  std::string field;   ///< e.g. "services[1].instances[0].port"
  std::string message; ///< what is wrong and, where possible, what is allowed
};

/// "demo.yaml:12:7: services[0].health_check.interval: 'abc' is not a duration ..."
std::string to_string(const config_error& err);

struct load_result {
  switchyard_config config;         ///< valid only when errors is empty
  std::vector<config_error> errors; ///< every problem found, not just the first
  bool ok() const { return errors.empty(); }
};

/// Reads and validates `path`. Never throws.
load_result load_config_file(const std::string& path);

/// Validates YAML text; `file_name` is used in error messages and to resolve relative paths.
load_result load_config_text(const std::string& text, const std::string& file_name);

/// Parses "250ms", "2s", "1m", "1h", "1m30s"; false if malformed.
bool parse_duration(const std::string& text, milliseconds& out);

} // namespace switchyard::config

// API bearer tokens: a YAML file of named tokens with roles, stored as
// SHA-256 hashes so the file never holds a usable secret.
//   tokens:
//     - {name: ops-alice, role: operator, sha256: <64 hex digits>}
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/loader.hpp"

namespace switchyard::config {

/// Roles are ordered: each includes the ones before it.
enum class api_role { viewer, operator_, admin };

const char* to_string(api_role r);

struct api_token {
  std::string name;
  api_role role = api_role::viewer;
  std::string sha256_hex; ///< lowercase hex of SHA-256(token)
};

struct tokens_result {
  std::vector<api_token> tokens;
  std::vector<config_error> errors;
  bool ok() const { return errors.empty(); }
};

/// Reads and validates a tokens file; errors name file:line:column like the config's.
tokens_result load_tokens_file(const std::string& path);

/// Lowercase hex SHA-256 of `text`.
std::string sha256_hex(const std::string& text);

/// The token whose hash matches `presented`, compared in constant time.
std::optional<api_token> find_token(const std::vector<api_token>& tokens,
                                    const std::string& presented);

} // namespace switchyard::config

// Typed, error-collecting reads from yaml-cpp nodes. Every problem becomes a
// config_error with file:line:column and the field's path; nothing throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/loader.hpp"

namespace switchyard::config {

class yaml_reader {
public:
  yaml_reader(std::string file, std::vector<config_error>& errors)
      : file_(std::move(file)), errors_(errors) {}

  const std::string& file() const { return file_; }
  source_mark mark_of(const YAML::Node& node) const;

  void fail(const YAML::Node& at, const std::string& field, std::string message);

  /// True if `node` is a mapping; reports an error otherwise.
  bool expect_map(const YAML::Node& node, const std::string& field);
  bool expect_sequence(const YAML::Node& node, const std::string& field);

  /// Reports every key of `map` that is not in `allowed`, and keys given twice.
  void check_keys(const YAML::Node& map, const std::string& field,
                  std::initializer_list<const char*> allowed);

  /// Reports keys given twice: yaml-cpp keeps both and a lookup sees only one,
  /// so the other would be silently ignored.
  void check_duplicates(const YAML::Node& map, const std::string& field);

  /// Reports a missing required key at the map's position; true if present.
  bool require(const YAML::Node& map, const char* key, const std::string& field);

  // Each reader leaves `out` unchanged (the default) when the key is absent,
  // and reports an error (leaving `out` unchanged) when the value is malformed.
  // They return false only in that last case, so callers can skip checks that
  // compare fields and would otherwise complain about a default nobody wrote.
  bool read(const YAML::Node& map, const char* key, const std::string& field, std::string& out);
  bool read(const YAML::Node& map, const char* key, const std::string& field, int& out, int min,
            int max);
  bool read(const YAML::Node& map, const char* key, const std::string& field, milliseconds& out);

  template <class Enum>
  bool read_enum(const YAML::Node& map, const char* key, const std::string& field, Enum& out,
                 std::initializer_list<std::pair<const char*, Enum>> names) {
    if (!map[key].IsDefined())
      return true;
    std::string text;
    if (!scalar(map[key], field, text))
      return false;
    std::string allowed;
    for (const auto& [name, value] : names) {
      if (text == name) {
        out = value;
        return true;
      }
      allowed += allowed.empty() ? name : std::string(", ") + name;
    }
    fail(map[key], field, "'" + text + "' is not one of: " + allowed);
    return false;
  }

  /// The scalar text of `node`; reports an error for maps, sequences and null.
  bool scalar(const YAML::Node& node, const std::string& field, std::string& out);

private:
  std::string file_;
  std::vector<config_error>& errors_;
};

/// Reads the whole regular file at `path` (at most `max_bytes`, see
/// config/file_read.hpp) into `out`; on failure, the error to report
/// ("<path>:0:0: (file): cannot read: <why>").
std::optional<config_error> read_whole_file(const std::string& path, std::string& out,
                                            std::size_t max_bytes);

/// "services[0]" + "name" -> "services[0].name".
inline std::string join(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

inline std::string index(const std::string& parent, std::size_t i) {
  return parent + "[" + std::to_string(i) + "]";
}

} // namespace switchyard::config

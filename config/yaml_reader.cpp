// Typed reads from yaml-cpp nodes that turn every wrong kind, malformed value
// or unknown key into a config_error instead of an exception.
#include "config/yaml_reader.hpp"

#include <limits>
#include <map>

#include "config/file_read.hpp"

namespace switchyard::config {

namespace {

const char* kind_name(const YAML::Node& node) {
  if (!node.IsDefined()) // a missing key: Type() would throw
    return "nothing";
  switch (node.Type()) {
  case YAML::NodeType::Map:
    return "a mapping";
  case YAML::NodeType::Sequence:
    return "a list";
  case YAML::NodeType::Scalar:
    return "a single value";
  case YAML::NodeType::Null:
    return "nothing";
  case YAML::NodeType::Undefined:
    break;
  }
  return "nothing";
}

} // namespace

source_mark yaml_reader::mark_of(const YAML::Node& node) const {
  // No position (a missing key, an empty document): point at the file as a whole.
  if (!node.IsDefined() || node.Mark().is_null())
    return {file_, 1, 1};
  auto m = node.Mark();
  return {file_, m.line + 1, m.column + 1};
}

void yaml_reader::fail(const YAML::Node& at, const std::string& field, std::string message) {
  errors_.push_back(config_error{mark_of(at), field, std::move(message)});
}

bool yaml_reader::expect_map(const YAML::Node& node, const std::string& field) {
  if (node.IsMap())
    return true;
  fail(node, field, std::string("expected a mapping (key: value), got ") + kind_name(node));
  return false;
}

bool yaml_reader::expect_sequence(const YAML::Node& node, const std::string& field) {
  if (node.IsSequence())
    return true;
  fail(node, field, std::string("expected a list, got ") + kind_name(node));
  return false;
}

void yaml_reader::check_keys(const YAML::Node& map, const std::string& field,
                             std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* a : allowed)
    list += list.empty() ? a : std::string(", ") + a;
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) {
      fail(kv.first, field.empty() ? std::string("(top level)") : field,
           std::string("a key must be a plain name, got ") + kind_name(kv.first));
      continue;
    }
    const auto& key = kv.first.Scalar();
    bool known = false;
    for (const char* a : allowed)
      known = known || key == a;
    if (!known)
      fail(kv.first, join(field, key), "unknown key (allowed: " + list + ")");
  }
  check_duplicates(map, field);
}

void yaml_reader::check_duplicates(const YAML::Node& map, const std::string& field) {
  std::map<std::string, source_mark> first;
  for (const auto& kv : map) {
    if (!kv.first.IsScalar())
      continue;
    auto [it, fresh] = first.emplace(kv.first.Scalar(), mark_of(kv.first));
    if (!fresh)
      fail(kv.first, join(field, kv.first.Scalar()),
           "given twice (first at " + std::to_string(it->second.line) + ":" +
               std::to_string(it->second.column) + "); keep one");
  }
}

bool yaml_reader::require(const YAML::Node& map, const char* key, const std::string& field) {
  if (map[key].IsDefined())
    return true;
  fail(map, field.empty() ? std::string("(top level)") : field,
       std::string("missing required key '") + key + "'");
  return false;
}

bool yaml_reader::scalar(const YAML::Node& node, const std::string& field, std::string& out) {
  if (!node.IsScalar()) {
    fail(node, field, std::string("expected a single value, got ") + kind_name(node));
    return false;
  }
  out = node.Scalar();
  return true;
}

bool yaml_reader::read(const YAML::Node& map, const char* key, const std::string& field,
                       std::string& out) {
  auto node = map[key];
  return !node.IsDefined() || scalar(node, field, out);
}

bool yaml_reader::read(const YAML::Node& map, const char* key, const std::string& field, int& out,
                       int min, int max) {
  auto node = map[key];
  if (!node.IsDefined())
    return true;
  std::string text;
  if (!scalar(node, field, text))
    return false;
  // Digits only (with an optional sign): std::stoll alone would accept " 12" and "12abc".
  auto digits = text.substr(!text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
    fail(node, field, "'" + text + "' is not a whole number");
    return false;
  }
  // More than 10 digits is out of any int range; don't let std::stoll overflow.
  auto value = digits.size() > 10 ? std::numeric_limits<long long>::max() : std::stoll(text);
  if (value < min || value > max) {
    fail(node, field,
         "'" + text + "' is out of range (" + std::to_string(min) + ".." + std::to_string(max) +
             ")");
    return false;
  }
  out = static_cast<int>(value);
  return true;
}

bool yaml_reader::read(const YAML::Node& map, const char* key, const std::string& field,
                       milliseconds& out) {
  auto node = map[key];
  if (!node.IsDefined())
    return true;
  std::string text;
  if (!scalar(node, field, text))
    return false;
  milliseconds value{};
  if (parse_duration(text, value)) {
    out = value;
    return true;
  }
  bool digits_only = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  if (digits_only)
    fail(node, field, "'" + text + "' has no unit (add a unit: ms, s, m, h; e.g. " + text + "s)");
  else
    fail(node, field, "'" + text + "' is not a duration (use e.g. 500ms, 2s, 1m)");
  return false;
}

std::optional<config_error> read_whole_file(const std::string& path, std::string& out,
                                            std::size_t max_bytes) {
  if (auto why = read_regular_file(path, max_bytes, out); !why.empty())
    return config_error{{path, 0, 0}, "(file)", "cannot read: " + why};
  return std::nullopt;
}

} // namespace switchyard::config

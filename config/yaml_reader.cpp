#include "config/yaml_reader.hpp"

#include <limits>

namespace switchyard::config {

namespace {

const char* kind_name(const YAML::Node& node) {
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
  auto m = node.Mark();
  if (m.is_null())
    return {file_, 0, 0};
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
  for (const auto& kv : map) {
    auto key = kv.first.IsScalar() ? kv.first.Scalar() : std::string{"?"};
    bool known = false;
    std::string list;
    for (const char* a : allowed) {
      known = known || key == a;
      list += list.empty() ? a : std::string(", ") + a;
    }
    if (!known)
      fail(kv.first, join(field, key), "unknown key (allowed: " + list + ")");
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

bool yaml_reader::scalar_at(const YAML::Node& map, const char* key, const std::string& field,
                            std::string& out) {
  auto node = map[key];
  return node.IsDefined() && scalar(node, field, out);
}

void yaml_reader::read(const YAML::Node& map, const char* key, const std::string& field,
                       std::string& out) {
  auto node = map[key];
  if (node.IsDefined())
    scalar(node, field, out);
}

void yaml_reader::read(const YAML::Node& map, const char* key, const std::string& field, int& out,
                       int min, int max) {
  std::string text;
  if (!scalar_at(map, key, field, text))
    return;
  auto node = map[key];
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) {
    fail(node, field, "'" + text + "' is not a whole number");
    return;
  }
  if (value < min || value > max) {
    fail(node, field,
         "'" + text + "' is out of range (" + std::to_string(min) + ".." + std::to_string(max) +
             ")");
    return;
  }
  out = static_cast<int>(value);
}

void yaml_reader::read(const YAML::Node& map, const char* key, const std::string& field,
                       milliseconds& out) {
  std::string text;
  if (!scalar_at(map, key, field, text))
    return;
  auto node = map[key];
  milliseconds value{};
  if (parse_duration(text, value)) {
    out = value;
    return;
  }
  bool digits_only = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  if (digits_only)
    fail(node, field, "'" + text + "' has no unit (add one: ms, s, m, h; e.g. " + text + "s)");
  else
    fail(node, field, "'" + text + "' is not a duration (use e.g. 500ms, 2s, 1m, 1m30s)");
}

} // namespace switchyard::config

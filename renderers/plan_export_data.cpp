// The plan export for machines. JSON is the reference structure: YAML is
// emitted from the same tree so the two never drift apart.
#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "renderers/plan_export_detail.hpp"

namespace switchyard::renderers::detail {

namespace {

// -- JSON (the reference structure) -------------------------------------------

// Ordered so the output reads in the documented key order, not alphabetically.
using ojson = nlohmann::ordered_json;

ojson text_or_null(const std::string* text) {
  return text == nullptr ? ojson(nullptr) : ojson(*text);
}

ojson nonempty_or_null(const std::string& text) {
  return text.empty() ? ojson(nullptr) : ojson(text);
}

ojson names_json(const std::vector<instance_id>& ids) {
  auto out = ojson::array();
  for (const auto& id : ids)
    out.push_back(id.value);
  return out;
}

ojson instance_json(const plan_export_entry& e, const config::instance_settings& inst) {
  ojson j;
  j["name"] = inst.name;
  j["address"] = address_of(inst);
  j["site"] = inst.site;
  j["priority"] = inst.priority;
  j["health"] = to_string(health_of(e, inst.name));
  j["primary"] = inst.name == e.current_primary;
  return j;
}

ojson step_json(const config::service_settings& svc, const plan_step& st) {
  ojson j;
  j["sequence"] = st.sequence;
  j["phase"] = to_string(st.phase);
  j["name"] = st.name;
  j["action_kind"] = st.action_kind;
  j["target"] = st.target.value;
  j["description"] = st.description;
  j["timeout_ms"] = to_ms(st.timeout);
  j["rollback"] = text_or_null(rollback_of(svc, st));
  return j;
}

ojson plan_json(const config::service_settings& svc, const failover_plan& p) {
  ojson j;
  j["from"] = text_or_null(first_name(p.primary_targets));
  j["to"] = text_or_null(first_name(p.secondary_targets));
  j["candidates"] = names_json(p.secondary_targets);
  j["triggers"] = p.triggers;
  j["rollback_criteria"] = p.rollback_criteria;
  j["estimated_ms"] = to_ms(p.estimated_failover_time);
  auto steps = ojson::array();
  for (const auto& st : p.steps)
    steps.push_back(step_json(svc, st));
  j["steps"] = std::move(steps);
  return j;
}

ojson entry_json(const plan_export_entry& e) {
  const auto& svc = *e.service;
  ojson j;
  j["service"] = svc.name;
  j["strategy"] = config::to_string(svc.strategy.type);
  j["primary"] = e.current_primary;
  j["epoch"] = e.epoch;
  j["rto_ms"] = svc.objective.rto.count();
  j["rpo_ms"] = svc.objective.rpo.count();
  j["block_period_ms"] = svc.block_period.count();
  auto instances = ojson::array();
  for (const auto& inst : svc.instances)
    instances.push_back(instance_json(e, inst));
  j["instances"] = std::move(instances);
  j["plan"] = e.plan ? plan_json(svc, *e.plan) : ojson(nullptr);
  j["note"] = nonempty_or_null(e.note);
  return j;
}

ojson document(const std::vector<plan_export_entry>& entries, const std::string& generated_at) {
  ojson j;
  j["generated_at"] = generated_at;
  auto services = ojson::array();
  for (const auto& e : entries)
    services.push_back(entry_json(e));
  j["services"] = std::move(services);
  return j;
}

std::string dump(const ojson& j) {
  // Invalid UTF-8 in a configured command must not throw: replace it.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

// -- YAML (the JSON tree, emitted as YAML) ------------------------------------
//
// A small streaming writer of our own (yaml-cpp's emitter took seconds for
// 10,000 services): block maps and sequences, `{}`/`[]` for empty ones, `~`
// for null. A string is written plain only when no YAML 1.1 or 1.2 reader can
// take it for anything but that string; otherwise double-quoted with escapes.

/// Words YAML 1.1 readers (PyYAML, Ruby, ...) take for a bool or null when
/// plain, compared without case.
bool is_yaml_word(std::string_view s) {
  static constexpr std::array<std::string_view, 9> words{"y",     "yes", "n",   "no",  "true",
                                                         "false", "on",  "off", "null"};
  if (s.size() > 5)
    return false;
  std::array<char, 5> lower{};
  for (std::size_t i = 0; i < s.size(); ++i)
    lower[i] = s[i] >= 'A' && s[i] <= 'Z' ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
  std::string_view l{lower.data(), s.size()};
  return std::find(words.begin(), words.end(), l) != words.end();
}

/// True when `s` reads back as the same string written plain. Conservative:
/// anything that starts like a number, an indicator or a quote is quoted, and
/// so is anything outside printable ASCII.
bool plain_is_safe(std::string_view s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ' || s.back() == ':' || is_yaml_word(s))
    return false;
  constexpr std::string_view leading = "-?:,[]{}#&*!|>'\"%@`<=~+.0123456789";
  if (leading.find(s.front()) != std::string_view::npos)
    return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f)
      return false;
    if (c == ':' && i + 1 < s.size() && s[i + 1] == ' ')
      return false;
    if (c == '#' && s[i - 1] == ' ') // i > 0: '#' cannot lead (above)
      return false;
  }
  return true;
}

/// The length of the valid UTF-8 sequence at s[i] (overlongs, surrogates and
/// code points past U+10FFFF are invalid), 0 if there is none; `cp` gets it.
std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t& cp) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto c0 = b(0);
  std::size_t len = c0 >= 0xF0 ? 4 : c0 >= 0xE0 ? 3 : c0 >= 0xC0 ? 2 : 0;
  if (len == 0 || c0 >= 0xF8 || i + len > s.size())
    return 0;
  cp = c0 & (0x7F >> len);
  for (std::size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  constexpr char32_t min_of[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_of[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

/// Double-quoted with escapes; invalid UTF-8 becomes U+FFFD, as in the JSON export.
void yaml_quoted(std::string& out, std::string_view s) {
  constexpr char hex[] = "0123456789ABCDEF";
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += hex[c >> 4];
          out += hex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
      }
      ++i;
      continue;
    }
    char32_t cp = 0;
    auto len = utf8_sequence(s, i, cp);
    if (len == 0) {
      out += "\xEF\xBF\xBD"; // U+FFFD
      ++i;
      continue;
    }
    // Line breaks and the BOM that YAML would not keep as written, escaped.
    if (cp == 0x85)
      out += "\\u0085"; // not \N: yaml-cpp 0.7 decodes that to a lone byte
    else if (cp == 0x2028)
      out += "\\L";
    else if (cp == 0x2029)
      out += "\\P";
    else if (cp == 0xFEFF)
      out += "\\uFEFF";
    else
      out.append(s.substr(i, len));
    i += len;
  }
  out += '"';
}

void yaml_string(std::string& out, std::string_view s) {
  if (plain_is_safe(s))
    out.append(s);
  else
    yaml_quoted(out, s);
}

bool yaml_block(const ojson& j) {
  return (j.is_object() || j.is_array()) && !j.empty();
}

/// A scalar or an empty collection, on the current line.
void yaml_inline(std::string& out, const ojson& j) {
  switch (j.type()) {
  case ojson::value_t::object:
    out += "{}";
    return;
  case ojson::value_t::array:
    out += "[]";
    return;
  case ojson::value_t::string:
    yaml_string(out, j.get_ref<const std::string&>());
    return;
  case ojson::value_t::boolean:
    out += j.get<bool>() ? "true" : "false";
    return;
  case ojson::value_t::number_unsigned:
    out += fmt::format_int(j.get<std::uint64_t>()).str();
    return;
  case ojson::value_t::number_integer:
    out += fmt::format_int(j.get<std::int64_t>()).str();
    return;
  case ojson::value_t::number_float: {
    auto d = j.get<double>();
    if (std::isnan(d))
      out += ".nan";
    else if (std::isinf(d))
      out += d > 0 ? ".inf" : "-.inf";
    else
      out += fmt::format("{}", d);
    return;
  }
  case ojson::value_t::null:
  case ojson::value_t::binary:
  case ojson::value_t::discarded:
    break;
  }
  out += '~';
}

void yaml_seq(std::string& out, const ojson& j, std::size_t indent, bool on_open_line);

/// A non-empty map at `indent`; its first key continues the current line
/// when `on_open_line` (after "- ").
void yaml_map(std::string& out, const ojson& j, std::size_t indent, bool on_open_line) {
  for (const auto& [key, value] : j.get_ref<const ojson::object_t&>()) {
    if (!on_open_line)
      out.append(indent, ' ');
    on_open_line = false;
    yaml_string(out, key);
    out += ':';
    if (!yaml_block(value)) {
      out += ' ';
      yaml_inline(out, value);
      out += '\n';
    } else if (value.is_object()) {
      out += '\n';
      yaml_map(out, value, indent + 2, false);
    } else {
      out += '\n';
      yaml_seq(out, value, indent + 2, false);
    }
  }
}

void yaml_seq(std::string& out, const ojson& j, std::size_t indent, bool on_open_line) {
  for (const auto& value : j.get_ref<const ojson::array_t&>()) {
    if (!on_open_line)
      out.append(indent, ' ');
    on_open_line = false;
    out += "- ";
    if (!yaml_block(value)) {
      yaml_inline(out, value);
      out += '\n';
    } else if (value.is_object()) {
      yaml_map(out, value, indent + 2, true);
    } else {
      yaml_seq(out, value, indent + 2, true);
    }
  }
}

std::string to_yaml(const ojson& j) {
  std::string out;
  if (!yaml_block(j)) {
    yaml_inline(out, j);
    out += '\n';
  } else if (j.is_object()) {
    yaml_map(out, j, 0, false);
  } else {
    yaml_seq(out, j, 0, false);
  }
  return out;
}

} // namespace

std::string render_json(const std::vector<plan_export_entry>& entries,
                        const std::string& generated_at) {
  auto text = dump(document(entries, generated_at));
  text += '\n'; // appended in place: no copy of a 29 MB text
  return text;
}

std::string render_yaml(const std::vector<plan_export_entry>& entries,
                        const std::string& generated_at) {
  return to_yaml(document(entries, generated_at));
}

} // namespace switchyard::renderers::detail

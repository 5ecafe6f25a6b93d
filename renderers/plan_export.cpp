// Plan export renderers. JSON is the reference structure: YAML is produced
// from the same tree so the two never drift apart; the Markdown runbook and
// the Graphviz picture read the same facts for people.
#include "renderers/plan_export.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "renderers/markdown_text.hpp"
#include "renderers/site_runbook.hpp"

namespace switchyard::strategies {

namespace {

// -- facts every format shows -------------------------------------------------

std::int64_t to_ms(caf::timespan d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

std::string address_of(const config::instance_settings& inst) {
  // The loader strips an IPv6 host's brackets; without them the port would be ambiguous.
  if (inst.host.find(':') != std::string::npos)
    return fmt::format("[{}]:{}", inst.host, inst.port);
  return fmt::format("{}:{}", inst.host, inst.port);
}

health_status health_of(const plan_export_entry& e, const std::string& instance) {
  auto i = e.health.find(instance);
  return i == e.health.end() ? health_status::unknown : i->second;
}

const std::vector<config::action_settings>& actions_of(const config::strategy_settings& s,
                                                       step_phase phase) {
  switch (phase) {
  case step_phase::demote:
    return s.demote;
  case step_phase::fence:
    return s.fence;
  case step_phase::promote:
    return s.promote;
  case step_phase::reroute:
    return s.reroute;
  case step_phase::verify:
    break;
  }
  return s.verify;
}

const config::action_settings* action_of(const config::service_settings& svc, const plan_step& st) {
  for (const auto& a : actions_of(svc.strategy, st.phase))
    if (a.name == st.name)
      return &a;
  return nullptr;
}

/// The configured undo command of a step; nullptr if it has none (or its
/// action is no longer configured, in which case nothing can run it either).
const std::string* rollback_of(const config::service_settings& svc, const plan_step& st) {
  const auto* a = action_of(svc, st);
  return a == nullptr || a->rollback.empty() ? nullptr : &a->rollback;
}

const std::string* first_name(const std::vector<instance_id>& ids) {
  return ids.empty() ? nullptr : &ids.front().value;
}

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

std::string render_json(const std::vector<plan_export_entry>& entries,
                        const std::string& generated_at) {
  auto text = dump(document(entries, generated_at));
  text += '\n'; // appended in place: no copy of a 29 MB text
  return text;
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

std::string render_yaml(const std::vector<plan_export_entry>& entries,
                        const std::string& generated_at) {
  return to_yaml(document(entries, generated_at));
}

// -- Markdown runbook ---------------------------------------------------------

std::string human(std::int64_t ms) {
  return human_duration(ms);
}

std::string human(caf::timespan d) {
  return human(to_ms(d));
}

std::string human(config::milliseconds d) {
  return human(d.count());
}

std::string cell(std::string_view text) {
  return table_cell(text);
}

/// "run <command>" for an operator to copy: a code span if the command is one
/// line, otherwise a fenced block indented under its list item (`indent` = the
/// item's marker width), since a code span cannot hold line breaks.
std::string run_md(std::string_view command, std::size_t indent) {
  if (command.empty())
    return "nothing (no command is configured)";
  if (command.find('\n') == std::string_view::npos)
    return "run " + code_span(command);
  if (command.back() == '\n')
    command.remove_suffix(1);
  std::string pad(indent, ' ');
  std::string fence(std::max<std::size_t>(3, longest_backtick_run(command) + 1), '`');
  std::string out = fmt::format("run this:\n\n{}{}sh\n", pad, fence);
  std::size_t start = 0;
  while (start <= command.size()) {
    auto end = std::min(command.find('\n', start), command.size());
    out += fmt::format("{}{}\n", pad, command.substr(start, end - start));
    start = end + 1;
  }
  return out + fmt::format("{}{}\n", pad, fence);
}

std::string instance_md(const config::service_settings& svc, const std::string& name) {
  const auto* inst = svc.find_instance(name);
  return inst == nullptr ? fmt::format("**{}** (not configured)", name)
                         : fmt::format("**{}** ({})", name, address_of(*inst));
}

void instances_md(std::string& out, const plan_export_entry& e) {
  out += "| Instance | Address | Site | Priority | Health | Role |\n";
  out += "|---|---|---|---|---|---|\n";
  for (const auto& inst : e.service->instances) {
    bool primary = inst.name == e.current_primary;
    out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", cell(inst.name), cell(address_of(inst)),
                       cell(inst.site), inst.priority, to_string(health_of(e, inst.name)),
                       primary ? "**primary**" : "standby");
  }
  out += "\n";
}

void objectives_md(std::string& out, const plan_export_entry& e) {
  const auto& svc = *e.service;
  out += fmt::format("- RTO: {}\n- RPO: {}\n", human(svc.objective.rto), human(svc.objective.rpo));
  out += fmt::format("- Block period: {} (no second automatic failover within it)\n",
                     human(svc.block_period));
  if (e.plan) {
    auto estimate = e.plan->estimated_failover_time;
    bool over = svc.objective.rto.count() > 0 && estimate > svc.objective.rto;
    out += fmt::format("- Estimated failover time: {} (upper bound: detection plus every step "
                       "running to its timeout){}\n",
                       human(estimate), over ? "; **exceeds the RTO**" : "");
  }
  out += fmt::format("- Backups: {}\n", backup_summary(svc.objective));
  out += "\n";
}

void bullets_md(std::string& out, const std::vector<std::string>& items) {
  for (const auto& item : items)
    out += fmt::format("- {}\n", item);
  if (items.empty())
    out += "- (none)\n";
  out += "\n";
}

/// `text` as one shell word: plain if it is safe as is, otherwise single-quoted.
std::string shell_word(std::string_view text) {
  auto safe = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view{"_-.:/@%+,="}.find(c) != std::string_view::npos;
  };
  if (!text.empty() && std::all_of(text.begin(), text.end(), safe))
    return std::string{text};
  std::string out = "'";
  for (char c : text)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

// What the commands see when Switchyard runs them: by hand, an operator must
// set the same, or a command like `fence $SWITCHYARD_TARGET` acts on nothing.
void environment_md(std::string& out, const plan_export_entry& e, const failover_plan& p) {
  const auto& svc = *e.service;
  auto address = [&](const std::string* name) {
    const auto* inst = name == nullptr ? nullptr : svc.find_instance(*name);
    return inst == nullptr ? std::string{} : address_of(*inst);
  };
  const auto* from = first_name(p.primary_targets);
  const auto* to = first_name(p.secondary_targets);
  out += "The commands read `SWITCHYARD_*` environment variables. To run them by hand, first "
         "set\n\n```sh\n";
  out += fmt::format("export SWITCHYARD_SERVICE={}\n", shell_word(svc.name));
  out += fmt::format("export SWITCHYARD_OLD_PRIMARY={}\n", shell_word(from ? *from : ""));
  out += fmt::format("export SWITCHYARD_OLD_PRIMARY_ADDRESS={}\n", shell_word(address(from)));
  out += fmt::format("export SWITCHYARD_NEW_PRIMARY={}\n", shell_word(to ? *to : ""));
  out += fmt::format("export SWITCHYARD_NEW_PRIMARY_ADDRESS={}\n", shell_word(address(to)));
  out += "```\n\nand for each step the variables listed with it.\n\n";
}

/// The per-step variables (and the action's own `env`) as one code span.
std::string step_environment_md(const config::service_settings& svc, const plan_step& st) {
  std::string vars =
      fmt::format("SWITCHYARD_TARGET={} SWITCHYARD_PHASE={} SWITCHYARD_STEP={}",
                  shell_word(st.target.value), to_string(st.phase), shell_word(st.name));
  if (const auto* action = action_of(svc, st))
    for (const auto& [key, value] : action->env)
      vars += fmt::format(" {}={}", key, shell_word(value));
  return code_span(vars);
}

void steps_md(std::string& out, const plan_export_entry& e, const failover_plan& p) {
  const auto& svc = *e.service;
  out += "### Steps\n\n";
  const auto* from = first_name(p.primary_targets);
  const auto* to = first_name(p.secondary_targets);
  out += fmt::format("Fail over from **{}** to **{}**", from ? *from : "?", to ? *to : "?");
  if (p.secondary_targets.size() > 1) {
    std::string rest;
    for (std::size_t i = 1; i < p.secondary_targets.size(); ++i)
      rest += fmt::format("{}{}", rest.empty() ? "" : ", ", p.secondary_targets[i].value);
    out += fmt::format(" (further candidates, best first: {})", rest);
  }
  out += ". Run the steps in this order and stop at the first that fails (see *Roll back "
         "if*). The elapsed times are upper bounds: the step timeouts added up from the first "
         "step, failure detection not included.\n\n";
  environment_md(out, e, p);
  caf::timespan elapsed{0};
  for (const auto& st : p.steps) {
    elapsed += st.timeout;
    auto marker = fmt::format("{}. ", st.sequence);
    std::string indent(marker.size(), ' ');
    out += fmt::format("{}**{}** on {}: {}\n", marker, to_string(st.phase),
                       instance_md(svc, st.target.value), run_md(st.description, indent.size()));
    out += fmt::format("{}- action {} ({}), timeout {}; at most {} elapsed when it ends\n", indent,
                       code_span(st.name), st.action_kind, human(st.timeout), human(elapsed));
    out += fmt::format("{}- environment: {}\n", indent, step_environment_md(svc, st));
  }
  out += "\n";
}

void undo_md(std::string& out, const plan_export_entry& e, const failover_plan& p) {
  const auto& svc = *e.service;
  out += "### Undo\n\n";
  std::string items;
  int n = 0;
  for (auto st = p.steps.rbegin(); st != p.steps.rend(); ++st) {
    const auto* rollback = rollback_of(svc, *st);
    if (rollback == nullptr)
      continue;
    auto marker = fmt::format("{}. ", ++n);
    std::string indent(marker.size(), ' ');
    items +=
        fmt::format("{}Undo step {} ({}) on {}: {}\n", marker, st->sequence, code_span(st->name),
                    instance_md(svc, st->target.value), run_md(*rollback, indent.size()));
    items += fmt::format("{}- environment: as for step {}\n", indent, st->sequence);
  }
  if (items.empty()) {
    out += "No step has a rollback command: undoing a step is up to the operator.\n\n";
    return;
  }
  out += "Undo only the steps that completed, newest first. Switchyard does this itself when a "
         "step of a planned switchover fails; other failovers stop where they failed and leave "
         "it to the operator.\n\n";
  out += items + "\n";
}

void service_md(std::string& out, const plan_export_entry& e) {
  const auto& svc = *e.service;
  out += fmt::format("## {}\n\n", svc.name);
  out += fmt::format("Strategy {}; current primary **{}**, epoch {}.\n\n",
                     code_span(config::to_string(svc.strategy.type)), e.current_primary, e.epoch);
  if (!e.plan)
    out += fmt::format("**No failover plan.** {}\n\n",
                       e.note.empty() ? std::string{"No reason was given."} : e.note);
  else if (!e.note.empty())
    out += fmt::format("> **Note:** {}\n\n", e.note);
  instances_md(out, e);
  objectives_md(out, e);
  if (!e.plan)
    return;
  out += "Failover starts when:\n\n";
  bullets_md(out, e.plan->triggers);
  steps_md(out, e, *e.plan);
  out += "### Roll back if\n\n";
  bullets_md(out, e.plan->rollback_criteria);
  undo_md(out, e, *e.plan);
}

std::string render_markdown(const std::vector<plan_export_entry>& entries,
                            const std::string& generated_at, const plan_export_context& context) {
  std::string out =
      fmt::format("# Failover runbook\n\nGenerated at {} by Switchyard.\n\n", generated_at);
  if (entries.empty())
    out += "No services are configured.\n";
  for (const auto& e : entries)
    service_md(out, e);
  if (!entries.empty())
    out += "\n" + site_runbook_markdown(entries, context);
  return out;
}

// -- Graphviz DOT -------------------------------------------------------------

/// Inside a DOT quoted string `"` ends it and `\` starts an escape (`\n`,
/// `\N`, ...), so both are escaped; a line break becomes DOT's `\n`.
std::string dot_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += {'\\', c};
    else if (c == '\n')
      out += "\\n";
    else if (c != '\r')
      out += c;
  }
  return out;
}

std::string dot_quoted(std::string_view text) {
  return "\"" + dot_escape(text) + "\"";
}

/// A quoted label of several lines.
std::string dot_label(const std::vector<std::string_view>& lines) {
  std::string out = "\"";
  for (std::size_t i = 0; i < lines.size(); ++i)
    out += (i == 0 ? "" : "\\n") + dot_escape(lines[i]);
  return out + "\"";
}

/// Subgraph names are global in a DOT file and "cluster_a_b" could be service
/// "a_b" as well as site "b" of service "a": a repeat gets a suffix.
class dot_names {
public:
  std::string unique(const std::string& wanted) {
    auto name = wanted;
    for (int n = 2; !used_.insert(name).second; ++n)
      name = fmt::format("{}#{}", wanted, n);
    return name;
  }

private:
  std::set<std::string> used_;
};

std::string node_id(const config::service_settings& svc, const std::string& instance) {
  return dot_quoted(svc.name + "/" + instance);
}

/// Primary: filled and bold. Unhealthy: red. Unknown health: grey and dashed.
std::string node_dot(const plan_export_entry& e, const config::instance_settings& inst) {
  bool primary = inst.name == e.current_primary;
  auto health = health_of(e, inst.name);
  std::string style = "rounded";
  std::string attrs = fmt::format(
      "label={}", dot_label({inst.name, primary ? "primary" : "standby", to_string(health)}));
  if (primary) {
    style += ",filled,bold";
    attrs += fmt::format(", fillcolor=\"{}\"",
                         health == health_status::unhealthy ? "mistyrose" : "lightblue");
  }
  if (health == health_status::unhealthy) {
    attrs += ", color=\"red3\", fontcolor=\"red3\"";
  } else if (health == health_status::unknown) {
    style += ",dashed";
    attrs += ", color=\"gray50\"";
  }
  return fmt::format("{} [{}, style=\"{}\"]", node_id(*e.service, inst.name), attrs, style);
}

void plan_edges_dot(std::string& out, const config::service_settings& svc, const failover_plan& p) {
  const auto* from = first_name(p.primary_targets);
  if (from == nullptr)
    return;
  for (std::size_t i = 0; i < p.secondary_targets.size(); ++i) {
    auto to = node_id(svc, p.secondary_targets[i].value);
    if (i == 0)
      out += fmt::format("    {} -> {} [label=\"fails over to\", penwidth=2];\n",
                         node_id(svc, *from), to);
    else
      out += fmt::format("    {} -> {} [label=\"candidate {}\", style=dashed];\n",
                         node_id(svc, *from), to, i + 1);
  }
}

/// A service's node in a site's cluster: "web@dc1" (instance nodes are "web/web-a").
std::string service_node_id(const config::service_settings& svc, const std::string& site) {
  return dot_quoted(svc.name + "@" + site);
}

bool has_instance_on(const config::service_settings& svc, const std::string& site) {
  return std::any_of(svc.instances.begin(), svc.instances.end(),
                     [&](const auto& inst) { return inst.site == site; });
}

/// One cluster per site: per service with instances there a sub-cluster with
/// the service node (its switchover level) and its instances, the dependency
/// edges between the service nodes, and the site's switchover order.
void site_dot(std::string& out, const std::vector<plan_export_entry>& entries,
              const std::string& site, const std::map<std::string, std::uint32_t>& levels,
              const std::map<std::string, const plan_export_entry*>& by_name, dot_names& names) {
  std::map<std::uint32_t, std::string> order; // level -> services with their primary here
  for (const auto& e : entries)
    if (primary_site(e) == site) {
      auto& names_at = order[levels.at(e.service->name)];
      names_at += (names_at.empty() ? "" : ", ") + e.service->name;
    }
  std::vector<std::string> label{site};
  if (order.empty()) {
    label.emplace_back("no primaries");
  } else {
    std::string text = "switchover order:";
    for (const auto& [level, list] : order)
      text += fmt::format(" {}. {}", level + 1, list);
    label.push_back(text);
  }
  out += fmt::format("  subgraph {} {{\n", dot_quoted(names.unique("cluster_" + site)));
  std::vector<std::string_view> label_views(label.begin(), label.end());
  out += fmt::format("    label={};\n", dot_label(label_views));
  for (const auto& e : entries) {
    const auto& svc = *e.service;
    if (!has_instance_on(svc, site))
      continue;
    out += fmt::format("    subgraph {} {{\n",
                       dot_quoted(names.unique("cluster_" + site + "_" + svc.name)));
    std::string caveat = e.plan ? e.note : "no failover plan: " + e.note;
    auto level = fmt::format("switchover level {}", levels.at(svc.name) + 1);
    out += fmt::format("      label={};\n",
                       caveat.empty() ? dot_quoted(svc.name) : dot_label({svc.name, caveat}));
    out += fmt::format("      {} [shape=folder, style=\"\", label={}];\n",
                       service_node_id(svc, site), dot_label({svc.name, level}));
    for (const auto& inst : svc.instances)
      if (inst.site == site) {
        out += fmt::format("      {};\n", node_dot(e, inst));
        out += fmt::format("      {} -> {} [arrowhead=none, style=dotted];\n",
                           service_node_id(svc, site), node_id(svc, inst.name));
      }
    out += "    }\n";
  }
  // Dependencies between the services present on this site.
  for (const auto& e : entries) {
    const auto& svc = *e.service;
    if (!has_instance_on(svc, site))
      continue;
    for (const auto& dep : svc.depends_on)
      if (auto d = by_name.find(dep);
          d != by_name.end() && has_instance_on(*d->second->service, site))
        out += fmt::format("    {} -> {} [label=\"depends on\", style=dashed];\n",
                           service_node_id(svc, site), service_node_id(*d->second->service, site));
  }
  out += "  }\n";
}

std::string render_dot(const std::vector<plan_export_entry>& entries,
                       const std::string& generated_at, const plan_export_context& context) {
  std::string out = "digraph switchyard {\n";
  out += fmt::format("  graph [rankdir=LR, labelloc=t, label={}];\n",
                     dot_label({"Switchyard failover plans", "generated " + generated_at}));
  out += "  node [shape=box, style=rounded];\n";
  dot_names names;
  auto levels = dependency_levels(entries);
  std::map<std::string, const plan_export_entry*> by_name;
  for (const auto& e : entries)
    by_name.emplace(e.service->name, &e);
  for (const auto& site : export_sites(entries, context))
    site_dot(out, entries, site, levels, by_name, names);
  // Failover edges last: they may cross from one site's cluster to another's.
  for (const auto& e : entries)
    if (e.plan)
      plan_edges_dot(out, *e.service, *e.plan);
  out += "}\n";
  return out;
}

} // namespace

std::optional<export_format> parse_export_format(std::string_view text) {
  if (text == "json")
    return export_format::json;
  if (text == "yaml")
    return export_format::yaml;
  if (text == "markdown" || text == "md")
    return export_format::markdown;
  if (text == "dot")
    return export_format::dot;
  return std::nullopt;
}

const char* to_string(export_format f) {
  switch (f) {
  case export_format::json:
    return "json";
  case export_format::yaml:
    return "yaml";
  case export_format::markdown:
    return "markdown";
  case export_format::dot:
    return "dot";
  }
  return "?";
}

std::string render_plans(const std::vector<plan_export_entry>& entries, export_format format,
                         const std::string& generated_at, const plan_export_context& context) {
  switch (format) {
  case export_format::json:
    return render_json(entries, generated_at);
  case export_format::yaml:
    return render_yaml(entries, generated_at);
  case export_format::markdown:
    return render_markdown(entries, generated_at, context);
  case export_format::dot:
    return render_dot(entries, generated_at, context);
  }
  return {};
}

} // namespace switchyard::strategies

// The plan export for people: a Markdown runbook per service (instances,
// objectives, triggers, steps with their environment, rollback and undo),
// followed by the site switchover runbook.
#include <algorithm>

#include <fmt/format.h>

#include "renderers/markdown_text.hpp"
#include "renderers/plan_export_detail.hpp"
#include "renderers/site_runbook.hpp"

namespace switchyard::renderers::detail {

namespace {

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
  out += fmt::format("- Backups: {}\n", e.backups ? measured_backup_summary(*e.backups)
                                                  : backup_summary(svc.objective));
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

} // namespace

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

} // namespace switchyard::renderers::detail

// Drill reports as Markdown and site switchovers as text for the CLI.
#include "renderers/site_report.hpp"

#include <array>
#include <ctime>
#include <map>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace switchyard::renderers {

namespace {

/// A table cell; "-" when empty.
std::string cell(std::string_view text) {
  auto out = table_cell(text);
  return out.empty() ? std::string{"-"} : out;
}

const char* pass_fail(bool ok) {
  return ok ? "PASS" : "FAIL";
}

const char* yes_no(bool b) {
  return b ? "yes" : "no";
}

std::string achieved_rto(std::int64_t ms) {
  return ms < 0 ? std::string{"not reached"} : human_duration(ms);
}

std::string gap_text(std::int64_t gap) {
  return gap < 0 ? std::string{"unknown"} : fmt::format("gap {}", gap);
}

std::string objective(std::int64_t ms) {
  return ms <= 0 ? std::string{"0 (no loss)"} : human_duration(ms);
}

/// Indents every line after the first by `pad`.
std::string indented(std::string_view text, std::string_view pad) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '\n')
      out += pad;
  }
  return out;
}

} // namespace

std::string utc_iso8601(std::int64_t unix_ms) {
  if (unix_ms == 0)
    return "-";
  auto t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// -- drill report (Markdown) ----------------------------------------------------

std::string drill_report_markdown(const drill_report& r) {
  std::string out = fmt::format("# DR drill #{}: {} → {}\n\n", r.id, r.from_site, r.to_site);
  out += fmt::format("- **Result: {}**\n", pass_fail(r.passed));
  out += fmt::format("- Sites: from **{}** to **{}**{}\n", r.from_site, r.to_site,
                     r.failback ? fmt::format(", then back to **{}**", r.from_site)
                                : std::string{" (no failback)"});
  out += fmt::format("- Run by: {}\n", r.principal.empty() ? "-" : r.principal);
  out += fmt::format("- Started: {}\n- Finished: {}\n", utc_iso8601(r.started_ms),
                     utc_iso8601(r.finished_ms));
  out += fmt::format("- Overall RTO: {} (drill start to the last service verified)\n",
                     achieved_rto(r.rto_ms));
  out += fmt::format("- Topology restored: {}\n",
                     r.failback ? yes_no(r.topology_restored) : "n/a (no failback)");
  out += fmt::format("- Site switchover: #{}", r.switchover);
  if (r.failback_switchover != 0)
    out += fmt::format("; failback: #{}", r.failback_switchover);
  out += "\n";
  if (!r.detail.empty())
    out += fmt::format("- Detail: {}\n", cell(r.detail));
  out += "\n## Services\n\n";
  if (r.services.empty()) {
    out += "No service took part.\n";
    return out;
  }
  std::size_t passed = 0;
  for (const auto& s : r.services)
    passed += s.passed ? 1U : 0U;
  out += fmt::format("{} of {} passed.\n\n", passed, r.services.size());
  out += "| Service | Result | RTO achieved | RTO objective | RPO achieved | RPO objective | "
         "Detail |\n";
  out += "|---|---|---|---|---|---|---|\n";
  for (const auto& s : r.services)
    out +=
        fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", cell(s.service.value),
                    pass_fail(s.passed), achieved_rto(s.rto_ms), human_duration(s.rto_objective_ms),
                    gap_text(s.rpo), objective(s.rpo_objective_ms), cell(s.detail));
  out += "\n";
  for (const auto& s : r.services) {
    out += fmt::format("### {} ({})\n\n", s.service.value, pass_fail(s.passed));
    out += "#### Steps\n\n";
    if (s.steps.empty()) {
      out += "No step ran.\n\n";
    } else {
      out += "| # | Step | Phase | Result | Duration |\n|---|---|---|---|---|\n";
      std::int64_t total = 0;
      for (std::size_t i = 0; i < s.steps.size(); ++i) {
        const auto& st = s.steps[i];
        total += st.duration_ms;
        out += fmt::format("| {} | {} | {} | {} | {} |\n", i + 1, cell(st.name), cell(st.phase),
                           st.ok ? "ok" : "failed", human_duration(st.duration_ms));
      }
      out += fmt::format("\nSteps took {} in all.\n\n", human_duration(total));
    }
    out += "#### Verification\n\n";
    if (s.checks.empty()) {
      out += "No check ran.\n\n";
    } else {
      out += "| Check | Result | Detail |\n|---|---|---|\n";
      for (const auto& c : s.checks)
        out +=
            fmt::format("| {} | {} | {} |\n", cell(c.name), c.ok ? "ok" : "failed", cell(c.detail));
      out += "\n";
    }
  }
  return out;
}

// -- site switchover (text) -----------------------------------------------------

std::string site_record_text(const site_record& r) {
  std::string out;
  if (r.id == 0) {
    out += fmt::format("Assessment of a site {} from {} to {} (dry run: nothing was changed)\n",
                       to_string(r.operation), r.from_site, r.to_site);
    out += fmt::format("Can run now: {}\n", r.blockers.empty() ? "yes" : "NO");
  } else {
    out += fmt::format("Site {} #{} from {} to {}: {}\n", to_string(r.operation), r.id, r.from_site,
                       r.to_site, to_string(r.state));
    if (r.drill != 0)
      out += fmt::format("Leg of drill #{}\n", r.drill);
    out += fmt::format("Requested by {}{}\n", r.principal.empty() ? "-" : r.principal,
                       r.reason.empty() ? std::string{} : ": " + r.reason);
    out += fmt::format("Started {}, decided {}, finished {}", utc_iso8601(r.started_ms),
                       utc_iso8601(r.decided_ms), utc_iso8601(r.finished_ms));
    if (r.started_ms != 0 && r.finished_ms >= r.started_ms)
      out += fmt::format(" (took {})", human_duration(r.finished_ms - r.started_ms));
    out += "\n";
  }
  out += fmt::format("Services: {}; parallelism {} per level; estimated RTO {}\n",
                     r.participants.size(), r.parallelism, human_duration(r.estimated_rto_ms));
  if (!r.detail.empty())
    out += fmt::format("Detail: {}\n", indented(r.detail, "  "));
  if (!r.blockers.empty()) {
    out += "Blockers:\n";
    for (const auto& b : r.blockers)
      out += fmt::format("  - {}\n", indented(b, "    "));
  }
  if (!r.untouched.empty()) {
    std::string names;
    for (const auto& u : r.untouched)
      names += (names.empty() ? "" : ", ") + u;
    out += fmt::format("Untouched (no primary on {}): {}\n", r.from_site, names);
  }
  if (r.participants.empty()) {
    out += fmt::format("No service has its primary on {}.\n", r.from_site);
    return out;
  }
  out += "Order of work (one level at a time, dependencies first):\n";
  std::map<std::uint32_t, std::vector<const site_participant*>> levels;
  for (const auto& p : r.participants)
    levels[p.level].push_back(&p);
  for (const auto& [level, members] : levels) {
    std::int64_t longest = 0;
    for (const auto* p : members)
      longest = std::max(longest, p->estimated_ms);
    out += fmt::format("  Level {} ({} service{}, longest estimate {}):\n", level, members.size(),
                       members.size() == 1 ? "" : "s", human_duration(longest));
    for (const auto* p : members) {
      out += fmt::format("    {}: {} -> {}  [{}]\n", p->service.value,
                         p->from.value.empty() ? "?" : p->from.value,
                         p->to.value.empty() ? "?" : p->to.value, to_string(p->state));
      out += fmt::format("      estimated {}; RTO {}; RPO {}; data at risk: {}\n",
                         human_duration(p->estimated_ms), human_duration(p->rto_ms),
                         objective(p->rpo_ms), gap_text(p->gap));
      if (p->switchover.value != 0)
        out += fmt::format("      switchover #{}\n", p->switchover.value);
      if (!p->blocker.empty())
        out += fmt::format("      BLOCKED: {}\n", indented(p->blocker, "        "));
      if (!p->detail.empty())
        out += fmt::format("      {}\n", indented(p->detail, "      "));
      if (p->commit_started_ms != 0 && p->commit_finished_ms >= p->commit_started_ms)
        out +=
            fmt::format("      switched over in {}{}\n",
                        human_duration(p->commit_finished_ms - p->commit_started_ms),
                        p->verified_ms != 0 ? (p->verified ? ", verified" : ", NOT verified") : "");
      for (const auto& c : p->checks)
        out +=
            fmt::format("      [{}] {}{}\n", c.ok ? "ok" : "FAILED", c.name,
                        c.detail.empty() ? std::string{} : ": " + indented(c.detail, "        "));
    }
  }
  return out;
}

} // namespace switchyard::renderers

#include "rules/drill_outcome.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace switchyard::actors {

void settle_drill(drill_report& report, const std::vector<std::string>& problems) {
  std::vector<std::string> failed;
  for (const auto& s : report.services)
    if (!s.passed)
      failed.push_back(s.service.value);
  report.passed = problems.empty() && failed.empty() && !report.services.empty();
  if (!problems.empty())
    report.detail = fmt::format("{}", fmt::join(problems, "; "));
  else if (report.services.empty())
    report.detail = "no service was drilled";
  else
    report.detail = fmt::format(
        "{} service(s) drilled, overall RTO {} ms{}{}", report.services.size(), report.rto_ms,
        report.failback ? ", topology restored" : "",
        failed.empty() ? std::string{} : fmt::format("; failed: {}", fmt::join(failed, ", ")));
  if (report.passed)
    return;
  auto why = problems.empty() ? fmt::format("{} failed", fmt::join(failed, ", "))
                              : fmt::format("{}", fmt::join(problems, "; "));
  for (auto& s : report.services)
    if (s.passed) {
      s.passed = false;
      s.detail += "; but the drill failed: " + why;
    }
}

} // namespace switchyard::actors

#include "apps/switchyard/backup_command.hpp"

#include <ctime>
#include <iostream>
#include <vector>

#include <fmt/format.h>

#include "apps/switchyard/commands.hpp"
#include "apps/switchyard/render.hpp"
#include "config/loader.hpp"

namespace switchyard::cli {

namespace {

// "12.3 MB"
std::string bytes(std::uint64_t n) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  auto value = static_cast<double>(n);
  std::size_t u = 0;
  while (value >= 1000.0 && u + 1 < std::size(units)) {
    value /= 1000.0;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", value, units[u]);
}

// "3h 12m", "45 s"
std::string age(std::int64_t ms) {
  if (ms < 0)
    return "-";
  auto s = ms / 1000;
  if (s < 120)
    return fmt::format("{} s", s);
  if (s < 7200)
    return fmt::format("{}m", s / 60);
  if (s < 172800)
    return fmt::format("{}h {}m", s / 3600, s / 60 % 60);
  return fmt::format("{}d {}h", s / 86400, s / 3600 % 24);
}

std::string every(std::int64_t ms) {
  return ms <= 0 ? std::string{"-"} : age(ms);
}

} // namespace

void print_backup_policies(std::ostream& out, const v1::GetBackupPoliciesResponse& r) {
  if (r.policies_size() == 0) {
    out << "no backup policies (backups.policies in the configuration)\n";
    return;
  }
  for (const auto& p : r.policies()) {
    std::string users;
    for (const auto& u : p.used_by())
      users += (users.empty() ? "" : ", ") + u;
    out << fmt::format("policy {} (zstd level {}, re-verify every {}): used by {}\n", p.name(),
                       p.compression_level(), every(p.verify_every_ms()),
                       users.empty() ? std::string{"nothing"} : users);
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : p.tiers())
      rows.push_back({t.name(), t.destination(), t.site().empty() ? "-" : t.site(), t.medium(),
                      every(t.every_ms()),
                      t.full_every() == 0 ? std::string{"always"}
                                          : fmt::format("every {}", t.full_every() + 1),
                      t.keep() == 0 ? std::string{"-"} : std::to_string(t.keep()),
                      every(t.keep_for_ms())});
    print_table(out, {"TIER", "DESTINATION", "SITE", "MEDIUM", "EVERY", "FULL", "KEEP", "KEEP FOR"},
                rows);
    out << '\n';
  }
}

void print_backups(std::ostream& out, const v1::ListBackupsResponse& r) {
  if (r.backups_size() == 0) {
    out << "no backups\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& b : r.backups()) {
    auto kind = b.kind() == "incremental" ? fmt::format("incr on #{}", b.parent()) : b.kind();
    auto size = b.status() == "complete" || b.status() == "corrupt"
                    ? fmt::format("{} -> {}", bytes(b.raw_bytes()), bytes(b.stored_bytes()))
                    : std::string{"-"};
    auto status = b.status();
    if (b.status() == "complete" && b.verified_ms() > 0)
      status = "verified";
    rows.push_back({std::to_string(b.id()), b.service(), b.tier(), kind, status,
                    format_time(b.point_ms() != 0 ? b.point_ms() : b.started_ms()), size,
                    !b.error().empty()   ? b.error()
                    : b.origin().empty() ? b.source()
                                         : b.source() + " (taken by " + b.origin() + ")"});
  }
  print_table(out, {"ID", "SERVICE", "TIER", "KIND", "STATUS", "POINT", "SIZE", "SOURCE / ERROR"},
              rows);
}

void print_backup_outcome(std::ostream& out, const v1::BackupOutcome& r) {
  out << (r.ok() ? "OK: " : "FAILED: ") << r.detail() << '\n';
  for (const auto& l : r.lines())
    if (l != r.detail())
      out << "  " << l << '\n';
}

void print_backup_compliance(std::ostream& out, const v1::GetBackupComplianceResponse& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : r.services())
    rows.push_back({c.service(), c.policy(), std::to_string(c.copies()), std::to_string(c.media()),
                    std::to_string(c.offsite()), c.meets_3_2_1() ? "yes" : "NO", age(c.age_ms()),
                    c.rpo_ms() == 0 ? std::string{"-"} : age(c.rpo_ms()),
                    c.rpo_met() ? "yes" : "NO"});
  print_table(out,
              {"SERVICE", "POLICY", "COPIES", "MEDIA", "OFFSITE", "3-2-1", "NEWEST VERIFIED", "RPO",
               "RPO MET"},
              rows);
  for (const auto& c : r.services())
    for (const auto& g : c.gaps())
      out << fmt::format("  {}: {}\n", c.service(), g);
}

bool parse_point_in_time(const std::string& text, std::int64_t now_ms, std::int64_t& out,
                         std::string& why) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos &&
      text.size() >= 12) {
    out = std::stoll(text);
    return true;
  }
  std::tm tm{};
  bool utc = !text.empty() && text.back() == 'Z';
  const char* end = utc ? ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)
                        : ::strptime(text.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
  if (end != nullptr && *end == '\0') {
    auto seconds = utc ? ::timegm(&tm) : (tm.tm_isdst = -1, ::mktime(&tm));
    out = static_cast<std::int64_t>(seconds) * 1000;
    return true;
  }
  config::milliseconds ago{0};
  if (config::parse_duration(text, ago)) {
    out = now_ms - ago.count();
    return true;
  }
  why = fmt::format("'{}' is not a point in time: 2026-12-07T10:00:00Z (UTC), "
                    "'2026-12-07 10:00:00' (local), a duration ago (2h, 1d) or unix ms",
                    text);
  return false;
}

int run_backup_create(client& c, bool json, const v1::CreateBackupRequest& req,
                      int timeout_seconds) {
  v1::ListBackupsResponse resp;
  auto ctx = c.context(timeout_seconds);
  auto st = c.stub().CreateBackup(ctx.get(), req, &resp);
  if (!st.ok() && resp.backups_size() == 0)
    return c.fail(st);
  if (json)
    print_json(std::cout, resp);
  else
    print_backups(std::cout, resp);
  if (!st.ok())
    return c.fail(st);
  return exit_ok;
}

namespace {

// A verification or a restore: its outcome, and exit_failed when it did not succeed.
template <class Request, class Call>
int run_outcome(client& c, bool json, const Request& req, int timeout_seconds, Call call) {
  v1::BackupOutcome resp;
  auto ctx = c.context(timeout_seconds);
  auto st = (c.stub().*call)(ctx.get(), req, &resp);
  if (!st.ok() && resp.detail().empty())
    return c.fail(st);
  if (json)
    print_json(std::cout, resp);
  else
    print_backup_outcome(std::cout, resp);
  return resp.ok() ? exit_ok : exit_failed;
}

} // namespace

int run_backup_verify(client& c, bool json, const v1::VerifyBackupRequest& req,
                      int timeout_seconds) {
  return run_outcome(c, json, req, timeout_seconds, &v1::Switchyard::Stub::VerifyBackup);
}

int run_backup_restore(client& c, bool json, const v1::RestoreBackupRequest& req, bool yes,
                       int timeout_seconds) {
  if (req.force() && !yes &&
      !confirmed(fmt::format("Restore {} over {} (what is there is kept, renamed)?", req.service(),
                             req.target()),
                 "restore over an existing target"))
    return exit_usage;
  return run_outcome(c, json, req, timeout_seconds, &v1::Switchyard::Stub::RestoreBackup);
}

} // namespace switchyard::cli

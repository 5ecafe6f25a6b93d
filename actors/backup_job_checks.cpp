// A backup job's verification and restore: the chain fetched back from its
// tier, every link's SHA-256 checked, then a test restore compared with what
// was recorded (verify) or the data rebuilt at the operator's target
// (restore), falling back to an older point or another tier when a link is
// found damaged.
#include <algorithm>
#include <filesystem>
#include <set>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "actors/backup_job_detail.hpp"
#include "actors/event_hub.hpp"
#include "backups/backup_jobs.hpp"
#include "backups/scratch_redis.hpp"
#include "rules/backup_rules.hpp"

namespace switchyard::actors::detail {

namespace {

namespace fs = std::filesystem;

// A scratch folder removed when the scope ends.
struct scratch {
  std::string dir;
  ~scratch() {
    if (!dir.empty())
      backups::remove_scratch(dir);
  }
};

std::string canonical(const std::string& path) {
  std::error_code ec;
  auto c = fs::weakly_canonical(fs::path(path), ec);
  return ec ? path : c.string();
}

} // namespace

void backup_job::verify() {
  int failed = 0;
  std::vector<std::string> failures;
  for (auto point : spec.points) {
    auto chain = rules::chain_of(spec.catalog, point);
    if (!chain) {
      ++failed;
      (void)ask<caf::ok_atom>(peers->store(), backup_verification{point, false, wall_clock_ms(),
                                                                  describe(chain.error())});
      line(fmt::format("#{}: {}", point, describe(chain.error())));
      failures.push_back(out.lines.back());
      continue;
    }
    const auto& last = chain->back();
    const auto* t = tier(last.tier);
    if (t == nullptr) {
      line(fmt::format("#{}: tier {} is no longer in the policy: not checked", point, last.tier));
      continue;
    }
    auto dir = backups::make_scratch(spec.cfg->backups.work_dir, fmt::format("verify-{}", point));
    if (!dir) {
      ++failed;
      line(describe(dir.error()));
      continue;
    }
    scratch cleanup{*dir};
    auto dest = backups::make_destination(t->destination);
    std::int64_t bad_link = 0;
    auto raw = backups::fetch_chain(*dest, *chain, *dir + "/fetched", bad_link);
    auto verdict = raw ? source(last.tier)->check(*raw, last.facts, *dir + "/check")
                       : caf::expected<std::string>{raw.error()};
    auto now = wall_clock_ms();
    if (!verdict) {
      ++failed;
      // Only damage marks a backup corrupt; a download or a test server that
      // failed says nothing about it (it is verified again next time).
      if (verdict.error() == sy_errc::corrupt)
        (void)ask<caf::ok_atom>(peers->store(),
                                backup_verification{bad_link != 0 ? bad_link : point, false, now,
                                                    describe(verdict.error())});
      auto text = fmt::format("verification of #{} (tier {}) failed: {}", point, last.tier,
                              describe(verdict.error()));
      line(text);
      failures.push_back(text);
      event(true, "ALERT: " + text);
      continue;
    }
    for (auto link : *chain) {
      (void)ask<caf::ok_atom>(peers->store(), backup_verification{link.id, true, now, ""});
      link.verified_ms = now;
      replicate(link);
    }
    auto text = fmt::format("#{} (tier {}, chain of {}): every artifact's SHA-256 matches; {}",
                            point, last.tier, chain->size(), *verdict);
    line(text);
    event(false, "verified " + text);
    out.used.insert(out.used.end(), chain->begin(), chain->end());
  }
  out.ok = failed == 0;
  out.detail = failed == 0 ? fmt::format("{} point(s) verified", spec.points.size())
                           : fmt::format("{} of {} point(s) failed verification: {}", failed,
                                         spec.points.size(), fmt::join(failures, "; "));
}

void backup_job::restore() {
  auto& r = spec.restore;
  auto target = canonical(r.target);
  // Never over live data: switchyardd's own database, a running instance's
  // data folder (what it answers to CONFIG GET dir).
  if (spec.service == state_backup_service && target == canonical(spec.cfg->database_path())) {
    out.detail = "refused: that is the database this switchyardd is running on; restore "
                 "elsewhere and use switchyardd --restore-state";
    return;
  }
  if (const auto* svc = spec.cfg->find_service(spec.service);
      svc != nullptr && svc->backup && svc->backup->source == config::backup_source_kind::redis)
    for (const auto& inst : svc->instances) {
      auto dir = backups::redis_call(fmt::format("{}:{}", inst.host, inst.port),
                                     {"CONFIG", "GET", "dir"}, std::chrono::seconds(2));
      auto nl = dir ? dir->find('\n') : std::string::npos;
      if (nl != std::string::npos && canonical(dir->substr(nl + 1)) == target) {
        out.detail = fmt::format("refused: {} is the data folder of {}, which is running: a "
                                 "restore never overwrites a running instance's data",
                                 r.target, inst.name);
        return;
      }
    }
  std::error_code ec;
  bool occupied =
      fs::exists(target, ec) && (!fs::is_directory(target, ec) || !fs::is_empty(target, ec));
  if (occupied && !r.force) {
    out.detail = fmt::format("refused: {} exists and is not empty; use --force to restore over "
                             "it (what is there is kept, renamed)",
                             r.target);
    return;
  }
  if (occupied) {
    auto aside = fmt::format("{}.before-restore-{}", target, wall_clock_ms());
    fs::rename(target, aside, ec);
    if (ec) {
      out.detail = fmt::format("cannot move {} aside: {}", target, ec.message());
      return;
    }
    line(fmt::format("{} was there: moved to {}", target, aside));
  }
  std::set<std::int64_t> bad;
  for (int attempt = 0; attempt < 16; ++attempt) {
    rules::restore_choice choice;
    if (r.id != 0) {
      auto chain = rules::chain_of(spec.catalog, r.id);
      if (!chain) {
        out.detail = describe(chain.error());
        return;
      }
      choice.chain = std::move(*chain);
      choice.tier = choice.chain.back().tier;
    } else {
      auto chosen = rules::choose_restore(spec.catalog, r.at_ms, r.prefer, bad);
      if (!chosen) {
        out.detail = describe(chosen.error());
        return;
      }
      choice = std::move(*chosen);
    }
    for (const auto& s : choice.skipped)
      if (std::find(out.lines.begin(), out.lines.end(), s) == out.lines.end())
        line(s);
    const auto* t = tier(choice.tier);
    if (t == nullptr) {
      out.detail = fmt::format("tier {} is no longer in the policy", choice.tier);
      return;
    }
    auto dir = backups::make_scratch(spec.cfg->backups.work_dir, "restore");
    if (!dir) {
      out.detail = describe(dir.error());
      return;
    }
    scratch cleanup{*dir};
    auto dest = backups::make_destination(t->destination);
    std::int64_t bad_link = 0;
    auto raw = backups::fetch_chain(*dest, choice.chain, *dir, bad_link);
    if (!raw) {
      if (bad_link != 0)
        (void)ask<caf::ok_atom>(
            peers->store(),
            backup_verification{bad_link, false, wall_clock_ms(), describe(raw.error())});
      if (r.id != 0) {
        out.detail = "restore failed: " + describe(raw.error());
        return;
      }
      if (bad_link == 0) {
        // Not damage but a tier that did not deliver (a download that
        // failed): the next tier, not an older point of this one.
        line(fmt::format("tier {}: {}; trying the next tier", choice.tier, describe(raw.error())));
        r.prefer.erase(std::remove(r.prefer.begin(), r.prefer.end(), choice.tier), r.prefer.end());
        continue;
      }
      line(fmt::format("{}: marked corrupt; trying an older point or the next tier",
                       describe(raw.error())));
      bad.insert(bad_link);
      continue;
    }
    auto done = source(choice.tier)->restore(*raw, target);
    if (!done) {
      out.detail = "restore failed: " + describe(done.error());
      return;
    }
    out.ok = true;
    out.tier = choice.tier;
    out.used = choice.chain;
    out.detail =
        fmt::format("restored #{} (tier {}, point {} ms, chain of {}): {}", choice.chain.back().id,
                    choice.tier, choice.chain.back().point_ms, choice.chain.size(), *done);
    line(out.detail);
    event(false, out.detail);
    return;
  }
  out.detail = "restore failed: too many damaged links";
}

} // namespace switchyard::actors::detail

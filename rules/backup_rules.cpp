// The backup rules: chains, full-or-incremental, restore choice, 3-2-1/RPO
// compliance and retention, as pure functions of catalog rows and `now`.
#include "rules/backup_rules.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <variant>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "messages/error.hpp"

namespace switchyard::rules {

namespace {

using index = std::unordered_map<std::int64_t, const backup_record*>;

index index_of(const std::vector<backup_record>& all) {
  index by_id;
  for (const auto& r : all)
    by_id.emplace(r.id, &r);
  return by_id;
}

/// Where a chain breaks: the link, and what is wrong with it ("is corrupt: ...").
struct chain_break {
  std::int64_t link = 0;
  std::string what;
};

std::string with_error(const char* what, const backup_record& r) {
  return r.error.empty() ? std::string{what} : fmt::format("{}: {}", what, r.error);
}

std::string status_problem(const backup_record& r) {
  switch (r.status) {
  case backup_status::running:
    return "is still running";
  case backup_status::failed:
    return with_error("failed", r);
  case backup_status::corrupt:
    return with_error("is corrupt", r);
  case backup_status::complete:
    break;
  }
  return {};
}

/// Walks parents from `id` back to its full; the chain base first, or where it breaks.
std::variant<std::vector<backup_record>, chain_break> walk_chain(const index& by_id,
                                                                 std::int64_t id) {
  std::vector<backup_record> chain;
  std::set<std::int64_t> seen;
  for (auto cur = id;;) {
    auto i = by_id.find(cur);
    if (i == by_id.end())
      return chain_break{cur, "is missing from the catalog"};
    const auto& r = *i->second;
    // A parent pointing forward again would loop forever: the catalog is damaged.
    if (!seen.insert(cur).second)
      return chain_break{cur, "comes back in its own chain (a parent cycle)"};
    if (!r.restorable())
      return chain_break{cur, status_problem(r)};
    chain.push_back(r);
    if (r.kind == backup_kind::full) {
      if (r.parent != 0)
        return chain_break{cur, fmt::format("is a full backup but names parent #{}", r.parent)};
      break;
    }
    if (r.parent == 0)
      return chain_break{cur, "is an incremental without a parent"};
    cur = r.parent;
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}

/// "link #41 is corrupt: sha256 mismatch"
std::string short_why(const chain_break& b) {
  return fmt::format("link #{} {}", b.link, b.what);
}

/// "2026-12-07T10:00:00Z" (milliseconds only when there are some).
std::string iso_utc(std::int64_t ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds{ms}};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  auto text = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                          static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                          hms.hours().count(), hms.minutes().count(), hms.seconds().count());
  if (hms.subseconds().count() != 0)
    text += fmt::format(".{:03}", hms.subseconds().count());
  return text + "Z";
}

/// "3h", "1h30m", "45s", "1h0m0.500s", "250ms".
std::string human_duration(std::int64_t ms) {
  if (ms < 0)
    return "-" + human_duration(-ms);
  if (ms < 1000)
    return fmt::format("{}ms", ms);
  const auto h = ms / 3'600'000;
  const auto m = ms / 60'000 % 60;
  const auto s = ms / 1000 % 60;
  const auto frac = ms % 1000;
  std::string text;
  if (h > 0)
    text += fmt::format("{}h", h);
  if (m > 0 || ((h > 0) && (s > 0 || frac > 0)))
    text += fmt::format("{}m", m);
  if (frac > 0)
    text += fmt::format("{}.{:03}s", s, frac);
  else if (s > 0)
    text += fmt::format("{}s", s);
  return text;
}

std::string tier_name(const std::vector<backup_record>& history) {
  return history.empty() ? std::string{"this tier"} : "tier " + history.front().tier;
}

} // namespace

next_backup choose_next(const std::vector<backup_record>& history, int full_every, bool forced_full,
                        bool source_incremental, std::int64_t recorder_base) {
  auto full = [](std::string why) { return next_backup{backup_kind::full, 0, std::move(why)}; };
  const backup_record* newest = nullptr;
  for (const auto& r : history)
    if (r.restorable() && (newest == nullptr || r.id > newest->id))
      newest = &r;
  if (newest == nullptr)
    return full(history.empty() ? std::string{"first backup of this tier"}
                                : fmt::format("no restorable backup in {}", tier_name(history)));
  if (full_every <= 0)
    return full(fmt::format("{} takes only full backups", tier_name(history)));
  if (forced_full)
    return full("full backup asked for");
  if (!source_incremental)
    return full("the source takes only full backups");
  auto walked = walk_chain(index_of(history), newest->id);
  if (auto* b = std::get_if<chain_break>(&walked))
    return full(fmt::format("the chain of #{} is broken: {}: a new full backup", newest->id,
                            short_why(*b)));
  if (recorder_base >= 0 && recorder_base != newest->id)
    return full(fmt::format(
        "changes since #{} were not recorded by this switchyardd ({}): full backup", newest->id,
        recorder_base == 0 ? std::string{"it is not recording"}
                           : fmt::format("it restarted or recording began at #{}", recorder_base)));
  const auto& chain = std::get<std::vector<backup_record>>(walked);
  const auto incrementals = chain.size() - 1;
  const auto base = chain.front().id;
  if (incrementals >= static_cast<std::size_t>(full_every))
    return full(fmt::format("#{} and {} incremental{}: full every {}", base, incrementals,
                            incrementals == 1 ? "" : "s", full_every));
  return next_backup{backup_kind::incremental, newest->id,
                     fmt::format("incremental on #{} ({} of {} since full #{})", newest->id,
                                 incrementals + 1, full_every, base)};
}

caf::expected<std::vector<backup_record>> chain_of(const std::vector<backup_record>& all,
                                                   std::int64_t id) {
  auto walked = walk_chain(index_of(all), id);
  if (auto* b = std::get_if<chain_break>(&walked))
    return make_sy_error(sy_errc::corrupt, b->link == id
                                               ? fmt::format("backup #{} {}", id, b->what)
                                               : fmt::format("link #{} of the chain of #{} {}",
                                                             b->link, id, b->what));
  return std::move(std::get<std::vector<backup_record>>(walked));
}

caf::expected<restore_choice> choose_restore(const std::vector<backup_record>& all,
                                             std::int64_t at_ms,
                                             const std::vector<std::string>& prefer,
                                             const std::set<std::int64_t>& bad) {
  const auto by_id = index_of(all);
  restore_choice choice;
  std::set<std::string> tried;
  for (const auto& tier : prefer) {
    if (!tried.insert(tier).second)
      continue;
    bool any = false;
    std::vector<const backup_record*> points;
    for (const auto& r : all) {
      if (r.tier != tier)
        continue;
      any = true;
      if (r.restorable() && (at_ms == 0 || r.point_ms <= at_ms))
        points.push_back(&r);
    }
    if (points.empty()) {
      if (!any)
        choice.skipped.push_back(fmt::format("tier {}: no backups", tier));
      else if (at_ms == 0)
        choice.skipped.push_back(fmt::format("tier {}: no restorable backup", tier));
      else
        choice.skipped.push_back(
            fmt::format("tier {}: no backup at or before {}", tier, iso_utc(at_ms)));
      continue;
    }
    std::sort(points.begin(), points.end(), [](const auto* a, const auto* b) {
      return a->point_ms != b->point_ms ? a->point_ms > b->point_ms : a->id > b->id;
    });
    for (const auto* p : points) {
      auto walked = walk_chain(by_id, p->id);
      if (auto* b = std::get_if<chain_break>(&walked)) {
        choice.skipped.push_back(
            fmt::format("tier {}: #{} skipped: {}", tier, p->id, short_why(*b)));
        continue;
      }
      auto& chain = std::get<std::vector<backup_record>>(walked);
      auto hit = std::find_if(chain.begin(), chain.end(),
                              [&](const backup_record& r) { return bad.count(r.id) > 0; });
      if (hit != chain.end()) {
        choice.skipped.push_back(
            fmt::format("tier {}: #{} skipped: link #{} was found corrupt while restoring", tier,
                        p->id, hit->id));
        continue;
      }
      choice.chain = std::move(chain);
      choice.tier = tier;
      return choice;
    }
  }
  if (prefer.empty())
    return make_sy_error(sy_errc::not_found, "nothing to restore: no tier to restore from");
  return make_sy_error(
      sy_errc::not_found,
      fmt::format("nothing to restore{}: {}",
                  at_ms == 0 ? std::string{} : fmt::format(" at or before {}", iso_utc(at_ms)),
                  fmt::join(choice.skipped, "; ")));
}

backup_compliance assess_compliance(const std::vector<backup_record>& all,
                                    const std::string& service_site, std::chrono::milliseconds rpo,
                                    std::int64_t now_ms) {
  const auto by_id = index_of(all);
  // Per tier, its newest verified point with an intact chain.
  std::map<std::string, const backup_record*> verified;
  for (const auto& r : all) {
    if (!r.restorable() || r.verified_ms <= 0 ||
        std::holds_alternative<chain_break>(walk_chain(by_id, r.id)))
      continue;
    auto& best = verified[r.tier];
    if (best == nullptr || r.point_ms > best->point_ms)
      best = &r;
  }
  backup_compliance c;
  std::vector<std::string> tiers;
  std::set<std::string> media;
  for (const auto& [tier, r] : verified) {
    tiers.push_back(tier);
    media.insert(r->medium);
    if (!r->site.empty() && r->site != service_site)
      ++c.offsite;
    c.newest_verified_ms = std::max(c.newest_verified_ms, r->point_ms);
  }
  c.copies = static_cast<int>(tiers.size());
  c.media = static_cast<int>(media.size());
  c.meets_3_2_1 = c.copies >= 3 && c.media >= 2 && c.offsite >= 1;
  if (c.copies == 0) {
    // Every other item follows from this one: one line says it all.
    c.gaps.emplace_back("no verified backup");
    return c;
  }
  c.age_ms = now_ms - c.newest_verified_ms;
  c.rpo_met = rpo.count() <= 0 || c.age_ms <= rpo.count();
  if (c.copies < 3)
    c.gaps.push_back(fmt::format("{} verified cop{}, 3 needed ({})", c.copies,
                                 c.copies == 1 ? "y" : "ies", fmt::join(tiers, ", ")));
  if (c.media < 2)
    c.gaps.push_back(fmt::format("{} medi{}, 2 needed ({})", c.media, c.media == 1 ? "um" : "a",
                                 fmt::join(media, ", ")));
  if (c.offsite < 1)
    c.gaps.push_back(service_site.empty()
                         ? std::string{"no verified copy off site"}
                         : fmt::format("no verified copy off site {}", service_site));
  if (!c.rpo_met)
    c.gaps.push_back(fmt::format("newest verified backup is {} old, RPO is {}",
                                 human_duration(c.age_ms), human_duration(rpo.count())));
  return c;
}

std::vector<std::int64_t> retention_drop(const std::vector<backup_record>& tier, int keep,
                                         std::chrono::milliseconds keep_for, std::int64_t now_ms) {
  if (keep <= 0 && keep_for.count() <= 0)
    return {};
  std::vector<const backup_record*> points;
  for (const auto& r : tier)
    if (r.restorable())
      points.push_back(&r);
  std::sort(points.begin(), points.end(),
            [](const auto* a, const auto* b) { return a->id > b->id; });
  std::set<std::int64_t> kept;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto* p = points[i];
    // The newest restorable point always stays: retention must never leave
    // a tier with nothing to restore (e.g. keep_for alone after backups stopped).
    if (i == 0 || (keep > 0 && i < static_cast<std::size_t>(keep)) ||
        (keep_for.count() > 0 && now_ms - p->point_ms < keep_for.count()))
      kept.insert(p->id);
  }
  const auto newest_kept = kept.empty() ? std::int64_t{0} : *kept.rbegin();
  // Every restorable link a kept point applies on top of stays with it.
  const auto by_id = index_of(tier);
  std::set<std::int64_t> needed = kept;
  for (auto id : kept) {
    std::set<std::int64_t> seen;
    for (auto i = by_id.find(id); i != by_id.end() && i->second->restorable() &&
                                  i->second->kind == backup_kind::incremental &&
                                  seen.insert(i->first).second;) {
      i = by_id.find(i->second->parent);
      if (i != by_id.end() && i->second->restorable())
        needed.insert(i->first);
    }
  }
  std::set<std::int64_t> drop;
  for (const auto& r : tier) {
    switch (r.status) {
    case backup_status::running:
      break;
    case backup_status::complete:
      if (needed.count(r.id) == 0)
        drop.insert(r.id);
      break;
    case backup_status::failed:
    case backup_status::corrupt:
      // Newer ones show recent trouble: they stay until a good point follows.
      if (r.id < newest_kept)
        drop.insert(r.id);
      break;
    }
  }
  return {drop.begin(), drop.end()};
}

std::int64_t next_due_ms(std::int64_t last_started_ms, std::chrono::milliseconds every,
                         std::int64_t now_ms) {
  return last_started_ms == 0 ? now_ms : last_started_ms + every.count();
}

} // namespace switchyard::rules

#include "apps/switchyardd/restore_state.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "apps/switchyardd/daemon.hpp"
#include "backups/artifact.hpp"
#include "backups/record_json.hpp"
#include "backups/sqlite_state.hpp"
#include "messages/error.hpp"
#include "rules/backup_rules.hpp"

namespace switchyard::app {

namespace {

namespace fs = std::filesystem;

struct found {
  backup_list records;
  std::map<std::int64_t, std::string> files; // id -> artifact path
};

// Every state backup record under `dir` (its .json beside its artifact).
found scan(const std::string& dir, std::ostream& err) {
  found f;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const auto path = it->path().string();
    if (!it->is_regular_file() || path.size() < 9 || path.substr(path.size() - 9) != ".zst.json")
      continue;
    std::ifstream in(path);
    std::string text{std::istreambuf_iterator<char>(in), {}};
    auto rec = backups::record_from_json(text);
    if (!rec) {
      err << fmt::format("skipped {}: {}\n", path, describe(rec.error()));
      continue;
    }
    if (rec->service != state_backup_service)
      continue;
    auto artifact = path.substr(0, path.size() - 5);
    if (!fs::exists(artifact, ec)) {
      err << fmt::format("skipped #{}: its artifact {} is missing\n", rec->id, artifact);
      continue;
    }
    f.files[rec->id] = artifact;
    f.records.push_back(std::move(*rec));
  }
  return f;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

int restore_state(const config::switchyard_config& cfg, const restore_state_options& o,
                  std::ostream& out, std::ostream& err) {
  auto target = cfg.database_path();
  std::error_code ec;
  if (fs::exists(target, ec) && !o.force) {
    err << fmt::format("switchyardd --restore-state: {} exists: stop switchyardd and add --force "
                       "to replace it (it is kept, renamed)\n",
                       target);
    return exit_bad_config;
  }
  if (!fs::is_directory(o.from, ec)) {
    err << fmt::format("switchyardd --restore-state: --from {} is not a folder\n", o.from);
    return exit_bad_config;
  }
  auto f = scan(o.from, err);
  std::vector<std::string> tiers;
  for (const auto& r : f.records)
    if (std::find(tiers.begin(), tiers.end(), r.tier) == tiers.end())
      tiers.push_back(r.tier);
  auto work = fmt::format("{}.restore-{}", target, now_ms());
  fs::create_directories(work, ec);
  std::set<std::int64_t> bad;
  while (true) {
    auto choice = rules::choose_restore(f.records, o.at_ms, tiers, bad);
    if (!choice) {
      err << fmt::format("switchyardd --restore-state: nothing restorable in {}: {}\n", o.from,
                         describe(choice.error()));
      fs::remove_all(work, ec);
      return exit_bad_config;
    }
    for (const auto& s : choice->skipped)
      out << "  " << s << '\n';
    std::vector<std::string> raw;
    std::int64_t broken = 0;
    for (const auto& link : choice->chain) {
      auto file = fmt::format("{}/{}.raw", work, link.id);
      if (auto u = backups::unpack_file(f.files[link.id], link.sha256, file, false); !u) {
        out << fmt::format("  #{} ({}) is damaged: {}; trying an older point\n", link.id,
                           f.files[link.id], describe(u.error()));
        broken = link.id;
        break;
      }
      raw.push_back(file);
    }
    if (broken != 0) {
      bad.insert(broken);
      continue;
    }
    auto rebuilt = work + "/switchyard.db";
    auto report = backups::rebuild_database(raw.front(), {raw.begin() + 1, raw.end()}, rebuilt);
    if (!report) {
      out << fmt::format("  the chain of #{} does not rebuild: {}; trying an older point\n",
                         choice->chain.back().id, describe(report.error()));
      bad.insert(choice->chain.back().id);
      continue;
    }
    if (fs::exists(target, ec)) {
      auto aside = fmt::format("{}.before-restore-{}", target, now_ms());
      fs::rename(target, aside, ec);
      for (const auto* suffix : {"-wal", "-shm"})
        if (fs::exists(target + suffix))
          fs::rename(target + suffix, aside + suffix, ec);
      out << fmt::format("the database that was there is kept as {}\n", aside);
    }
    fs::rename(rebuilt, target, ec);
    if (ec) {
      err << fmt::format("switchyardd --restore-state: cannot put {} in place: {}\n", target,
                         ec.message());
      return exit_bad_config;
    }
    fs::remove_all(work, ec);
    const auto& point = choice->chain.back();
    out << fmt::format("restored {} from #{} ({}, tier {}, point {} ms): a full copy and {} "
                       "changeset(s), {} changes; integrity_check: {}\n",
                       target, point.id, point.artifact, point.tier, point.point_ms,
                       report->changesets, report->changes, report->integrity);
    return exit_ok;
  }
}

} // namespace switchyard::app

// switchyardd's own SQLite state as a backup source: a full backup copies a
// read snapshot the store opened (online backup API, off the store's
// thread); an incremental is the changeset the store recorded since the
// parent. A check rebuilds the chain in scratch and runs integrity_check.
#include <filesystem>
#include <fstream>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backups/backup_source.hpp"
#include "backups/sqlite_state.hpp"
#include "messages/error.hpp"

namespace switchyard::backups {

namespace {

namespace fs = std::filesystem;

class state_backup_source final : public backup_source {
public:
  state_backup_source(capture_fn capture, std::string tier)
      : capture_(std::move(capture)), tier_(std::move(tier)) {}

  bool takes_incrementals() const override { return true; }
  bool records_changes() const override { return true; }

  caf::expected<produced> produce(const produce_request& r) override {
    auto point = wall_ms();
    auto captured = capture_(state_capture_request{tier_, r.backup_id, r.parent, r.parent == 0});
    if (!captured)
      return captured.error();
    produced out;
    out.source = "state";
    out.point_ms = point;
    if (r.parent == 0) {
      auto snapshot = std::static_pointer_cast<state_snapshot>(captured->snapshot);
      if (!snapshot)
        return make_sy_error(sy_errc::backup_failed, "the store gave no snapshot");
      out.file = r.scratch + "/state.db";
      auto size = snapshot->copy_to(out.file);
      if (!size)
        return size.error();
      out.extension = "db";
      out.facts = nlohmann::json{{"bytes", *size}}.dump();
      return out;
    }
    out.file = r.scratch + "/changes.changeset";
    std::ofstream file(out.file, std::ios::binary | std::ios::trunc);
    file.write(captured->changeset.data(),
               static_cast<std::streamsize>(captured->changeset.size()));
    file.close();
    if (!file)
      return make_sy_error(sy_errc::backup_failed, "cannot write " + out.file);
    out.extension = "changeset";
    out.facts = nlohmann::json{{"changeset_bytes", captured->changeset.size()}}.dump();
    return out;
  }

  caf::expected<std::string> restore(const std::vector<std::string>& raw,
                                     const std::string& target) override {
    if (raw.empty())
      return make_sy_error(sy_errc::corrupt, "no base to restore from");
    auto report = rebuild_database(raw.front(), {raw.begin() + 1, raw.end()}, target);
    if (!report)
      return report.error();
    return fmt::format("rebuilt {} from a full copy and {} changeset(s) ({} changes); "
                       "integrity_check: {}",
                       target, report->changesets, report->changes, report->integrity);
  }

  caf::expected<std::string> check(const std::vector<std::string>& raw, const std::string&,
                                   const std::string& scratch) override {
    std::error_code ec;
    fs::create_directories(scratch, ec);
    auto line = restore(raw, scratch + "/check.db");
    if (!line)
      return line.error();
    return "test restore: " + *line;
  }

private:
  capture_fn capture_;
  std::string tier_;
};

} // namespace

std::unique_ptr<backup_source> make_state_source(capture_fn capture, std::string tier) {
  return std::make_unique<state_backup_source>(std::move(capture), std::move(tier));
}

} // namespace switchyard::backups

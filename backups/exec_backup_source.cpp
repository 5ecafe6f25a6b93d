// An exec command as a backup source: it writes {output}, a file (always a
// full backup) or a folder (archived; incrementals hold only the files whose
// content changed since the parent's manifest, which this source keeps).
#include <filesystem>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backups/artifact.hpp"
#include "backups/backup_source.hpp"
#include "backups/directory_archive.hpp"
#include "backups/file_io.hpp"
#include "messages/error.hpp"
#include "strategies/actions/exec_action.hpp"

namespace switchyard::backups {

namespace {

namespace fs = std::filesystem;

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

class exec_backup_source final : public backup_source {
public:
  explicit exec_backup_source(config::service_backup_settings s) : s_(std::move(s)) {}

  bool takes_incrementals() const override { return s_.directory; }

  caf::expected<produced> produce(const produce_request& r) override {
    auto output = r.scratch + "/output";
    std::error_code ec;
    if (s_.directory)
      fs::create_directories(output, ec);
    auto point = wall_ms();
    if (auto ran = run(output); !ran)
      return ran.error();
    produced out;
    out.source = "exec";
    out.point_ms = point;
    if (!s_.directory) {
      if (!fs::is_regular_file(output, ec))
        return make_sy_error(sy_errc::backup_failed,
                             "the backup command exited 0 but wrote no file at {output}");
      auto sum = sha256_file(output);
      if (!sum)
        return sum.error();
      out.file = output;
      out.extension = "bin";
      out.facts = nlohmann::json{{"bytes", fs::file_size(output, ec)}, {"sha256", *sum}}.dump();
      return out;
    }
    manifest parent;
    if (r.parent != 0) {
      auto loaded = r.parent_keep.empty()
                        ? caf::expected<manifest>{make_sy_error(
                              sy_errc::not_found, fmt::format("the manifest of #{} is not kept "
                                                              "here",
                                                              r.parent))}
                        : load_manifest(r.parent_keep);
      if (!loaded)
        return loaded.error();
      parent = std::move(*loaded);
    }
    out.file = r.scratch + "/archive";
    auto info = write_archive(output, r.parent != 0 ? &parent : nullptr, out.file);
    if (!info)
      return info.error();
    out.keep = r.scratch + "/manifest";
    if (auto saved = save_manifest(info->contents, out.keep); !saved)
      return saved.error();
    out.extension = "archive";
    out.facts = nlohmann::json{{"files", info->files}, {"files_stored", info->files_stored}}.dump();
    return out;
  }

  caf::expected<std::string> restore(const std::vector<std::string>& raw,
                                     const std::string& target) override {
    if (raw.empty())
      return make_sy_error(sy_errc::corrupt, "nothing to restore from");
    if (s_.directory) {
      auto files = restore_archives(raw, target);
      if (!files)
        return files.error();
      return fmt::format("restored {} file(s) into {} (every one checked against the manifest)",
                         *files, target);
    }
    auto size = detail::place_file(raw.back(), target);
    if (!size)
      return size.error();
    return fmt::format("wrote {} ({} bytes)", target, *size);
  }

  caf::expected<std::string> check(const std::vector<std::string>& raw, const std::string& facts,
                                   const std::string& scratch) override {
    auto recorded = nlohmann::json::parse(facts, nullptr, false);
    if (recorded.is_discarded())
      return make_sy_error(sy_errc::corrupt, "the catalog's facts of this backup are unreadable");
    if (!s_.directory) {
      auto sum = sha256_file(raw.back());
      if (!sum)
        return sum.error();
      if (*sum != recorded.value("sha256", std::string{}))
        return make_sy_error(sy_errc::corrupt, "the restored file differs from what was backed up");
      return "test restore: the file's SHA-256 is the one recorded";
    }
    auto files = restore_archives(raw, scratch + "/check");
    if (!files)
      return files.error();
    auto expected = recorded.value("files", std::uint64_t{0});
    if (*files != expected)
      return make_sy_error(
          sy_errc::corrupt,
          fmt::format("the test restore holds {} files, the backup had {}", *files, expected));
    return fmt::format("test restore: {} files, each matching the manifest", *files);
  }

private:
  caf::expected<void> run(const std::string& output) {
    config::action_settings settings;
    settings.name = "backup";
    settings.type = config::action_type::exec;
    auto command = s_.command;
    for (auto at = command.find("{output}"); at != std::string::npos;
         at = command.find("{output}", at))
      command.replace(at, 8, quoted(output));
    settings.command = command;
    settings.timeout = s_.timeout;
    strategies::action_context ctx;
    ctx.phase = "backup";
    ctx.step_name = "backup";
    strategies::exec_action action{std::move(settings)};
    auto result = action.run(ctx);
    if (result.ok)
      return {};
    auto tail = result.output.size() > 1000 ? result.output.substr(result.output.size() - 1000)
                                            : result.output;
    return make_sy_error(sy_errc::backup_failed,
                         fmt::format("the backup command {}{}{}",
                                     result.timed_out
                                         ? fmt::format("timed out after {} ms", s_.timeout.count())
                                         : fmt::format("failed (exit {})", result.exit_code),
                                     tail.empty() ? "" : ": ", tail));
  }

  config::service_backup_settings s_;
};

} // namespace

std::unique_ptr<backup_source> make_exec_source(const config::service_backup_settings& s) {
  return std::make_unique<exec_backup_source>(s);
}

} // namespace switchyard::backups

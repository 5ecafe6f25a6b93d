// Redis as a backup source: an RDB fetched from a healthy replica when there
// is one (so the primary does not fork for it), checked by loading it into a
// throwaway redis-server whose key count and sampled values become the
// backup's facts, which every later verification compares with.
#include <filesystem>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backups/backup_source.hpp"
#include "backups/file_io.hpp"
#include "backups/redis_source.hpp"
#include "backups/scratch_redis.hpp"
#include "messages/error.hpp"

namespace switchyard::backups {

namespace {

namespace fs = std::filesystem;

std::string facts_json(const rdb_facts& f) {
  nlohmann::json sample = nlohmann::json::object();
  for (const auto& [key, sum] : f.sample)
    sample[key] = sum;
  return nlohmann::json{{"keys", f.keys}, {"sample", sample}}.dump();
}

class redis_backup_source final : public backup_source {
public:
  redis_backup_source(std::vector<std::pair<std::string, std::string>> candidates,
                      std::chrono::milliseconds timeout)
      : candidates_(std::move(candidates)), timeout_(timeout) {}

  bool takes_incrementals() const override { return false; }

  caf::expected<produced> produce(const produce_request& r) override {
    if (r.parent != 0)
      return make_sy_error(sy_errc::backup_failed, "a Redis backup is always full");
    std::string tried;
    for (const auto& [name, address] : candidates_) {
      auto file = r.scratch + "/dump.rdb";
      auto point = wall_ms(); // the fork comes after: the RDB holds at least this
      auto dump = fetch_rdb(address, file, timeout_);
      if (!dump) {
        tried += fmt::format("{}{} {}: {}", tried.empty() ? "" : "; ", name, address,
                             describe(dump.error()));
        continue;
      }
      auto facts = read_rdb_facts(file, r.scratch + "/check", timeout_);
      if (!facts)
        return make_sy_error(sy_errc::corrupt, fmt::format("the RDB from {} {} does not load: {}",
                                                           name, address, describe(facts.error())));
      produced out;
      out.file = file;
      out.extension = "rdb";
      out.source = fmt::format("{} {}", name, address);
      out.point_ms = point;
      out.facts = facts_json(*facts);
      return out;
    }
    return make_sy_error(sy_errc::backup_failed,
                         candidates_.empty() ? std::string{"no instance to take an RDB from"}
                                             : "no instance gave an RDB: " + tried);
  }

  caf::expected<std::string> restore(const std::vector<std::string>& raw,
                                     const std::string& target) override {
    if (raw.size() != 1)
      return make_sy_error(sy_errc::corrupt, "a Redis restore needs exactly one RDB");
    auto final_path = target + "/dump.rdb";
    auto size = detail::place_file(raw[0], final_path);
    if (!size)
      return size.error();
    return fmt::format("wrote {} ({} bytes): start a redis-server with --dir {} --dbfilename "
                       "dump.rdb",
                       final_path, *size, target);
  }

  caf::expected<std::string> check(const std::vector<std::string>& raw, const std::string& facts,
                                   const std::string& scratch) override {
    if (raw.size() != 1)
      return make_sy_error(sy_errc::corrupt, "a Redis backup is one RDB");
    auto recorded = nlohmann::json::parse(facts, nullptr, false);
    if (recorded.is_discarded() || !recorded.contains("keys"))
      return make_sy_error(sy_errc::corrupt, "the catalog recorded no key count for this backup");
    std::error_code ec;
    fs::create_directories(scratch, ec);
    fs::copy_file(raw[0], scratch + "/dump.rdb", fs::copy_options::overwrite_existing, ec);
    if (ec)
      return make_sy_error(sy_errc::backup_failed, "cannot stage the RDB: " + ec.message());
    auto server = scratch_redis::start(scratch, timeout_);
    if (!server)
      return server.error();
    auto count = redis_call((*server)->address(), {"DBSIZE"}, timeout_);
    if (!count)
      return count.error();
    auto keys = std::strtoull(count->c_str(), nullptr, 10);
    if (keys != recorded["keys"].get<std::uint64_t>())
      return make_sy_error(sy_errc::corrupt,
                           fmt::format("the test restore holds {} keys, the backup had {}", keys,
                                       recorded["keys"].get<std::uint64_t>()));
    std::vector<std::string> sample;
    auto recorded_sample = recorded.value("sample", nlohmann::json::object());
    for (const auto& item : recorded_sample.items())
      sample.push_back(item.key());
    auto sums = (*server)->dump_sums(sample, timeout_);
    if (!sums)
      return sums.error();
    for (const auto& key : sample)
      if ((*sums)[key] != recorded_sample[key].get<std::string>())
        return make_sy_error(sy_errc::corrupt,
                             fmt::format("key '{}' differs from what the backup held", key));
    return fmt::format("test restore into a scratch redis-server: {} keys, {} sampled values "
                       "as recorded",
                       keys, sample.size());
  }

private:
  std::vector<std::pair<std::string, std::string>> candidates_;
  std::chrono::milliseconds timeout_;
};

} // namespace

std::unique_ptr<backup_source>
make_redis_source(std::vector<std::pair<std::string, std::string>> candidates,
                  std::chrono::milliseconds timeout) {
  return std::make_unique<redis_backup_source>(std::move(candidates), timeout);
}

} // namespace switchyard::backups

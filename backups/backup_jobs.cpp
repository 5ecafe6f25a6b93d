// One backup taken, one chain fetched back: the steps every source shares.
#include "backups/backup_jobs.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <fmt/format.h>
#include <unistd.h>

#include "backups/artifact.hpp"
#include "backups/record_json.hpp"
#include "messages/error.hpp"

namespace switchyard::backups {

namespace fs = std::filesystem;

std::string keep_path(const std::string& work_dir, const backup_record& b) {
  return fmt::format("{}/keep/{}/{}/{}.keep", work_dir, b.service, b.tier, b.id);
}

std::string artifact_name(const backup_record& b, const std::string& node,
                          const std::string& extension) {
  return fmt::format("{}/{}/{}-{}-{}.{}.zst", b.service, b.tier, node, b.id, to_string(b.kind),
                     extension);
}

caf::expected<std::string> make_scratch(const std::string& work_dir, const std::string& what) {
  static std::atomic<std::uint64_t> counter{0};
  auto dir = fmt::format("{}/jobs/{}-{}-{}", work_dir, what, ::getpid(), ++counter);
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec)
    return make_sy_error(sy_errc::backup_failed,
                         fmt::format("cannot create the scratch folder {}: {}", dir, ec.message()));
  return dir;
}

void remove_scratch(const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
}

caf::expected<backup_record> take_backup(const take_request& r) {
  auto rec = r.record;
  auto scratch = make_scratch(r.work_dir, fmt::format("backup-{}", rec.id));
  if (!scratch)
    return scratch.error();
  struct cleanup {
    std::string dir;
    ~cleanup() { remove_scratch(dir); }
  } done{*scratch};
  produce_request pr;
  pr.scratch = *scratch + "/data";
  pr.backup_id = rec.id;
  pr.parent = rec.kind == backup_kind::incremental ? rec.parent : 0;
  if (pr.parent != 0) {
    backup_record parent = rec;
    parent.id = rec.parent;
    auto kept = keep_path(r.work_dir, parent);
    std::error_code ec;
    if (fs::exists(kept, ec))
      pr.parent_keep = kept;
  }
  std::error_code ec;
  fs::create_directories(pr.scratch, ec);
  auto made = r.source->produce(pr);
  if (!made)
    return made.error();
  rec.source = made->source;
  rec.point_ms = made->point_ms;
  rec.facts = made->facts;
  rec.artifact = artifact_name(rec, r.node, made->extension);
  auto packed_path = *scratch + "/artifact.zst";
  auto packed = pack_file(made->file, packed_path, r.level);
  if (!packed)
    return packed.error();
  rec.raw_bytes = packed->raw_bytes;
  rec.stored_bytes = packed->stored_bytes;
  rec.sha256 = packed->sha256;
  if (auto put = r.dest->put(packed_path, rec.artifact); !put)
    return put.error();
  // Then its record beside it: a destination is readable without the
  // catalog (switchyardd --restore-state needs that).
  rec.status = backup_status::complete;
  auto sidecar = *scratch + "/record.json";
  {
    std::ofstream out(sidecar, std::ios::trunc);
    out << record_to_json(rec);
  }
  if (auto put = r.dest->put(sidecar, sidecar_name(rec.artifact)); !put) {
    (void)r.dest->remove(rec.artifact);
    return put.error();
  }
  if (!made->keep.empty()) {
    auto kept = keep_path(r.work_dir, rec);
    fs::create_directories(fs::path(kept).parent_path(), ec);
    fs::copy_file(made->keep, kept, fs::copy_options::overwrite_existing, ec);
    // Not kept: the next incremental of this tier cannot be taken and a
    // full one is (the source says why); this backup is whole regardless.
  }
  rec.status = backup_status::complete;
  return rec;
}

namespace {

// An error's text without its code ("corrupt: ..."), with the scratch copy's
// path replaced by the artifact's name: what an operator can look for.
std::string plain(const caf::error& err, const std::string& scratch_path,
                  const std::string& artifact) {
  auto text = describe(err);
  for (const char* code : {"corrupt: ", "backup_failed: ", "not_found: "})
    if (text.rfind(code, 0) == 0)
      text = text.substr(std::string{code}.size());
  for (auto at = text.find(scratch_path); at != std::string::npos;
       at = text.find(scratch_path, at + artifact.size()))
    text.replace(at, scratch_path.size(), artifact);
  return text;
}

} // namespace

caf::expected<std::vector<std::string>> fetch_chain(destination& dest,
                                                    const std::vector<backup_record>& chain,
                                                    const std::string& dir,
                                                    std::int64_t& failed_link) {
  failed_link = 0;
  std::vector<std::string> raw;
  std::error_code ec;
  fs::create_directories(dir, ec);
  for (const auto& link : chain) {
    auto unpacked = fmt::format("{}/{}.raw", dir, link.id);
    // A directory destination's artifact is read where it is: no copy.
    auto source = dest.local_path(link.artifact);
    bool copied = source.empty() || ::access(source.c_str(), R_OK) != 0;
    if (copied) {
      source = fmt::format("{}/{}.zst", dir, link.id);
      if (auto got = dest.get(link.artifact, source); !got) {
        // Missing: the link is gone (corrupt). Anything else (a download
        // command that failed, a timeout) says nothing about the artifact.
        bool missing = got.error() == sy_errc::not_found;
        failed_link = missing ? link.id : 0;
        return make_sy_error(missing ? sy_errc::corrupt : sy_errc::backup_failed,
                             fmt::format("link #{} ({} in tier {}): {}", link.id, link.artifact,
                                         link.tier, plain(got.error(), source, link.artifact)));
      }
    }
    auto size = unpack_file(source, link.sha256, unpacked, false); // scratch, read once
    if (copied)
      fs::remove(source, ec);
    if (!size) {
      failed_link = link.id;
      return make_sy_error(sy_errc::corrupt,
                           fmt::format("link #{} ({} in tier {}): {}", link.id, link.artifact,
                                       link.tier, plain(size.error(), source, link.artifact)));
    }
    raw.push_back(unpacked);
  }
  return raw;
}

} // namespace switchyard::backups

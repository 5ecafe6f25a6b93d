// Directory archives: a binary format of our own, written and read as a stream
// (file contents never held whole in memory), and the restore of a chain.
//
// Format, version 1 (integers little-endian):
//   "SYDIRARC"  u32 version
//   manifest:   u64 count, then per file (sorted by path):
//               u32 path_len, path, u64 size, u32 mode, SHA-256 of the content (64 hex chars)
//   files:      u64 count, then per stored file:
//               u32 path_len, path, u32 mode, u64 size, size bytes of content
//   "SYDIREND"  and nothing after it
// Paths are relative and '/'-separated; a reader rejects (corrupt) any that is
// empty, absolute or has an empty, "." or ".." component, before writing.
#include "backups/directory_archive.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "backups/archive_io.hpp"
#include "backups/sha256.hpp"
#include "messages/error.hpp"

namespace switchyard::backups {

namespace {

namespace fs = std::filesystem;

using namespace detail::archive;
using detail::fd_guard;
using detail::sha256_hasher;

caf::expected<std::string> get_path(reader& in, const std::string& archive, const char* what) {
  auto cut = [&] {
    return in.io_error != 0 ? io_failed("read", archive, in.io_error)
                            : corrupt(archive, fmt::format("truncated (in the {})", what));
  };
  std::uint32_t len = 0;
  if (!in.get_int(len))
    return cut();
  if (len > max_path)
    return corrupt(archive, fmt::format("a path of {} bytes in the {}", len, what));
  std::string p(len, '\0');
  if (!in.get(p.data(), len))
    return cut();
  if (!safe_path(p))
    return corrupt(archive, fmt::format("unsafe path \"{}\" in the {}", p, what));
  return p;
}

/// The header and the manifest of the archive `in` has opened.
caf::expected<manifest> get_manifest(reader& in, const std::string& archive) {
  if (!in.ok())
    return in.io_error == ENOENT ? make_sy_error(sy_errc::not_found,
                                                 fmt::format("restore: {} does not exist", archive))
                                 : io_failed("read", archive, in.io_error);
  char head[sizeof(magic) - 1];
  std::uint32_t version = 0;
  std::uint64_t count = 0;
  if (!in.get(head, sizeof(head)) || std::memcmp(head, magic, sizeof(head)) != 0 ||
      !in.get_int(version))
    return in.io_error != 0 ? io_failed("read", archive, in.io_error)
                            : corrupt(archive, "not a directory archive");
  if (version != format_version)
    return corrupt(archive, fmt::format("format version {} is not supported", version));
  manifest m;
  if (!in.get_int(count))
    return corrupt(archive, "truncated (in the manifest)");
  for (std::uint64_t i = 0; i < count; ++i) {
    manifest_entry e;
    auto p = get_path(in, archive, "manifest");
    if (!p)
      return p.error();
    e.path = std::move(*p);
    e.sha256.resize(64);
    if (!in.get_int(e.size) || !in.get_int(e.mode) || !in.get(e.sha256.data(), 64))
      return corrupt(archive, "truncated (in the manifest)");
    if (!m.empty() && m.back().path >= e.path)
      return corrupt(archive, "manifest not sorted or with duplicates at " + e.path);
    m.push_back(std::move(e));
  }
  return m;
}

/// Every regular file under `root`/`rel` into `files` (symlinks and special
/// files skipped), and every folder into `dirs` (parents first) if given.
caf::error walk(const fs::path& root, const std::string& rel, manifest& files,
                std::vector<fs::path>* dirs = nullptr) {
  auto dir = rel.empty() ? root : root / rel;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; it != end; it.increment(ec)) {
    if (ec)
      break;
    auto path = (rel.empty() ? "" : rel + "/") + it->path().filename().string();
    struct stat st {};
    if (::lstat((root / path).c_str(), &st) != 0)
      return io_failed("stat", (root / path).string());
    if (S_ISREG(st.st_mode))
      files.push_back({path, 0, {}, static_cast<std::uint32_t>(st.st_mode & 07777)});
    if (S_ISDIR(st.st_mode) && dirs != nullptr)
      dirs->push_back(root / path);
    if (auto err = S_ISDIR(st.st_mode) ? walk(root, path, files, dirs) : caf::error{})
      return err;
  }
  return ec ? failed(fmt::format("cannot list {}: {}", dir.string(), ec.message())) : caf::error{};
}

/// Content size and SHA-256 of a file, read as a stream.
caf::error hash_file(const std::string& path, manifest_entry& e) {
  fd_guard f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
  if (f.get() < 0)
    return io_failed("read", path);
  sha256_hasher h;
  e.size = 0;
  if (int err = read_through(f.get(), [&](const char* d, std::size_t n) {
        h.update(d, n);
        e.size += n;
      }))
    return io_failed("read", path, err);
  e.sha256 = h.hex_or_empty();
  return {};
}

/// Removes the files under `root` that `keep` does not list, then the folders left empty.
caf::error prune(const fs::path& root, const std::map<std::string, const manifest_entry*>& keep) {
  manifest present;
  std::vector<fs::path> dirs;
  if (auto err = walk(root, "", present, &dirs))
    return err;
  for (const auto& e : present)
    if (keep.count(e.path) == 0 && ::unlink((root / e.path).c_str()) != 0)
      return io_failed("delete", (root / e.path).string());
  for (auto i = dirs.rbegin(); i != dirs.rend(); ++i) // children before their parents
    ::rmdir(i->c_str()); // fails, as it should, unless the folder is empty
  return {};
}

/// Writes the `size` bytes of content that follow in `in` to the new file `file`.
caf::error unpack(reader& in, std::uint64_t size, const fs::path& file, sha256_hasher& h,
                  const std::string& archive) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec)
    return failed(fmt::format("cannot create {}: {}", file.parent_path().string(), ec.message()));
  ::unlink(file.c_str()); // replaced, even when it was read-only
  fd_guard out{::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)};
  if (out.get() < 0)
    return io_failed("write", file.string());
  std::vector<char> buf(chunk);
  for (std::uint64_t left = size; left > 0;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
    if (!in.get(buf.data(), n))
      return in.io_error != 0 ? io_failed("read", archive, in.io_error)
                              : corrupt(archive, "truncated in the content of " + file.string());
    h.update(buf.data(), n);
    if (int err = write_all(out.get(), buf.data(), n))
      return io_failed("write", file.string(), err);
    left -= n;
  }
  return {};
}

/// What a restore wrote, by path: size and SHA-256 as checked while writing.
using written_files = std::map<std::string, manifest_entry>;

/// Applies one archive of the chain to `root`; `m` becomes its manifest.
caf::error apply(const std::string& archive, const fs::path& root, manifest& m,
                 written_files& written) {
  reader in{archive};
  auto got = get_manifest(in, archive);
  if (!got)
    return got.error();
  m = std::move(*got);
  std::map<std::string, const manifest_entry*> listed;
  for (const auto& e : m)
    listed[e.path] = &e;
  if (auto err = prune(root, listed)) // first, so a deleted file's path may become a folder
    return err;
  std::uint64_t stored = 0;
  if (!in.get_int(stored))
    return corrupt(archive, "truncated (before the files)");
  for (std::uint64_t i = 0; i < stored; ++i) {
    auto p = get_path(in, archive, "files");
    std::uint32_t mode = 0;
    std::uint64_t size = 0;
    if (!p)
      return p.error();
    if (!in.get_int(mode) || !in.get_int(size))
      return corrupt(archive, "truncated at " + *p);
    auto entry = listed.find(*p);
    if (entry == listed.end() || entry->second->size != size || entry->second->mode != mode)
      return corrupt(archive, *p + " is stored, but not as its manifest lists it");
    sha256_hasher h;
    if (auto err = unpack(in, size, root / *p, h, archive))
      return err;
    auto sum = h.hex_or_empty();
    if (sum != entry->second->sha256)
      return corrupt(archive, *p + " is stored with content that does not match its SHA-256");
    written[*p] = {*p, size, std::move(sum), mode};
  }
  char end[sizeof(trailer) - 1];
  if (!in.get(end, sizeof(end)) || std::memcmp(end, trailer, sizeof(end)) != 0 || !in.at_end())
    return corrupt(archive, "truncated, or extra bytes at its end");
  for (const auto& e : m)
    if (::chmod((root / e.path).c_str(), e.mode & 07777) != 0)
      return errno == ENOENT ? corrupt(archive, e.path + " is in its manifest but neither stored "
                                                         "there nor by an earlier archive (is its "
                                                         "parent missing from the chain?)")
                             : io_failed("set the mode of", (root / e.path).string());
  return {};
}

} // namespace

caf::expected<manifest> scan_directory(const std::string& dir) {
  manifest out;
  if (auto err = walk(dir, "", out))
    return err;
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  for (auto& e : out)
    if (auto err = hash_file((fs::path(dir) / e.path).string(), e))
      return err;
  return out;
}

caf::expected<archive_info> write_archive(const std::string& dir, const manifest* parent,
                                          const std::string& archive) {
  auto scanned = scan_directory(dir);
  if (!scanned)
    return scanned.error();
  archive_info info;
  info.contents = std::move(*scanned);
  info.files = info.contents.size();
  std::map<std::string, const manifest_entry*> before;
  if (parent != nullptr)
    for (const auto& e : *parent)
      before[e.path] = &e;
  std::vector<const manifest_entry*> changed;
  for (const auto& e : info.contents) {
    auto old = before.find(e.path);
    if (parent == nullptr || old == before.end() || old->second->size != e.size ||
        old->second->sha256 != e.sha256)
      changed.push_back(&e);
  }

  writer out{archive + ".partial"};
  out.put(magic, sizeof(magic) - 1);
  out.put_int(format_version);
  out.put_int(static_cast<std::uint64_t>(info.contents.size()));
  for (const auto& e : info.contents) {
    out.put_str(e.path);
    out.put_int(e.size);
    out.put_int(e.mode);
    out.put(e.sha256.data(), e.sha256.size());
  }
  out.put_int(static_cast<std::uint64_t>(changed.size()));
  for (const auto* e : changed) {
    if (out.error)
      return out.error;
    auto path = (fs::path(dir) / e->path).string();
    fd_guard in{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
    if (in.get() < 0)
      return io_failed("read", path);
    out.put_str(e->path);
    out.put_int(e->mode);
    out.put_int(e->size);
    // The content streamed must be what the manifest says: a file changed
    // since the scan would make an archive that cannot be restored.
    sha256_hasher h;
    std::uint64_t n = 0;
    int err = read_through(in.get(), [&](const char* d, std::size_t len) {
      out.put(d, len);
      h.update(d, len);
      n += len;
    });
    if (err != 0)
      return io_failed("read", path, err);
    if (n != e->size || h.hex_or_empty() != e->sha256)
      return failed(fmt::format("{} changed while it was archived: try again", path));
    info.bytes_stored += e->size;
  }
  out.put(trailer, sizeof(trailer) - 1);
  out.commit(archive);
  if (out.error)
    return out.error;
  info.files_stored = changed.size();
  return info;
}

caf::expected<manifest> read_manifest(const std::string& archive) {
  reader in{archive};
  return get_manifest(in, archive);
}

caf::expected<std::size_t> restore_archives(const std::vector<std::string>& archives,
                                            const std::string& target) {
  if (archives.empty())
    return make_sy_error(sy_errc::invalid_config, "restore: no archives to restore");
  std::error_code ec;
  if (fs::exists(target, ec) && !(fs::is_directory(target, ec) && fs::is_empty(target, ec)))
    return failed(fmt::format("restore target {} is not an empty folder", target));
  fs::create_directories(target, ec);
  if (ec)
    return failed(fmt::format("cannot create {}: {}", target, ec.message()));
  manifest last;
  written_files written;
  for (const auto& a : archives)
    if (auto err = apply(a, target, last, written))
      return err;
  // Everything against the last manifest: what it lists, nothing else. Each
  // file's content was hashed as it was written (every file of the target
  // was: it started empty); what is checked here is that the last manifest
  // wants exactly that content, without reading a byte again.
  manifest now;
  if (auto err = walk(target, "", now))
    return err;
  std::sort(now.begin(), now.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  for (auto& e : now)
    if (auto it = written.find(e.path); it != written.end()) {
      e.size = it->second.size;
      e.sha256 = it->second.sha256;
    }
  auto differs = [&](const std::string& path, const std::string& how) {
    return make_sy_error(sy_errc::corrupt,
                         fmt::format("restore: {}/{} {} (checked against the manifest of {})",
                                     target, path, how, archives.back()));
  };
  for (std::size_t i = 0; i < std::max(now.size(), last.size()); ++i) {
    const auto* want = i < last.size() ? &last[i] : nullptr;
    const auto* got = i < now.size() ? &now[i] : nullptr;
    if (want == nullptr || (got != nullptr && got->path < want->path))
      return differs(got->path, "is not in the manifest");
    if (got == nullptr || got->path > want->path)
      return differs(want->path, "is missing");
    if (got->size != want->size || got->sha256 != want->sha256)
      return differs(want->path, fmt::format("has {} bytes with SHA-256 {}, not {} bytes with {}",
                                             got->size, got->sha256, want->size, want->sha256));
    if (got->mode != want->mode)
      return differs(want->path, fmt::format("has mode {:o}, not {:o}", got->mode, want->mode));
  }
  // Durable once, for every file written (not one fsync per file).
  fd_guard root{::open(target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (root.get() < 0 || ::syncfs(root.get()) != 0)
    return io_failed("flush", target);
  return last.size();
}

} // namespace switchyard::backups

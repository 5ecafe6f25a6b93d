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
#include <openssl/evp.h>

#include "messages/error.hpp"

namespace switchyard::backups {

namespace {

namespace fs = std::filesystem;

constexpr char magic[] = "SYDIRARC";
constexpr char trailer[] = "SYDIREND";
constexpr std::uint32_t format_version = 1;
constexpr std::size_t chunk = 64 * 1024;
constexpr std::uint32_t max_path = 4096;

caf::error failed(const std::string& what) {
  return make_sy_error(sy_errc::backup_failed, "backup: " + what);
}
caf::error io_failed(const std::string& what, const std::string& path, int err = errno) {
  return failed(fmt::format("cannot {} {}: {}", what, path, std::strerror(err)));
}
caf::error corrupt(const std::string& archive, const std::string& what) {
  return make_sy_error(sy_errc::corrupt, fmt::format("restore: {}: {}", archive, what));
}

/// Closes a file descriptor when it goes out of scope.
struct fd_guard {
  explicit fd_guard(int f) : fd(f) {}
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int fd;
};

/// SHA-256 through OpenSSL's EVP interface, hex at the end.
class sha256 {
public:
  sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  }
  void update(const char* data, std::size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &len);
    std::string out;
    for (unsigned int i = 0; i < len; ++i)
      out += fmt::format("{:02x}", md[i]);
    return out;
  }

private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

/// Reads all of `fd` through `sink(data, n)`; errno on a read error, else 0.
template <class Sink> int read_through(int fd, Sink&& sink) {
  std::vector<char> buf(chunk);
  while (true) {
    auto n = ::read(fd, buf.data(), buf.size());
    if (n <= 0 && (n == 0 || errno != EINTR))
      return n == 0 ? 0 : errno;
    if (n > 0)
      sink(buf.data(), static_cast<std::size_t>(n));
  }
}

/// Writes all `n` bytes; errno on failure, else 0.
int write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    auto w = ::write(fd, data, n);
    if (w < 0 && errno != EINTR)
      return errno;
    auto done = w > 0 ? static_cast<std::size_t>(w) : 0;
    data += done, n -= done;
  }
  return 0;
}

struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using file_ptr = std::unique_ptr<std::FILE, file_closer>;

/// An archive written (buffered) to a ".partial" file, removed unless
/// committed; the first failure is kept in `error`.
class writer {
public:
  explicit writer(std::string path)
      : path_(std::move(path)), out_(std::fopen(path_.c_str(), "wbe")) {
    if (!out_)
      error = io_failed("write", path_);
  }
  ~writer() {
    if (!committed_)
      ::unlink(path_.c_str());
  }
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  void put(const char* data, std::size_t n) {
    if (!error && n > 0 && std::fwrite(data, 1, n, out_.get()) != n)
      error = io_failed("write", path_);
  }
  template <class T> void put_int(T v) {
    char b[sizeof(T)];
    for (std::size_t i = 0; i < sizeof(T); ++i)
      b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    put(b, sizeof(T));
  }
  void put_str(const std::string& s) {
    put_int(static_cast<std::uint32_t>(s.size()));
    put(s.data(), s.size());
  }
  /// Flushed, fsynced and renamed to `target`, with its folder fsynced.
  void commit(const std::string& target) {
    if (!error && (std::fflush(out_.get()) != 0 || ::fsync(::fileno(out_.get())) != 0 ||
                   std::fclose(out_.release()) != 0))
      error = io_failed("write", path_);
    if (!error && ::rename(path_.c_str(), target.c_str()) != 0)
      error = io_failed("rename to", target);
    committed_ = !error;
    auto folder = fs::path(target).parent_path();
    fd_guard dir{::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (committed_ && dir.fd >= 0)
      ::fsync(dir.fd);
  }
  caf::error error;

private:
  std::string path_;
  file_ptr out_;
  bool committed_ = false;
};

/// An archive read (buffered): get() is false at a premature end (truncated)
/// or on a read error (io_error is then its errno).
class reader {
public:
  explicit reader(const std::string& path) : in_(std::fopen(path.c_str(), "rbe")) {
    io_error = in_ ? 0 : errno;
  }
  bool ok() const { return in_ != nullptr; }
  bool get(char* out, std::size_t n) {
    if (n == 0 || std::fread(out, 1, n, in_.get()) == n)
      return true;
    io_error = std::ferror(in_.get()) != 0 ? errno : 0;
    return false;
  }
  template <class T> bool get_int(T& v) {
    unsigned char b[sizeof(T)];
    if (!get(reinterpret_cast<char*>(b), sizeof(T)))
      return false;
    v = 0;
    for (std::size_t i = sizeof(T); i-- > 0;)
      v = static_cast<T>((v << 8) | b[i]);
    return true;
  }
  bool at_end() { return std::fgetc(in_.get()) == EOF && std::ferror(in_.get()) == 0; }
  int io_error = 0;

private:
  file_ptr in_;
};

bool safe_path(const std::string& p) {
  if (p.empty() || p.front() == '/' || p.find('\0') != std::string::npos)
    return false;
  for (std::size_t start = 0; start <= p.size();) {
    auto end = std::min(p.find('/', start), p.size());
    auto part = p.substr(start, end - start);
    if (part.empty() || part == "." || part == "..")
      return false;
    start = end + 1;
  }
  return true;
}

/// A path as stored: `what` names the section for the error.
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
  if (f.fd < 0)
    return io_failed("read", path);
  sha256 h;
  e.size = 0;
  if (int err = read_through(f.fd, [&](const char* d, std::size_t n) {
        h.update(d, n);
        e.size += n;
      }))
    return io_failed("read", path, err);
  e.sha256 = h.hex();
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
caf::error unpack(reader& in, std::uint64_t size, const fs::path& file, sha256& h,
                  const std::string& archive) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec)
    return failed(fmt::format("cannot create {}: {}", file.parent_path().string(), ec.message()));
  ::unlink(file.c_str()); // replaced, even when it was read-only
  fd_guard out{::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)};
  if (out.fd < 0)
    return io_failed("write", file.string());
  std::vector<char> buf(chunk);
  for (std::uint64_t left = size; left > 0;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
    if (!in.get(buf.data(), n))
      return in.io_error != 0 ? io_failed("read", archive, in.io_error)
                              : corrupt(archive, "truncated in the content of " + file.string());
    h.update(buf.data(), n);
    if (int err = write_all(out.fd, buf.data(), n))
      return io_failed("write", file.string(), err);
    left -= n;
  }
  return {};
}

/// Applies one archive of the chain to `root`; `m` becomes its manifest.
caf::error apply(const std::string& archive, const fs::path& root, manifest& m) {
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
    sha256 h;
    if (auto err = unpack(in, size, root / *p, h, archive))
      return err;
    if (h.hex() != entry->second->sha256)
      return corrupt(archive, *p + " is stored with content that does not match its SHA-256");
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
    if (in.fd < 0)
      return io_failed("read", path);
    out.put_str(e->path);
    out.put_int(e->mode);
    out.put_int(e->size);
    // The content streamed must be what the manifest says: a file changed
    // since the scan would make an archive that cannot be restored.
    sha256 h;
    std::uint64_t n = 0;
    int err = read_through(in.fd, [&](const char* d, std::size_t len) {
      out.put(d, len);
      h.update(d, len);
      n += len;
    });
    if (err != 0)
      return io_failed("read", path, err);
    if (n != e->size || h.hex() != e->sha256)
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
  for (const auto& a : archives)
    if (auto err = apply(a, target, last))
      return err;
  // Everything against the last manifest: what it lists, nothing else.
  auto now = scan_directory(target);
  if (!now)
    return now.error();
  auto differs = [&](const std::string& path, const std::string& how) {
    return make_sy_error(sy_errc::corrupt,
                         fmt::format("restore: {}/{} {} (checked against the manifest of {})",
                                     target, path, how, archives.back()));
  };
  for (std::size_t i = 0; i < std::max(now->size(), last.size()); ++i) {
    const auto* want = i < last.size() ? &last[i] : nullptr;
    const auto* got = i < now->size() ? &(*now)[i] : nullptr;
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
  return last.size();
}

} // namespace switchyard::backups

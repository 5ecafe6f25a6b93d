// Internal to backups/directory_archive.cpp: the archive format's primitives
// (its constants, buffered little-endian writer and reader, safe paths) and
// the errors they report. The format itself is described there.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "backups/file_io.hpp"
#include "messages/error.hpp"

namespace switchyard::backups::detail::archive {

namespace fs = std::filesystem;

constexpr char magic[] = "SYDIRARC";
constexpr char trailer[] = "SYDIREND";
constexpr std::uint32_t format_version = 1;
constexpr std::size_t chunk = 64 * 1024;
constexpr std::uint32_t max_path = 4096;

inline caf::error failed(const std::string& what) {
  return make_sy_error(sy_errc::backup_failed, "backup: " + what);
}
inline caf::error io_failed(const std::string& what, const std::string& path, int err = errno) {
  return failed(fmt::format("cannot {} {}: {}", what, path, std::strerror(err)));
}
inline caf::error corrupt(const std::string& archive, const std::string& what) {
  return make_sy_error(sy_errc::corrupt, fmt::format("restore: {}: {}", archive, what));
}

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
inline int write_all(int fd, const char* data, std::size_t n) {
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
    if (committed_ && dir.get() >= 0)
      ::fsync(dir.get());
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

inline bool safe_path(const std::string& p) {
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

} // namespace switchyard::backups::detail::archive

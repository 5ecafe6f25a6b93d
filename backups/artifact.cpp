// Artifacts: zstd streaming compression through fixed-size buffers (memory
// stays bounded for multi-GB files) and the SHA-256 of the stored bytes,
// computed on the way in and checked on the way out.
#include "backups/artifact.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <memory>
#include <unistd.h>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <zstd.h>

#include "backups/file_io.hpp"
#include "backups/sha256.hpp"
#include "messages/error.hpp"

namespace switchyard::backups {

namespace {

using detail::fd_guard;
using detail::io_error;
using detail::sha256_hasher;

using clock_type = std::chrono::steady_clock;

constexpr std::size_t hash_chunk = 256 * 1024;

/// Opens an artifact (or source) for reading; a missing artifact is not_found.
caf::expected<int> open_for_reading(const std::string& path, sy_errc missing) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    return fd;
  if (errno == ENOENT)
    return make_sy_error(missing, fmt::format("backup: {} does not exist", path));
  return io_error("open", path, errno);
}

caf::expected<std::size_t> read_some(int fd, char* buf, std::size_t cap, const std::string& path) {
  while (true) {
    auto n = ::read(fd, buf, cap);
    if (n >= 0)
      return static_cast<std::size_t>(n);
    if (errno != EINTR)
      return io_error("read", path, errno);
  }
}

caf::expected<void> write_all(int fd, const char* data, std::size_t n, const std::string& path) {
  while (n > 0) {
    auto written = ::write(fd, data, n);
    if (written < 0) {
      if (errno == EINTR)
        continue;
      return io_error("write", path, errno);
    }
    data += written;
    n -= static_cast<std::size_t>(written);
  }
  return {};
}

/// Makes a finished `partial` durable and gives it its final name: fsync,
/// close (where NFS reports late errors), rename, fsync of the folder.
caf::expected<void> commit(fd_guard& out, const std::string& partial, const std::string& target,
                           bool durable = true) {
  if (durable && ::fsync(out.get()) != 0)
    return io_error("fsync", partial, errno);
  if (::close(out.release()) != 0)
    return io_error("close", partial, errno);
  if (::rename(partial.c_str(), target.c_str()) != 0)
    return make_sy_error(
        sy_errc::backup_failed,
        fmt::format("backup: cannot rename {} to {}: {}", partial, target, std::strerror(errno)));
  if (!durable)
    return {};
  auto folder = std::filesystem::path(target).parent_path();
  if (folder.empty())
    folder = ".";
  fd_guard dir{::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir.get() < 0 || ::fsync(dir.get()) != 0) {
    int err = errno;
    ::unlink(target.c_str()); // not known to be durable: the contract says absent
    return io_error("fsync folder", folder.string(), err);
  }
  return {};
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

caf::error sum_mismatch(const std::string& artifact, const std::string& expected,
                        const std::string& actual) {
  return make_sy_error(sy_errc::corrupt,
                       fmt::format("backup: artifact {} is corrupt: its SHA-256 is {}, expected {}",
                                   artifact, actual, expected));
}

/// Fills `buf` with the next bytes of the source; 0 at its end.
using source_reader = std::function<caf::expected<std::size_t>(char* buf, std::size_t cap)>;

/// Receives the decompressed bytes.
using sink = std::function<caf::expected<void>(const char* data, std::size_t n)>;

/// Compresses everything `read` yields into the open `out`.
caf::expected<artifact_info> compress(const source_reader& read, int out,
                                      const std::string& partial, int level) {
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx{ZSTD_createCCtx(), &ZSTD_freeCCtx};
  if (cctx == nullptr)
    return make_sy_error(sy_errc::backup_failed, "backup: cannot allocate a zstd context");
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
  // The frame's own checksum lets plain `zstd -t` check a copy without our catalog.
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
  std::vector<char> in(ZSTD_CStreamInSize());
  std::vector<char> buf(ZSTD_CStreamOutSize());
  sha256_hasher hash;
  artifact_info info;
  bool last = false;
  while (!last) {
    auto n = read(in.data(), in.size());
    if (!n)
      return n.error();
    info.raw_bytes += *n;
    last = *n == 0;
    ZSTD_inBuffer input{in.data(), *n, 0};
    auto mode = last ? ZSTD_e_end : ZSTD_e_continue;
    bool done = false;
    while (!done) {
      ZSTD_outBuffer output{buf.data(), buf.size(), 0};
      auto remaining = ZSTD_compressStream2(cctx.get(), &output, &input, mode);
      if (ZSTD_isError(remaining) != 0)
        return make_sy_error(sy_errc::backup_failed,
                             fmt::format("backup: zstd failed writing {}: {}", partial,
                                         ZSTD_getErrorName(remaining)));
      hash.update(buf.data(), output.pos);
      if (auto ok = write_all(out, buf.data(), output.pos, partial); !ok)
        return ok.error();
      info.stored_bytes += output.pos;
      done = last ? remaining == 0 : input.pos == input.size;
    }
  }
  auto sum = hash.hex();
  if (!sum)
    return sum.error();
  info.sha256 = std::move(*sum);
  return info;
}

caf::expected<artifact_info> pack(const source_reader& read, const std::string& target, int level) {
  if (level < 1 || level > 19)
    return make_sy_error(sy_errc::invalid_config,
                         fmt::format("backup: zstd level {} is outside 1..19", level));
  auto start = clock_type::now();
  std::string partial = target + ".partial";
  fd_guard out{::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
  if (out.get() < 0)
    return io_error("create", partial, errno);
  auto info = compress(read, out.get(), partial, level);
  if (info) {
    if (auto ok = commit(out, partial, target); !ok)
      info = ok.error();
  }
  if (!info) {
    out.reset();
    ::unlink(partial.c_str());
    return info;
  }
  info->took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
  return info;
}

/// Streams `artifact` through the decompressor into `write`, hashing what it
/// reads. Damage and truncation are corrupt errors; a sum mismatch wins over
/// zstd's own complaint because it names both sums.
caf::expected<std::uint64_t> decompress(const std::string& artifact, const std::string& sha256,
                                        const sink& write) {
  auto fd = open_for_reading(artifact, sy_errc::not_found);
  if (!fd)
    return fd.error();
  fd_guard in{*fd};
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx{ZSTD_createDCtx(), &ZSTD_freeDCtx};
  if (dctx == nullptr)
    return make_sy_error(sy_errc::backup_failed, "backup: cannot allocate a zstd context");
  std::vector<char> inbuf(ZSTD_DStreamInSize());
  std::vector<char> outbuf(ZSTD_DStreamOutSize());
  sha256_hasher hash;
  std::uint64_t produced = 0;
  std::size_t pending = 1; // no frame read yet: an empty file is truncated too
  std::string damage;
  while (true) {
    auto n = read_some(in.get(), inbuf.data(), inbuf.size(), artifact);
    if (!n)
      return n.error();
    if (*n == 0)
      break;
    hash.update(inbuf.data(), *n);
    if (!damage.empty())
      continue; // keep hashing: the error then names the file's real sum
    ZSTD_inBuffer input{inbuf.data(), *n, 0};
    // zstd keeps the last byte of a frame until it has flushed all its output,
    // so consuming the input is enough to have everything out.
    while (input.pos < input.size) {
      ZSTD_outBuffer output{outbuf.data(), outbuf.size(), 0};
      pending = ZSTD_decompressStream(dctx.get(), &output, &input);
      if (ZSTD_isError(pending) != 0) {
        damage = ZSTD_getErrorName(pending);
        break;
      }
      if (auto ok = write(outbuf.data(), output.pos); !ok)
        return ok.error();
      produced += output.pos;
    }
  }
  auto actual = hash.hex();
  if (!actual)
    return actual.error();
  if (!sha256.empty() && lower(sha256) != *actual)
    return sum_mismatch(artifact, sha256, *actual);
  if (!damage.empty())
    return make_sy_error(sy_errc::corrupt,
                         fmt::format("backup: artifact {} is corrupt: zstd: {}", artifact, damage));
  if (pending != 0)
    return make_sy_error(
        sy_errc::corrupt,
        fmt::format("backup: artifact {} is truncated: its zstd frame is incomplete", artifact));
  return produced;
}

} // namespace

caf::expected<artifact_info> pack_file(const std::string& source, const std::string& target,
                                       int level) {
  auto fd = open_for_reading(source, sy_errc::backup_failed);
  if (!fd)
    return fd.error();
  fd_guard in{*fd};
  return pack([&](char* buf, std::size_t cap) { return read_some(in.get(), buf, cap, source); },
              target, level);
}

caf::expected<artifact_info> pack_bytes(std::string_view bytes, const std::string& target,
                                        int level) {
  return pack(
      [&](char* buf, std::size_t cap) -> caf::expected<std::size_t> {
        auto n = std::min(cap, bytes.size());
        std::memcpy(buf, bytes.data(), n);
        bytes.remove_prefix(n);
        return n;
      },
      target, level);
}

caf::expected<std::string> sha256_file(const std::string& path) {
  auto fd = open_for_reading(path, sy_errc::not_found);
  if (!fd)
    return fd.error();
  fd_guard in{*fd};
  std::vector<char> buf(hash_chunk);
  sha256_hasher hash;
  while (true) {
    auto n = read_some(in.get(), buf.data(), buf.size(), path);
    if (!n)
      return n.error();
    if (*n == 0)
      return hash.hex();
    hash.update(buf.data(), *n);
  }
}

caf::expected<std::uint64_t> check_artifact(const std::string& artifact,
                                            const std::string& sha256) {
  auto actual = sha256_file(artifact);
  if (!actual)
    return actual.error();
  if (lower(sha256) != *actual)
    return sum_mismatch(artifact, sha256, *actual);
  std::error_code ec;
  auto size = std::filesystem::file_size(artifact, ec);
  if (ec)
    return io_error("stat", artifact, ec.value());
  return static_cast<std::uint64_t>(size);
}

caf::expected<std::uint64_t> unpack_file(const std::string& artifact, const std::string& sha256,
                                         const std::string& target, bool durable) {
  std::string partial = target + ".partial";
  fd_guard out{::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
  if (out.get() < 0)
    return io_error("create", partial, errno);
  auto size = decompress(artifact, sha256, [&](const char* data, std::size_t n) {
    return write_all(out.get(), data, n, partial);
  });
  if (size) {
    if (auto ok = commit(out, partial, target, durable); !ok)
      size = ok.error();
  }
  if (!size) {
    out.reset();
    ::unlink(partial.c_str());
  }
  return size;
}

caf::expected<std::string> unpack_bytes(const std::string& artifact, const std::string& sha256) {
  std::string out;
  auto size = decompress(artifact, sha256, [&](const char* data, std::size_t n) {
    out.append(data, n);
    return caf::expected<void>{};
  });
  if (!size)
    return size.error();
  return out;
}

} // namespace switchyard::backups

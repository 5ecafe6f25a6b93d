// Internal to backups/: a file descriptor closed when it goes out of scope,
// and the error an I/O call becomes (naming the path and the OS's reason).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include <unistd.h>

#include <caf/expected.hpp>
#include <fmt/format.h>

#include "messages/error.hpp"

namespace switchyard::backups::detail {

class fd_guard {
public:
  explicit fd_guard(int fd = -1) : fd_(fd) {}
  ~fd_guard() { reset(); }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

private:
  int fd_;
};

/// "backup: cannot <what> <path>: <strerror(err)>" as backup_failed.
inline caf::error io_error(const char* what, const std::string& path, int err) {
  return make_sy_error(sy_errc::backup_failed,
                       fmt::format("backup: cannot {} {}: {}", what, path, std::strerror(err)));
}

/// Puts the scratch file `from` (consumed) at `target` durably: moved when
/// both are on one file system, copied otherwise, via target + ".partial",
/// fsynced, renamed. Returns the size; a backup_failed error naming target.
caf::expected<std::uint64_t> place_file(const std::string& from, const std::string& target);

} // namespace switchyard::backups::detail

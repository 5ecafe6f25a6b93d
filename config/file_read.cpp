#include "config/file_read.hpp"

#include <cerrno>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace switchyard::config {

namespace {

std::string os_error(int err) {
  return std::generic_category().message(err);
}

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISFIFO(mode))
    return "a FIFO (named pipe)";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a regular file";
}

// Closes the descriptor on every path.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

} // namespace

std::string describe_size(std::size_t bytes) {
  if (bytes >= (std::size_t{1} << 20) && bytes % (std::size_t{1} << 20) == 0)
    return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0)
    return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

std::string read_regular_file(const std::string& path, std::size_t max_bytes, std::string& out) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOCTTY: a
  // terminal named here must not become our controlling terminal.
  fd_guard file{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)};
  if (file.fd < 0)
    return os_error(errno);
  struct stat st {};
  if (::fstat(file.fd, &st) != 0)
    return os_error(errno);
  if (S_ISDIR(st.st_mode))
    return "it is a directory, not a file";
  if (!S_ISREG(st.st_mode))
    return std::string("it is ") + kind_of(st.st_mode) + ", not a regular file";
  if (st.st_size < 0 || static_cast<unsigned long long>(st.st_size) > max_bytes)
    return "it is " + std::to_string(st.st_size) + " bytes; the limit is " +
           describe_size(max_bytes);
  std::string text;
  text.reserve(static_cast<std::size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    auto got = ::read(file.fd, buf, sizeof buf);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      return os_error(errno);
    }
    if (got == 0)
      break;
    text.append(buf, static_cast<std::size_t>(got));
    // The file may grow while it is read: the limit holds for what is read too.
    if (text.size() > max_bytes)
      return "it grew past the limit of " + describe_size(max_bytes) + " while being read";
  }
  out = std::move(text);
  return {};
}

} // namespace switchyard::config

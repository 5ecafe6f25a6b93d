#include "backups/file_io.hpp"

#include <filesystem>
#include <system_error>

#include <fcntl.h>

namespace switchyard::backups::detail {

caf::expected<std::uint64_t> place_file(const std::string& from, const std::string& target) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (auto parent = fs::path(target).parent_path(); !parent.empty())
    fs::create_directories(parent, ec);
  auto partial = target + ".partial";
  fs::rename(from, partial, ec);
  if (ec) // another file system: copied
    fs::copy_file(from, partial, fs::copy_options::overwrite_existing, ec);
  if (!ec) {
    fd_guard f{::open(partial.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.get() < 0 || ::fsync(f.get()) != 0)
      ec = std::error_code{errno, std::generic_category()};
  }
  if (!ec)
    fs::rename(partial, target, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(partial, ignored);
    return make_sy_error(sy_errc::backup_failed,
                         fmt::format("cannot write {}: {}", target, ec.message()));
  }
  return static_cast<std::uint64_t>(fs::file_size(target, ec));
}

} // namespace switchyard::backups::detail

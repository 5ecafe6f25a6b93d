// Destinations: a directory (a POSIX copy to a temporary name, fsynced and
// renamed) or an operator's upload/download/remove commands, run by the exec
// action's process runner (own process group, timeout, output tail).
#include "backups/destination.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "backups/file_io.hpp"
#include "messages/error.hpp"
#include "strategies/actions/exec_action.hpp"

namespace switchyard::backups {

namespace {

using detail::fd_guard;
using detail::io_error;

namespace fs = std::filesystem;

/// How much of a failed command's output goes into the error: the end, where
/// tools print their reason.
constexpr std::size_t output_tail = 2048;

constexpr std::size_t copy_chunk = 256 * 1024;

/// Copies the rest of `in` to `out`: copy_file_range where the kernel can do
/// it (no trip through user space), read/write where it cannot.
caf::expected<void> copy_data(int in, const std::string& from, int out, const std::string& to) {
  bool fast = true;
  bool copied_any = false;
  while (fast) {
    auto n = ::copy_file_range(in, nullptr, out, nullptr, copy_chunk * 16, 0);
    if (n > 0) {
      copied_any = true;
      continue;
    }
    if (n == 0) {
      if (copied_any)
        return {};
      fast = false; // some filesystems report 0 for files they cannot splice: check by reading
    } else if (errno == EINTR) {
      continue;
    } else if (errno == ENOSYS || errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP ||
               errno == ETXTBSY || errno == EPERM) {
      fast = false; // the offsets moved by what was copied, so read/write carries on from there
    } else {
      return make_sy_error(sy_errc::backup_failed, fmt::format("backup: cannot copy {} to {}: {}",
                                                               from, to, std::strerror(errno)));
    }
  }
  std::vector<char> buf(copy_chunk);
  while (true) {
    auto n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return io_error("read", from, errno);
    if (n == 0)
      return {};
    const char* data = buf.data();
    auto left = static_cast<std::size_t>(n);
    while (left > 0) {
      auto written = ::write(out, data, left);
      if (written < 0 && errno == EINTR)
        continue;
      if (written < 0)
        return io_error("write", to, errno);
      data += written;
      left -= static_cast<std::size_t>(written);
    }
  }
}

caf::expected<void> sync_folder(const fs::path& folder) {
  fd_guard dir{::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir.get() < 0 || ::fsync(dir.get()) != 0)
    return io_error("fsync folder", folder.string(), errno);
  return {};
}

caf::expected<void> make_folders(const fs::path& folder) {
  if (folder.empty())
    return {};
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec)
    return io_error("create folder", folder.string(), ec.value());
  return {};
}

/// Copies `from` to `to` through `to`.partial (fsynced, renamed, folder
/// fsynced): `to` is complete or absent. A missing `from` is `missing`.
caf::expected<void> copy_file(const std::string& from, const std::string& to, sy_errc missing) {
  fd_guard in{::open(from.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.get() < 0) {
    if (errno == ENOENT)
      return make_sy_error(missing, fmt::format("backup: {} does not exist", from));
    return io_error("open", from, errno);
  }
  auto folder = fs::path(to).parent_path();
  if (auto ok = make_folders(folder); !ok)
    return ok;
  std::string partial = to + ".partial";
  fd_guard out{::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
  if (out.get() < 0)
    return io_error("create", partial, errno);
  auto result = copy_data(in.get(), from, out.get(), partial);
  if (result && ::fsync(out.get()) != 0)
    result = io_error("fsync", partial, errno);
  if (result && ::close(out.release()) != 0) // NFS reports some write errors only here
    result = io_error("close", partial, errno);
  if (result && ::rename(partial.c_str(), to.c_str()) != 0)
    result = make_sy_error(sy_errc::backup_failed, fmt::format("backup: cannot rename {} to {}: {}",
                                                               partial, to, std::strerror(errno)));
  if (!result) {
    out.reset();
    ::unlink(partial.c_str());
    return result;
  }
  if (auto ok = sync_folder(folder.empty() ? fs::path(".") : folder); !ok) {
    ::unlink(to.c_str()); // not known to be durable: complete or absent
    return ok;
  }
  return {};
}

/// A name must stay inside the destination: relative, without "..".
caf::expected<void> check_name(const std::string& name) {
  fs::path p{name};
  bool escapes = name.empty() || p.is_absolute();
  for (const auto& part : p)
    escapes = escapes || part == "..";
  if (escapes)
    return make_sy_error(sy_errc::backup_failed,
                         fmt::format("backup: invalid artifact name '{}' (must be a relative path "
                                     "without '..')",
                                     name));
  return {};
}

class directory_destination : public destination {
public:
  explicit directory_destination(std::string root) : root_(std::move(root)) {}

  caf::expected<void> put(const std::string& file, const std::string& name) override {
    if (auto ok = check_name(name); !ok)
      return ok;
    return copy_file(file, path_of(name), sy_errc::backup_failed);
  }

  caf::expected<void> get(const std::string& name, const std::string& file) override {
    if (auto ok = check_name(name); !ok)
      return ok;
    return copy_file(path_of(name), file, sy_errc::not_found);
  }

  caf::expected<void> remove(const std::string& name) override {
    if (auto ok = check_name(name); !ok)
      return ok;
    auto path = path_of(name);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return io_error("remove", path, errno);
    return {};
  }

  std::string describe() const override { return "dir " + root_; }

  std::string local_path(const std::string& name) const override {
    return check_name(name) ? path_of(name) : std::string{};
  }

private:
  std::string path_of(const std::string& name) const { return (fs::path(root_) / name).string(); }

  std::string root_;
};

/// `value` as one single-quoted shell word: ' becomes '\''.
std::string shell_quote(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  out += '\'';
  return out;
}

/// Replaces {file} and {name} in one pass, so a value that itself contains
/// "{name}" is never expanded again.
std::string expand(std::string_view command, const std::string& file, const std::string& name) {
  std::string out;
  for (std::size_t i = 0; i < command.size(); ++i) {
    auto rest = command.substr(i);
    if (rest.starts_with("{file}")) {
      out += shell_quote(file);
      i += 5;
    } else if (rest.starts_with("{name}")) {
      out += shell_quote(name);
      i += 5;
    } else {
      out += command[i];
    }
  }
  return out;
}

std::string tail_of(const std::string& output) {
  auto end = output.find_last_not_of(" \r\n\t");
  if (end == std::string::npos)
    return {};
  auto start = end + 1 > output_tail ? end + 1 - output_tail : 0;
  return output.substr(start, end + 1 - start);
}

class exec_destination : public destination {
public:
  explicit exec_destination(config::backup_destination_settings s) : s_(std::move(s)) {}

  caf::expected<void> put(const std::string& file, const std::string& name) override {
    return run("upload", s_.upload, file, name);
  }

  caf::expected<void> get(const std::string& name, const std::string& file) override {
    // The command writes a temporary name, so `file` is complete or absent
    // even when the command is killed halfway.
    std::string partial = file + ".partial";
    if (auto ok = make_folders(fs::path(file).parent_path()); !ok)
      return ok;
    auto result = run("download", s_.download, partial, name);
    struct stat st {};
    if (result && ::stat(partial.c_str(), &st) != 0)
      result = make_sy_error(sy_errc::backup_failed,
                             fmt::format("backup: the download command for {} succeeded but did "
                                         "not create {}",
                                         name, partial));
    if (result && ::rename(partial.c_str(), file.c_str()) != 0)
      result =
          make_sy_error(sy_errc::backup_failed, fmt::format("backup: cannot rename {} to {}: {}",
                                                            partial, file, std::strerror(errno)));
    if (!result)
      ::unlink(partial.c_str());
    return result;
  }

  caf::expected<void> remove(const std::string& name) override {
    if (s_.remove.empty())
      return {}; // retention forgets the artifact; it stays where it is
    return run("remove", s_.remove, "", name);
  }

  std::string describe() const override { return "exec"; }

private:
  caf::expected<void> run(const char* what, const std::string& command, const std::string& file,
                          const std::string& name) {
    if (command.empty())
      return make_sy_error(sy_errc::invalid_config,
                           fmt::format("backup: the exec destination has no {} command", what));
    config::action_settings settings;
    settings.name = fmt::format("backup {}", what);
    settings.type = config::action_type::exec;
    settings.command = expand(command, file, name);
    settings.timeout = s_.timeout;
    strategies::action_context ctx;
    ctx.phase = "backup";
    ctx.step_name = what;
    strategies::exec_action action{std::move(settings)};
    auto result = action.run(ctx);
    if (result.ok)
      return {};
    // The command itself is left out: it may carry credentials.
    std::string why;
    if (result.timed_out)
      why = fmt::format("timed out after {} ms (its process group was killed)", s_.timeout.count());
    else if (result.exit_code >= 0)
      why = fmt::format("failed with exit status {} after {} ms", result.exit_code,
                        result.elapsed.count());
    else
      why = fmt::format("failed: {}", result.detail);
    auto output = tail_of(result.output);
    return make_sy_error(sy_errc::backup_failed,
                         fmt::format("backup: the {} command for {} {}{}{}", what, name, why,
                                     output.empty() ? "" : "; output: ", output));
  }

  config::backup_destination_settings s_;
};

} // namespace

std::unique_ptr<destination> make_destination(const config::backup_destination_settings& s) {
  if (s.is_directory())
    return std::make_unique<directory_destination>(s.path);
  return std::make_unique<exec_destination>(s);
}

} // namespace switchyard::backups

// Directory backups: an archive of a folder's files (full), or of only the
// files that changed since the parent's manifest (incremental). Every archive
// carries the complete manifest of the folder at its point in time, so the
// next incremental and a restore know what was deleted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace switchyard::backups {

struct manifest_entry {
  std::string path; ///< relative to the folder, '/'-separated
  std::uint64_t size = 0;
  std::string sha256;     ///< hex, of the file's content
  std::uint32_t mode = 0; ///< permission bits
  bool operator==(const manifest_entry&) const = default;
};

/// Every regular file under a folder, sorted by path (symlinks and special
/// files are skipped; an error names a file that cannot be read).
using manifest = std::vector<manifest_entry>;

[[nodiscard]] caf::expected<manifest> scan_directory(const std::string& dir);

struct archive_info {
  std::size_t files = 0;        ///< in the folder
  std::size_t files_stored = 0; ///< in the archive (all of them for a full one)
  std::uint64_t bytes_stored = 0;
  manifest contents; ///< the folder's manifest at this point
};

/// Writes the archive of `dir` to the file `archive`: every file when
/// `parent` is null, else only the files that are new or whose content
/// differs from `*parent` (the parent backup's manifest).
[[nodiscard]] caf::expected<archive_info>
write_archive(const std::string& dir, const manifest* parent, const std::string& archive);

/// The manifest an archive carries (without reading its file contents).
[[nodiscard]] caf::expected<manifest> read_manifest(const std::string& archive);

/// Restores into the folder `target` (created; it must be empty or absent)
/// from `archives`: the full one first, then each incremental in order —
/// files written, replaced, and those absent from an archive's manifest
/// deleted. At the end every file is checked against the last manifest
/// (size and SHA-256): a corrupt error naming the first file that differs.
[[nodiscard]] caf::expected<std::size_t> restore_archives(const std::vector<std::string>& archives,
                                                          const std::string& target);

/// A manifest on its own, kept by the exec source between backups so an
/// incremental needs nothing from the destination (backups/manifest_file.cpp).
[[nodiscard]] caf::expected<void> save_manifest(const manifest& m, const std::string& path);
[[nodiscard]] caf::expected<manifest> load_manifest(const std::string& path);

} // namespace switchyard::backups

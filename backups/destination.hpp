// Destinations: where a tier keeps its artifacts. A directory (local disk, a
// mounted share) or an exec uploader/downloader pair (an object store through
// its own CLI). An artifact at a destination is complete or absent, never
// partial.
#pragma once

#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "config/model.hpp"

namespace switchyard::backups {

class destination {
public:
  virtual ~destination() = default;
  /// Stores the local file `file` as `name` (a relative path, e.g.
  /// "web/42-full.zst"; folders are created). Complete or not at all: a
  /// directory copy goes to a temporary name, is fsynced and renamed. A full
  /// or read-only destination is a backup_failed error that says so.
  [[nodiscard]] virtual caf::expected<void> put(const std::string& file,
                                                const std::string& name) = 0;
  /// Copies `name` into the local file `file`; not_found if it is not there.
  [[nodiscard]] virtual caf::expected<void> get(const std::string& name,
                                                const std::string& file) = 0;
  /// Deletes `name`; deleting what is not there is not an error.
  [[nodiscard]] virtual caf::expected<void> remove(const std::string& name) = 0;
  /// For the catalog and messages: "dir /srv/backups" or "exec".
  virtual std::string describe() const = 0;
  /// Where `name` can be read in place (a directory destination), so a
  /// restore need not copy it first; empty: get() it.
  virtual std::string local_path(const std::string& name) const {
    (void)name;
    return {};
  }
};

/// The destination `s` describes (a directory when s.path is set, else the
/// commands).
std::unique_ptr<destination> make_destination(const config::backup_destination_settings& s);

} // namespace switchyard::backups

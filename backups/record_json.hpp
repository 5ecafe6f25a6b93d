// A backup's catalog record as JSON: stored beside each artifact at its
// destination ("<artifact>.json"), so a destination can be read without the
// catalog — which is what rebuilding switchyardd's own database needs
// (switchyardd --restore-state: the catalog is in the database it restores).
#pragma once

#include <string>

#include <caf/expected.hpp>

#include "messages/backup.hpp"

namespace switchyard::backups {

std::string record_to_json(const backup_record& b);
[[nodiscard]] caf::expected<backup_record> record_from_json(const std::string& text);

/// The sidecar's name for an artifact's name.
inline std::string sidecar_name(const std::string& artifact) {
  return artifact + ".json";
}

} // namespace switchyard::backups

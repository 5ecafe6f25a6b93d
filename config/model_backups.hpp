// The backups part of the configuration model (docs/backups.md): the backups
// a service declares (3-2-1), and the policies of tiers Switchyard takes
// them by. Included by config/model.hpp.
#pragma once

#include <string>
#include <vector>

#include "config/model_common.hpp"

namespace switchyard::config {

/// The backups declared for a service's data (objectives.backup), checked
/// against the 3-2-1 rule: at least 3 copies, on 2 kinds of media, 1 offsite.
struct backup_settings {
  int copies = 0;
  int media = 0;
  int offsite = 0;
  bool meets_3_2_1() const { return copies >= 3 && media >= 2 && offsite >= 1; }
  bool operator==(const backup_settings&) const = default;
};

// -- backups (docs/backups.md) ------------------------------------------------

/// Where a tier's artifacts go: a directory (a local disk, a mounted share),
/// or commands that move a file to and from somewhere else (an object store
/// through its own CLI). Commands run with /bin/sh -c after their
/// placeholders are replaced: {file} (a local path), {name} (the artifact's
/// name, a relative path such as "web/42-full.zst").
struct backup_destination_settings {
  std::string path;     ///< a directory (absolute after loading); empty: the commands below
  std::string upload;   ///< stores the local {file} as {name}
  std::string download; ///< fetches {name} into the local {file}
  std::string remove;   ///< deletes {name}; empty: retention forgets, the artifact stays
  milliseconds timeout{600'000}; ///< for each command
  bool is_directory() const { return !path.empty(); }
  bool operator==(const backup_destination_settings&) const = default;
};

/// One tier of a policy: a destination and its schedule and retention.
struct backup_tier_settings {
  std::string name; ///< e.g. local, regional, cross-region, cloud
  backup_destination_settings destination;
  std::string site;              ///< the site the destination is in (3-2-1: offsite)
  std::string medium = "disk";   ///< disk, tape, object-store, ... (3-2-1: media)
  milliseconds every{3'600'000}; ///< a backup of this tier every
  /// A full backup after this many incrementals (0: every backup is full).
  int full_every = 0;
  int keep = 0;             ///< keep the newest N restore points (0: no count limit)
  milliseconds keep_for{0}; ///< and those newer than this (0: no age limit)
  source_mark mark;
  bool operator==(const backup_tier_settings&) const = default;
};

/// A named set of tiers that services (and switchyardd's own state) use.
struct backup_policy_settings {
  std::string name;
  std::vector<backup_tier_settings> tiers;
  int compression_level = 3;    ///< zstd level, 1..19
  milliseconds verify_every{0}; ///< scheduled verification of the newest point (0: on demand)
  source_mark mark;
  bool operator==(const backup_policy_settings&) const = default;
};

/// What a service's backups are taken from.
enum class backup_source_kind : std::uint8_t {
  redis, ///< an RDB from a healthy replica (the primary when there is none)
  exec,  ///< a command that writes {output}: a file, or a directory
};

/// A service's `backup:` section.
struct service_backup_settings {
  std::string policy; ///< a name in backups.policies
  backup_source_kind source = backup_source_kind::redis;
  std::string command;           ///< exec: run with /bin/sh -c, writes {output}
  bool directory = false;        ///< exec: {output} is a directory (incrementals by manifest)
  milliseconds timeout{600'000}; ///< for producing one backup
  source_mark mark;
  bool operator==(const service_backup_settings&) const = default;
};

/// The top-level `backups:` section.
struct backups_settings {
  std::vector<backup_policy_settings> policies;
  /// The policy for switchyardd's own SQLite state; empty: not backed up.
  std::string state_policy;
  /// Scratch space for staging artifacts and test restores (absolute after
  /// loading; default: <data_dir>/backup-work).
  std::string work_dir;
  const backup_policy_settings* find_policy(const std::string& name) const {
    for (const auto& p : policies)
      if (p.name == name)
        return &p;
    return nullptr;
  }
  bool operator==(const backups_settings&) const = default;
};

} // namespace switchyard::config

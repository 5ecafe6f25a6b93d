// Artifacts: what a backup stores at its destination. zstd-compressed
// (Debian's libzstd, streaming, bounded memory) with the SHA-256 of the
// stored bytes, so a copy can be checked anywhere without decompressing it,
// and a corrupt or truncated one is caught before anything is restored.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace switchyard::backups {

/// What packing produced.
struct artifact_info {
  std::uint64_t raw_bytes = 0;    ///< read from the source
  std::uint64_t stored_bytes = 0; ///< written to the artifact
  std::string sha256;             ///< hex, of the artifact's bytes
  std::chrono::milliseconds took{0};
};

/// Compresses the file `source` into the file `target` at zstd `level`
/// (1..19). The artifact is written as `target + ".partial"`, fsynced and
/// renamed (its folder fsynced too): `target` exists only when complete; on
/// any error nothing is left behind and the error names the path and the
/// cause (ENOSPC: "no space left on device").
[[nodiscard]] caf::expected<artifact_info> pack_file(const std::string& source,
                                                     const std::string& target, int level = 3);

/// The same for bytes held in memory (e.g. a changeset).
[[nodiscard]] caf::expected<artifact_info> pack_bytes(std::string_view bytes,
                                                      const std::string& target, int level = 3);

/// The SHA-256 (hex) of a file's bytes.
[[nodiscard]] caf::expected<std::string> sha256_file(const std::string& path);

/// Checks that the artifact's bytes have the SHA-256 `sha256`; a corrupt
/// error naming the file, the expected and the actual sum otherwise.
/// Returns the artifact's size.
[[nodiscard]] caf::expected<std::uint64_t> check_artifact(const std::string& artifact,
                                                          const std::string& sha256);

/// Decompresses `artifact` into the file `target` (via target + ".partial",
/// renamed when complete), checking the SHA-256 of what it reads against
/// `sha256` (empty: not checked) and that the zstd frame is whole. On a
/// mismatch, a damaged or truncated frame: a corrupt error and no target.
/// Returns the decompressed size.
/// `durable`: fsynced before the rename (false for scratch copies that a
/// restore reads once: writing them durably costs a flush of every byte).
[[nodiscard]] caf::expected<std::uint64_t> unpack_file(const std::string& artifact,
                                                       const std::string& sha256,
                                                       const std::string& target,
                                                       bool durable = true);

/// The same into memory.
[[nodiscard]] caf::expected<std::string> unpack_bytes(const std::string& artifact,
                                                      const std::string& sha256);

} // namespace switchyard::backups

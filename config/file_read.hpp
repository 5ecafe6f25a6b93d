// Bounded reads of the files the configuration makes switchyardd read (the
// configuration itself, the tokens file, the TLS PEM files). Only regular
// files are read, and only up to a size limit: /dev/zero, /dev/urandom, a
// FIFO or a huge (e.g. sparse) file is refused with a reason instead of
// exhausting memory or blocking forever. The check happens on a descriptor
// opened with O_NONBLOCK (opening a FIFO that way never waits for a writer),
// before anything is read.
#pragma once

#include <cstddef>
#include <string>

namespace switchyard::config {

/// Largest configuration file read (16 MiB: a fleet of 10,000 instances is ~2 MiB).
inline constexpr std::size_t max_config_file_bytes = std::size_t{16} << 20;
/// Largest tokens file read (1 MiB: thousands of tokens).
inline constexpr std::size_t max_tokens_file_bytes = std::size_t{1} << 20;
/// Largest TLS PEM file read (1 MiB: a long certificate chain is a few KiB).
inline constexpr std::size_t max_pem_file_bytes = std::size_t{1} << 20;

/// "16 MiB", "1 MiB", "512 KiB", "100 bytes".
std::string describe_size(std::size_t bytes);

/// Reads the whole regular file at `path` into `out` when it holds at most
/// `max_bytes`. Returns "" on success, otherwise why it was not read (e.g.
/// "No such file or directory", "it is a directory, not a file", "it is a
/// character device, not a regular file", "it is 20971520 bytes; the limit
/// is 16 MiB"), for messages like "cannot read <path>: <why>".
std::string read_regular_file(const std::string& path, std::size_t max_bytes, std::string& out);

} // namespace switchyard::config

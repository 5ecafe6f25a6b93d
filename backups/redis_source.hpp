// Redis as a backup source: a point-in-time RDB of a running redis-server.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/expected.hpp>

namespace switchyard::backups {

struct rdb_dump {
  std::uint64_t bytes = 0;
  std::int64_t lastsave = 0; ///< the server's LASTSAVE after the save (unix seconds)
  std::chrono::milliseconds took{0};
};

/// Fetches an RDB from the Redis at `address` ("host:port") into the local
/// file `target` over Redis's replication protocol (REPLCONF rdb-only, then
/// SYNC: what `redis-cli --rdb` does): the server forks a BGSAVE for it and
/// streams the result, so switchyardd needs no access to the Redis host's
/// disk. Both the disk-based ($<len>) and the diskless ($EOF:<mark>) transfer
/// are read. Written to target + ".partial", checked (the "REDIS" magic),
/// fsynced and renamed. Everything within `timeout`.
[[nodiscard]] caf::expected<rdb_dump>
fetch_rdb(const std::string& address, const std::string& target, std::chrono::milliseconds timeout);

/// BGSAVE on the Redis at `address` and waits (polling LASTSAVE and INFO
/// persistence) until that save completed: LASTSAVE advanced past its value
/// before, rdb_bgsave_in_progress:0 and rdb_last_bgsave_status:ok. A save
/// already running is waited for and then a new one is started. Returns the
/// path of the RDB on the server (CONFIG GET dir + dbfilename).
[[nodiscard]] caf::expected<std::string> bgsave_and_wait(const std::string& address,
                                                         std::chrono::milliseconds timeout);

/// The number of keys in each database of the Redis at `address` (INFO
/// keyspace), summed: for verification.
[[nodiscard]] caf::expected<std::uint64_t> key_count(const std::string& address,
                                                     std::chrono::milliseconds timeout);

} // namespace switchyard::backups

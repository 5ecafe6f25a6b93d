// A throwaway redis-server for checking an RDB: started on a unix socket in
// a scratch folder (no TCP port), loaded from the file, stopped and reaped
// when the object goes. And the few Redis calls the backup code makes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <sys/types.h>

namespace switchyard::backups {

/// One command to the Redis at `address` ("host:port" or a unix socket
/// path): its reply flattened to text (a bulk or status as is, an integer as
/// digits); a Redis error reply is an error.
[[nodiscard]] caf::expected<std::string> redis_call(const std::string& address,
                                                    const std::vector<std::string>& args,
                                                    std::chrono::milliseconds timeout);

/// What an RDB holds, as far as a check needs: the key count and, for a
/// sample of keys, the SHA-256 of their DUMP.
struct rdb_facts {
  std::uint64_t keys = 0;
  std::map<std::string, std::string> sample; ///< key -> sha256(DUMP key)
};

class scratch_redis {
public:
  /// Starts redis-server in `dir` on `dir`/dump.rdb (which must be there)
  /// and waits (bounded by `timeout`) until it has loaded it.
  [[nodiscard]] static caf::expected<std::unique_ptr<scratch_redis>>
  start(const std::string& dir, std::chrono::milliseconds timeout);
  ~scratch_redis();
  scratch_redis(const scratch_redis&) = delete;
  scratch_redis& operator=(const scratch_redis&) = delete;

  const std::string& address() const { return socket_; }
  /// Key count and up to `sample_size` keys' DUMP sums.
  [[nodiscard]] caf::expected<rdb_facts> facts(std::size_t sample_size,
                                               std::chrono::milliseconds timeout);
  /// The DUMP sums of `keys` (a missing key: an empty sum).
  [[nodiscard]] caf::expected<std::map<std::string, std::string>>
  dump_sums(const std::vector<std::string>& keys, std::chrono::milliseconds timeout);

private:
  scratch_redis(pid_t pid, std::string socket, std::string log)
      : pid_(pid), socket_(std::move(socket)), log_(std::move(log)) {}
  pid_t pid_;
  std::string socket_;
  std::string log_;
};

/// Loads the RDB file `rdb` into a scratch redis-server under `scratch` and
/// reads its facts.
[[nodiscard]] caf::expected<rdb_facts> read_rdb_facts(const std::string& rdb,
                                                      const std::string& scratch,
                                                      std::chrono::milliseconds timeout);

} // namespace switchyard::backups

// How many audit rows of refused calls one caller's address may cause: a
// token bucket per peer address. Beyond it the calls are still refused, but
// their rows are not written; they are counted, and the next row recorded for
// that address says how many were left out. Pure logic with an explicit clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace switchyard::actors {

class refusal_limiter {
public:
  using clock = std::chrono::steady_clock;

  struct settings {
    double burst = 20;                      ///< rows a quiet address may cause at once
    std::chrono::milliseconds refill{3000}; ///< then one more row per this long
    std::size_t max_addresses = 4096;       ///< beyond: new addresses share one bucket
  };

  struct verdict {
    bool record = true; ///< write this refusal's audit row
    /// With `record`: refusals from this address left out since its last row.
    std::uint64_t left_out = 0;
    /// Without `record`: this is the first refusal left out since the last row.
    bool first_left_out = false;
  };

  refusal_limiter() : refusal_limiter(settings{}) {}
  explicit refusal_limiter(settings s) : settings_(s) {}

  /// One refused call from `address` (see peer_address) at `now`.
  verdict admit(const std::string& address, clock::time_point now);

  /// Rows left out so far, all addresses.
  [[nodiscard]] std::uint64_t left_out_total() const;
  /// Addresses tracked (bounded by max_addresses + 1).
  [[nodiscard]] std::size_t addresses() const;

  /// The key of an address shared by the addresses beyond max_addresses.
  static constexpr std::string_view overflow_key = "(other addresses)";

private:
  struct bucket {
    double tokens = 0;
    clock::time_point updated;
    std::uint64_t left_out = 0;
  };

  void refill(bucket& b, clock::time_point now) const;
  void forget_idle(clock::time_point now);

  settings settings_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, bucket> buckets_;
  std::uint64_t left_out_total_ = 0;
  clock::time_point last_sweep_{};
};

/// The address of a gRPC peer without its port: "ipv4:127.0.0.1:5555" ->
/// "ipv4:127.0.0.1", "ipv6:[::1]:5555" -> "ipv6:[::1]" (also URL-encoded
/// brackets); anything else as is.
std::string peer_address(std::string_view peer);

} // namespace switchyard::actors

#include "api/refusal_limiter.hpp"

#include <algorithm>

namespace switchyard::actors {

void refusal_limiter::refill(bucket& b, clock::time_point now) const {
  if (now <= b.updated)
    return;
  auto elapsed = std::chrono::duration<double, std::milli>(now - b.updated).count();
  auto per_ms = 1.0 / static_cast<double>(std::max<std::int64_t>(1, settings_.refill.count()));
  b.tokens = std::min(settings_.burst, b.tokens + elapsed * per_ms);
  b.updated = now;
}

// Drops the buckets that are full again and owe no count of left-out rows:
// they hold nothing a fresh bucket would not. At most once a second.
void refusal_limiter::forget_idle(clock::time_point now) {
  if (last_sweep_ != clock::time_point{} && now - last_sweep_ < std::chrono::seconds(1))
    return;
  last_sweep_ = now;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now);
    if (it->second.tokens >= settings_.burst && it->second.left_out == 0)
      it = buckets_.erase(it);
    else
      ++it;
  }
}

refusal_limiter::verdict refusal_limiter::admit(const std::string& address, clock::time_point now) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto it = buckets_.find(address);
  if (it == buckets_.end()) {
    if (buckets_.size() >= settings_.max_addresses)
      forget_idle(now);
    const auto& key =
        buckets_.size() >= settings_.max_addresses ? std::string{overflow_key} : address;
    it = buckets_.try_emplace(key, bucket{settings_.burst, now, 0}).first;
  }
  auto& b = it->second;
  refill(b, now);
  verdict v;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    v.left_out = b.left_out;
    b.left_out = 0;
    return v;
  }
  v.record = false;
  v.first_left_out = b.left_out == 0;
  ++b.left_out;
  ++left_out_total_;
  return v;
}

std::uint64_t refusal_limiter::left_out_total() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return left_out_total_;
}

std::size_t refusal_limiter::addresses() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return buckets_.size();
}

std::string peer_address(std::string_view peer) {
  constexpr std::string_view ipv4 = "ipv4:";
  constexpr std::string_view ipv6 = "ipv6:";
  if (peer.substr(0, ipv4.size()) == ipv4) {
    auto colon = peer.rfind(':');
    return std::string{colon > ipv4.size() - 1 ? peer.substr(0, colon) : peer};
  }
  if (peer.substr(0, ipv6.size()) == ipv6) {
    // "[::1]:port", or URL-encoded "%5B::1%5D:port" in some gRPC versions.
    if (auto bracket = peer.rfind(']'); bracket != std::string_view::npos)
      return std::string{peer.substr(0, bracket + 1)};
    if (auto encoded = peer.rfind("%5D"); encoded != std::string_view::npos)
      return std::string{peer.substr(0, encoded + 3)};
  }
  return std::string{peer};
}

} // namespace switchyard::actors

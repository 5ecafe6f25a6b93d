// How many calls of one kind the API serves at once, in total and per token
// (api.max_watch_streams and its per-token twin, api.max_long_calls and its):
// a slot is taken when such a call starts and given back when it ends; a call
// beyond either limit is refused with a message that names the limit.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace switchyard::config {
struct api_settings;
}

namespace switchyard::actors {

class concurrency_limit {
public:
  /// `what`: the calls counted, in a sentence ("WatchEvents streams open");
  /// `total_key`, `per_token_key`: the configuration keys of the limits.
  concurrency_limit(std::string what, std::size_t total, std::string total_key,
                    std::size_t per_token, std::string per_token_key);

  /// One call's place; given back when destroyed (movable, it may outlive
  /// the limit that issued it). An empty slot says why it was refused.
  class slot {
  public:
    slot() = default;
    slot(slot&& other) noexcept = default;
    slot& operator=(slot&& other) noexcept;
    slot(const slot&) = delete;
    slot& operator=(const slot&) = delete;
    ~slot();

    bool held() const { return state_ != nullptr; }
    /// Why it was refused (empty when held).
    const std::string& refusal() const { return refusal_; }
    /// Gives the place back now (idempotent).
    void release();

  private:
    friend class concurrency_limit;
    struct state;
    std::shared_ptr<state> state_;
    std::string token_;
    std::string refusal_;
  };

  /// A slot for a call by `token` (the token's name), or an empty one that
  /// says which limit refused it.
  slot acquire(const std::string& token);

  std::size_t in_use() const;
  std::size_t in_use(const std::string& token) const;

private:
  std::string what_;
  std::size_t total_;
  std::string total_key_;
  std::size_t per_token_;
  std::string per_token_key_;
  std::shared_ptr<slot::state> state_;
};

/// api.max_watch_streams and api.max_watch_streams_per_token.
concurrency_limit watch_stream_limit(const config::api_settings& api);
/// api.max_long_calls and api.max_long_calls_per_token: RequestSwitchover,
/// RequestFailover, SiteSwitchover and Drill.
concurrency_limit long_call_limit(const config::api_settings& api);

/// The short calls (everything but the long ones and WatchEvents) that may
/// hold a thread of gRPC's synchronous server at once.
constexpr int short_call_threads = 128;
/// The most threads gRPC's synchronous server may run: one per long call in
/// flight plus short_call_threads. Beyond it a call is refused at once
/// (RESOURCE_EXHAUSTED) instead of growing a thread.
int sync_server_threads(const config::api_settings& api);

struct concurrency_limit::slot::state {
  mutable std::mutex mutex;
  std::size_t in_use = 0;
  std::unordered_map<std::string, std::size_t> by_token;
};

} // namespace switchyard::actors

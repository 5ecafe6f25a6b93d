#include "api/api_concurrency.hpp"

#include <fmt/format.h>

#include "config/model.hpp"

namespace switchyard::actors {

concurrency_limit::concurrency_limit(std::string what, std::size_t total, std::string total_key,
                                     std::size_t per_token, std::string per_token_key)
    : what_(std::move(what)), total_(total), total_key_(std::move(total_key)),
      per_token_(per_token), per_token_key_(std::move(per_token_key)),
      state_(std::make_shared<slot::state>()) {}

concurrency_limit::slot concurrency_limit::acquire(const std::string& token) {
  slot s;
  std::lock_guard<std::mutex> guard{state_->mutex};
  auto& mine = state_->by_token[token];
  if (mine >= per_token_) {
    if (mine == 0)
      state_->by_token.erase(token);
    s.refusal_ = fmt::format("'{}' already has {} {}, the most one token may have ({}); "
                             "end one or raise the limit",
                             token, per_token_, what_, per_token_key_);
    return s;
  }
  if (state_->in_use >= total_) {
    if (mine == 0)
      state_->by_token.erase(token);
    s.refusal_ = fmt::format("switchyardd already has {} {}, the most it serves at once ({}); "
                             "try again when one has ended, or raise the limit",
                             total_, what_, total_key_);
    return s;
  }
  ++mine;
  ++state_->in_use;
  s.state_ = state_;
  s.token_ = token;
  return s;
}

std::size_t concurrency_limit::in_use() const {
  std::lock_guard<std::mutex> guard{state_->mutex};
  return state_->in_use;
}

std::size_t concurrency_limit::in_use(const std::string& token) const {
  std::lock_guard<std::mutex> guard{state_->mutex};
  auto it = state_->by_token.find(token);
  return it == state_->by_token.end() ? 0 : it->second;
}

concurrency_limit::slot& concurrency_limit::slot::operator=(slot&& other) noexcept {
  if (this != &other) {
    release();
    state_ = std::move(other.state_);
    token_ = std::move(other.token_);
    refusal_ = std::move(other.refusal_);
  }
  return *this;
}

concurrency_limit::slot::~slot() {
  release();
}

void concurrency_limit::slot::release() {
  if (!state_)
    return;
  {
    std::lock_guard<std::mutex> guard{state_->mutex};
    --state_->in_use;
    auto it = state_->by_token.find(token_);
    if (it != state_->by_token.end() && --it->second == 0)
      state_->by_token.erase(it);
  }
  state_.reset();
}

concurrency_limit watch_stream_limit(const config::api_settings& api) {
  return {"WatchEvents streams open", static_cast<std::size_t>(api.max_watch_streams),
          "api.max_watch_streams", static_cast<std::size_t>(api.max_watch_streams_per_token),
          "api.max_watch_streams_per_token"};
}

concurrency_limit long_call_limit(const config::api_settings& api) {
  return {"long calls in flight (switchovers, failovers, site switchovers, drills)",
          static_cast<std::size_t>(api.max_long_calls), "api.max_long_calls",
          static_cast<std::size_t>(api.max_long_calls_per_token), "api.max_long_calls_per_token"};
}

int sync_server_threads(const config::api_settings& api) {
  return api.max_long_calls + short_call_threads;
}

} // namespace switchyard::actors

// The optimistic, fenced read-decide-write loop every write of the replicated
// state goes through (replicated_state.cpp, replicated_operations.cpp):
// read the keys, decide, write in one transaction fenced by the writer's
// leader epoch and guarded by the revisions read; again when a guard failed
// while the writer still leads. Internal to cluster/.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "cluster/etcd_client.hpp"
#include "cluster/replicated_state.hpp"
#include "messages/error.hpp"

namespace switchyard::cluster::detail {

/// What one optimistic attempt writes, and the compares that must still hold.
struct write_plan {
  std::vector<txn_op> ops;
  std::vector<compare> guards;
};

/// Wall clock, milliseconds since the epoch.
[[nodiscard]] std::int64_t now_ms();

/// A stale refusal (is_stale_refusal): already_in_progress when something
/// newer is in the way, unknown_switchover when the key holds another's work.
[[nodiscard]] caf::error stale(sy_errc code, const std::string& why);

/// The key as read still is: same mod revision, or still absent.
[[nodiscard]] compare unchanged(const std::string& key, const std::optional<key_value>& read);

/// Runs `prepare` (read, check, decide) and its fenced write until the write
/// holds, a refusal is final, or a few guards failed in a row.
[[nodiscard]] caf::expected<std::int64_t>
write_fenced(const etcd_client& client, const std::string& leader_key, const state_writer& by,
             const std::function<caf::expected<write_plan>()>& prepare);

} // namespace switchyard::cluster::detail

// Writes fenced by the leader's epoch: every switchover step goes through
// fenced_write, so a deposed leader's step is refused by etcd itself, not
// merely skipped by its own politeness.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "cluster/etcd_client.hpp"
#include "rules/lease_rules.hpp"

namespace switchyard::cluster {

/// The leader key as etcd holds it now (nullopt: nobody leads).
[[nodiscard]] caf::expected<std::optional<leader_record>>
read_leader(const etcd_client& client, const std::string& leader_key);

/// Applies `ops` (puts and erases) in one transaction, only if the leader key
/// was created at revision `epoch` (it still exists, and it is the same key:
/// a successor's has a higher create revision) and every `guards` compare
/// holds. Returns the revision of the write. When the compare fails:
/// failover_blocked, "refused: not leader (epoch 12, leader key now held by
/// "b" at epoch 17)", and nothing was written. When etcd does not answer:
/// unavailable, and the outcome is unknown (the step must be idempotent).
[[nodiscard]] caf::expected<std::int64_t>
fenced_write(const etcd_client& client, const std::string& leader_key, leader_epoch epoch,
             const std::vector<txn_op>& ops, const std::vector<compare>& guards = {});

/// Whether `err` is fenced_write's refusal (nothing written), as opposed to a
/// failure to reach etcd (outcome unknown).
[[nodiscard]] bool is_fencing_refusal(const caf::error& err);

} // namespace switchyard::cluster

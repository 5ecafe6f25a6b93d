#include "cluster/fencing.hpp"

#include "messages/error.hpp"

namespace switchyard::cluster {

namespace {

std::optional<leader_record> record_of(const std::vector<key_value>& read) {
  if (read.empty())
    return std::nullopt;
  const auto& kv = read.front();
  return leader_record{kv.value, leader_epoch{kv.create_revision}, kv.lease};
}

std::string holder_text(const std::optional<leader_record>& holder) {
  if (!holder)
    return "absent";
  return "held by \"" + holder->id + "\" at epoch " + std::to_string(holder->epoch.value);
}

} // namespace

caf::expected<std::optional<leader_record>> read_leader(const etcd_client& client,
                                                        const std::string& leader_key) {
  auto kv = client.get(leader_key);
  if (!kv)
    return kv.error();
  if (!*kv)
    return std::optional<leader_record>{};
  return std::optional<leader_record>{
      leader_record{(*kv)->value, leader_epoch{(*kv)->create_revision}, (*kv)->lease}};
}

caf::expected<std::int64_t> fenced_write(const etcd_client& client, const std::string& leader_key,
                                         leader_epoch epoch, const std::vector<txn_op>& ops,
                                         const std::vector<compare>& guards) {
  std::vector<compare> compares{compare::revision_is(leader_key, epoch.value)};
  compares.insert(compares.end(), guards.begin(), guards.end());
  // The failure branch reads the leader key in the same transaction, so the
  // refusal names the holder that made the compare fail.
  auto result = client.txn(compares, ops, {txn_op::get(leader_key)});
  if (!result)
    return result.error();
  if (result->succeeded)
    return result->revision;
  auto holder = result->reads.empty() ? std::nullopt : record_of(result->reads.front());
  auto epoch_text = "epoch " + std::to_string(epoch.value);
  if (holder && holder->epoch == epoch)
    return make_sy_error(sy_errc::failover_blocked,
                         "refused: a guard of the write no longer holds (still leader at " +
                             epoch_text + ")");
  return make_sy_error(sy_errc::failover_blocked, "refused: not leader (" + epoch_text +
                                                      ", leader key now " + holder_text(holder) +
                                                      ")");
}

bool is_fencing_refusal(const caf::error& err) {
  return err == sy_errc::failover_blocked;
}

} // namespace switchyard::cluster

#include "cluster/fenced_update.hpp"

#include <chrono>

#include "cluster/fencing.hpp"

namespace switchyard::cluster::detail {

namespace {

// A write is retried when one of its guards failed while we still lead: the
// keys changed between our read and our write (another step of ours was
// recorded meanwhile). More than a few in a row means something is wrong.
constexpr int max_attempts = 5;

} // namespace

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

caf::error stale(sy_errc code, const std::string& why) {
  return make_sy_error(code, "refused: stale: " + why);
}

compare unchanged(const std::string& key, const std::optional<key_value>& read) {
  if (!read)
    return compare::absent(key);
  return {key, compare::target::mod_revision, compare::result::equal, read->mod_revision, {}};
}

caf::expected<std::int64_t>
write_fenced(const etcd_client& client, const std::string& leader_key, const state_writer& by,
             const std::function<caf::expected<write_plan>()>& prepare) {
  for (int attempt = 1;; ++attempt) {
    auto plan = prepare();
    if (!plan)
      return plan.error();
    auto written = fenced_write(client, leader_key, by.epoch, plan->ops, plan->guards);
    if (written || !is_fencing_refusal(written.error()))
      return written;
    // etcd does not say which compare failed. A leader key at our epoch now
    // was there at the write too (a key never comes back with the same create
    // revision), so one of our guards failed: read again and decide again.
    // Any other answer (a successor, no key, etcd silent) keeps the refusal.
    auto holder = read_leader(client, leader_key);
    if (!holder || !*holder || (*holder)->epoch != by.epoch)
      return written.error();
    if (attempt == max_attempts)
      return stale(sy_errc::already_in_progress, "the keys changed between read and write " +
                                                     std::to_string(max_attempts) +
                                                     " times in a row");
  }
}

} // namespace switchyard::cluster::detail

// The replicated state of operations that outlive a leader (replicated_state.hpp):
// maintenance windows, and the site switchover in flight. Same fenced,
// guarded writes as the switchover intents.
#include <fmt/format.h>

#include "cluster/fenced_update.hpp"
#include "cluster/replicated_state.hpp"
#include "cluster/replicated_state_codec.hpp"

namespace switchyard::cluster {

namespace {

using detail::stale;
using detail::unchanged;
using detail::write_fenced;
using detail::write_plan;

std::string describe_site(const site_in_flight& s) {
  return fmt::format("site {} #{} ({} -> {}, {}) of leader \"{}\" (leader epoch {})",
                     to_string(s.record.operation), s.record.id, s.record.from_site,
                     s.record.to_site, to_string(s.record.state), s.leader_id, s.written_by.value);
}

// The site key as read, and the site switchover it holds, if any (a
// malformed value is an error: it must not be overwritten unread).
struct site_read {
  std::optional<key_value> kv;
  std::optional<site_in_flight> site;
};

caf::expected<site_read> read_site(const etcd_client& client, const std::string& key) {
  auto kv = client.get(key);
  if (!kv)
    return kv.error();
  site_read out{*kv, std::nullopt};
  if (out.kv) {
    auto s = detail::decode_site(*out.kv);
    if (!s)
      return s.error();
    out.site = std::move(*s);
  }
  return out;
}

} // namespace

std::string replicated_state::maintenance_key(const service_id& service,
                                              const instance_id& instance) const {
  return prefix_ + "/maintenance/" + service.value + "/" + instance.value;
}

caf::expected<std::int64_t> replicated_state::record_backup(const state_writer& by,
                                                            const replicated_backup& b) const {
  if (b.record.service.empty() || b.node.empty() || b.record.id <= 0)
    return make_sy_error(sy_errc::invalid_config,
                         "replicated state: a backup needs its service, node and id");
  auto key = fmt::format("{}/backups/{}/{}/{}", prefix_, b.record.service, b.node, b.record.id);
  return write_fenced(client_, leader_key_, by, [&]() -> caf::expected<write_plan> {
    return write_plan{{txn_op::put(key, detail::encode(b))}, {}};
  });
}

caf::expected<std::int64_t> replicated_state::forget_backup(const state_writer& by,
                                                            const std::string& service,
                                                            const std::string& node,
                                                            std::int64_t id) const {
  auto key = fmt::format("{}/backups/{}/{}/{}", prefix_, service, node, id);
  return write_fenced(client_, leader_key_, by, [&]() -> caf::expected<write_plan> {
    return write_plan{{txn_op::erase(key)}, {}};
  });
}

std::string replicated_state::site_key() const {
  return prefix_ + "/site";
}

caf::expected<std::int64_t>
replicated_state::record_maintenance(const state_writer& by, const maintenance_record& m) const {
  if (m.service.value.empty())
    return make_sy_error(sy_errc::unknown_service, "replicated state: empty service name");
  auto key = maintenance_key(m.service, m.instance);
  return write_fenced(client_, leader_key_, by, [&]() -> caf::expected<write_plan> {
    return write_plan{{txn_op::put(key, detail::encode(m))}, {}};
  });
}

caf::expected<std::int64_t> replicated_state::clear_maintenance(const state_writer& by,
                                                                const service_id& service,
                                                                const instance_id& instance) const {
  auto key = maintenance_key(service, instance);
  return write_fenced(client_, leader_key_, by, [&]() -> caf::expected<write_plan> {
    return write_plan{{txn_op::erase(key)}, {}};
  });
}

caf::expected<std::int64_t> replicated_state::record_site(const state_writer& by,
                                                          const site_record& r) const {
  auto key = site_key();
  site_in_flight next{r, by.leader_id, by.epoch, 0};
  return write_fenced(client_, leader_key_, by, [&]() -> caf::expected<write_plan> {
    auto read = read_site(client_, key);
    if (!read)
      return read.error();
    const auto& stored = read->site;
    // Ours: this leader's switchover, or one it claimed (take_over_site) before
    // its journal gave it an id.
    bool ours = stored && stored->leader_id == by.leader_id &&
                (stored->record.id == r.id || stored->record.id == 0);
    if (stored && !ours)
      return stale(sy_errc::already_in_progress,
                   describe_site(*stored) +
                       " is in flight: no other site switchover may be journaled until the "
                       "leader has carried it on");
    if (r.finished_ms != 0) // finished: nothing is left for a successor
      return write_plan{{txn_op::erase(key)}, {unchanged(key, read->kv)}};
    return write_plan{{txn_op::put(key, detail::encode(next))}, {unchanged(key, read->kv)}};
  });
}

caf::expected<std::int64_t> replicated_state::take_over_site(const state_writer& by,
                                                             const std::string& previous_leader,
                                                             std::int64_t previous_id,
                                                             const site_record& r) const {
  auto key = site_key();
  site_in_flight next{r, by.leader_id, by.epoch, 0};
  return write_fenced(client_, leader_key_, by, [&]() -> caf::expected<write_plan> {
    auto read = read_site(client_, key);
    if (!read)
      return read.error();
    const auto& stored = read->site;
    auto which = fmt::format("site switchover #{} of leader \"{}\"", previous_id, previous_leader);
    if (!stored)
      return stale(sy_errc::unknown_switchover, which + " is not in flight any more");
    if (stored->leader_id != previous_leader || stored->record.id != previous_id)
      return stale(sy_errc::unknown_switchover,
                   which + " is not in flight: the key holds " + describe_site(*stored));
    return write_plan{{txn_op::put(key, detail::encode(next))}, {unchanged(key, read->kv)}};
  });
}

} // namespace switchyard::cluster

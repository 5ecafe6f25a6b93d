#include "cluster/replicated_state.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <iterator>
#include <limits>
#include <optional>

#include "cluster/fenced_update.hpp"
#include "cluster/replicated_state_codec.hpp"
#include "messages/error.hpp"

namespace switchyard::cluster {

namespace {

using detail::decode_intent;
using detail::decode_topology;
using detail::encode;
using detail::now_ms;
using detail::stale;
using detail::unchanged;
using detail::write_fenced;
using detail::write_plan;

std::string describe_intent(const switchover_intent& in) {
  return "switchover " + std::to_string(in.id.value) + " of \"" + in.service.value + "\" (" +
         in.from.value + " -> " + in.to.value + ", epoch " + std::to_string(in.new_epoch.value) +
         ", written by \"" + in.leader_id + "\" at leader epoch " +
         std::to_string(in.written_by.value) + ")";
}

// The service's intent, checked to be switchover `id`'s.
caf::expected<switchover_intent> expect_intent(const std::optional<key_value>& kv,
                                               const service_id& service, switchover_id id) {
  auto which = "switchover " + std::to_string(id.value) + " of \"" + service.value + "\"";
  if (!kv)
    return stale(sy_errc::unknown_switchover, which + " is not in flight (no intent)");
  auto in = decode_intent(*kv, service);
  if (!in)
    return in.error();
  if (in->id != id)
    return stale(sy_errc::unknown_switchover,
                 which + " is not in flight: the intent is " + describe_intent(*in));
  return in;
}

// Refuses a topology whose epoch is lower than the stored one's.
caf::expected<void> expect_not_older(const std::optional<key_value>& kv, const service_id& service,
                                     const topology_record& next) {
  if (!kv)
    return {};
  auto stored = decode_topology(*kv, service);
  if (!stored)
    return stored.error();
  if (stored->service_epoch > next.service_epoch)
    return stale(sy_errc::already_in_progress,
                 "the topology of \"" + service.value + "\" is at epoch " +
                     std::to_string(stored->service_epoch.value) + " (primary " +
                     stored->primary.value + "), higher than epoch " +
                     std::to_string(next.service_epoch.value) + " (primary " + next.primary.value +
                     ")");
  return {};
}

topology_record stamped(const topology_record& t, const state_writer& by) {
  auto out = t;
  out.written_by = by.epoch;
  if (out.at_ms == 0)
    out.at_ms = now_ms();
  return out;
}

caf::error no_service() {
  return make_sy_error(sy_errc::unknown_service, "replicated state: empty service name");
}

} // namespace

const char* to_string(step_progress x) {
  static constexpr const char* names[] = {"pending", "running", "done", "failed"};
  auto i = static_cast<std::size_t>(x);
  return i < std::size(names) ? names[i] : "?";
}

std::vector<intent_step> steps_of(const std::vector<plan_step>& plan) {
  std::vector<intent_step> out;
  for (const auto& s : plan)
    out.push_back({s.sequence, s.name, s.phase, step_progress::pending});
  return out;
}

bool is_stale_refusal(const caf::error& err) {
  return err == sy_errc::already_in_progress || err == sy_errc::unknown_switchover;
}

replicated_state::replicated_state(etcd_client client, std::string prefix, std::string leader_key)
    : client_(std::move(client)), prefix_(std::move(prefix)), leader_key_(std::move(leader_key)) {
  while (!prefix_.empty() && prefix_.back() == '/')
    prefix_.pop_back();
}

std::string replicated_state::topology_key(const service_id& service) const {
  return prefix_ + "/topology/" + service.value;
}

std::string replicated_state::intent_key(const service_id& service) const {
  return prefix_ + "/intent/" + service.value;
}

caf::expected<replicated_snapshot> replicated_state::load() const {
  // One read-only transaction: every prefix at the same revision.
  auto topo_prefix = prefix_ + "/topology/";
  auto intent_prefix = prefix_ + "/intent/";
  auto maintenance_prefix = prefix_ + "/maintenance/";
  auto backups_prefix = prefix_ + "/backups/";
  auto read = client_.txn({},
                          {txn_op::get_prefix(topo_prefix), txn_op::get_prefix(intent_prefix),
                           txn_op::get_prefix(maintenance_prefix), txn_op::get(site_key()),
                           txn_op::get_prefix(backups_prefix)},
                          {});
  if (!read)
    return read.error();
  if (read->reads.size() != 5)
    return make_sy_error(sy_errc::unavailable, "replicated state: etcd answered a snapshot of 5 "
                                               "reads with " +
                                                   std::to_string(read->reads.size()));
  replicated_snapshot out;
  out.revision = read->revision;
  // The service is the rest of the key; one malformed value fails the load: a
  // successor must not decide on a snapshot with an intent left out.
  auto fill = [](const std::vector<key_value>& kvs, std::size_t skip, auto& into,
                 auto decode) -> caf::error {
    for (const auto& kv : kvs) {
      service_id service{kv.key.substr(skip)};
      auto value = decode(kv, service);
      if (!value)
        return value.error();
      into.emplace(service, std::move(*value));
    }
    return {};
  };
  if (auto err = fill(read->reads[0], topo_prefix.size(), out.topology, decode_topology))
    return err;
  if (auto err = fill(read->reads[1], intent_prefix.size(), out.intents, decode_intent))
    return err;
  for (const auto& kv : read->reads[2]) {
    auto m = detail::decode_maintenance(kv);
    if (!m)
      return m.error();
    out.maintenance.push_back(std::move(*m));
  }
  if (!read->reads[3].empty()) {
    auto site = detail::decode_site(read->reads[3].front());
    if (!site)
      return site.error();
    out.site = std::move(*site);
  }
  for (const auto& kv : read->reads[4]) {
    auto b = detail::decode_backup(kv);
    if (!b)
      return b.error();
    out.backups.push_back(std::move(*b));
  }
  return out;
}

caf::expected<std::int64_t>
replicated_state::record_topology(const state_writer& by, const topology_record& topology) const {
  if (topology.service.value.empty())
    return no_service();
  auto key = topology_key(topology.service);
  return write_fenced(client_, leader_key_, by, [&]() -> caf::expected<write_plan> {
    auto kv = client_.get(key);
    if (!kv)
      return kv.error();
    if (auto ok = expect_not_older(*kv, topology.service, topology); !ok)
      return ok.error();
    return write_plan{{txn_op::put(key, encode(stamped(topology, by)))}, {unchanged(key, *kv)}};
  });
}

caf::expected<std::int64_t> replicated_state::begin_intent(const state_writer& by,
                                                           const switchover_intent& intent) const {
  if (intent.service.value.empty())
    return no_service();
  auto key = intent_key(intent.service);
  auto next = intent;
  next.leader_id = by.leader_id;
  next.written_by = by.epoch;
  if (next.started_ms == 0)
    next.started_ms = now_ms();
  auto topo_key = topology_key(intent.service);
  return write_fenced(client_, leader_key_, by, [&]() -> caf::expected<write_plan> {
    auto kv = client_.get(key);
    if (!kv)
      return kv.error();
    auto topo = client_.get(topo_key);
    if (!topo)
      return topo.error();
    // The switchover must start from the replicated primary, to a newer
    // epoch: a leader whose own view is stale is refused here.
    if (*topo) {
      auto stored = decode_topology(**topo, intent.service);
      if (!stored)
        return stored.error();
      if (stored->primary != intent.from || stored->service_epoch >= intent.new_epoch)
        return stale(sy_errc::already_in_progress,
                     "the replicated primary of \"" + intent.service.value + "\" is " +
                         stored->primary.value + " at epoch " +
                         std::to_string(stored->service_epoch.value) + "; switchover " +
                         std::to_string(intent.id.value) + " (" + intent.from.value + " -> " +
                         intent.to.value + ", epoch " + std::to_string(intent.new_epoch.value) +
                         ") was decided on an older view");
    }
    if (*kv) {
      auto in = decode_intent(**kv, intent.service);
      if (!in)
        return in.error();
      // The same switchover begun again (resumed after a restart, or a
      // retry after a lost answer): taken over as it stands, steps and all.
      if (in->id == intent.id && in->from == intent.from && in->to == intent.to &&
          in->new_epoch == intent.new_epoch) {
        in->leader_id = by.leader_id;
        in->written_by = by.epoch;
        return write_plan{{txn_op::put(key, encode(*in))},
                          {unchanged(key, *kv), unchanged(topo_key, *topo)}};
      }
      return stale(sy_errc::already_in_progress,
                   describe_intent(*in) + " is already in flight; switchover " +
                       std::to_string(intent.id.value) + " may not begin");
    }
    return write_plan{{txn_op::put(key, encode(next))},
                      {compare::absent(key), unchanged(topo_key, *topo)}};
  });
}

caf::expected<std::int64_t> replicated_state::record_step(const state_writer& by,
                                                          const service_id& service,
                                                          switchover_id id, std::uint32_t sequence,
                                                          step_progress progress) const {
  return rewrite_intent(by, service, id, [&](switchover_intent& in) -> caf::error {
    auto step = std::find_if(in.steps.begin(), in.steps.end(),
                             [&](const intent_step& s) { return s.sequence == sequence; });
    if (step == in.steps.end())
      return make_sy_error(sy_errc::not_found,
                           "replicated state: switchover " + std::to_string(id.value) + " of \"" +
                               service.value + "\" has no step " + std::to_string(sequence));
    step->progress = progress;
    return {};
  });
}

caf::expected<std::int64_t> replicated_state::rewrite_intent(
    const state_writer& by, const service_id& service, switchover_id id,
    const std::function<caf::error(switchover_intent&)>& change) const {
  auto key = intent_key(service);
  return write_fenced(client_, leader_key_, by, [&]() -> caf::expected<write_plan> {
    auto kv = client_.get(key);
    if (!kv)
      return kv.error();
    auto in = expect_intent(*kv, service, id);
    if (!in)
      return in.error();
    if (auto err = change(*in))
      return err;
    // Whoever writes it now is its writer (a successor that took it over).
    in->leader_id = by.leader_id;
    in->written_by = by.epoch;
    return write_plan{{txn_op::put(key, encode(*in))}, {unchanged(key, *kv)}};
  });
}

caf::expected<std::int64_t> replicated_state::finish(const state_writer& by,
                                                     const service_id& service, switchover_id id,
                                                     const topology_record& topology) const {
  auto ikey = intent_key(service);
  auto tkey = topology_key(service);
  auto next = stamped(topology, by);
  next.service = service;
  next.switchover = id;
  return write_fenced(client_, leader_key_, by, [&]() -> caf::expected<write_plan> {
    auto intent = client_.get(ikey);
    if (!intent)
      return intent.error();
    if (auto in = expect_intent(*intent, service, id); !in)
      return in.error();
    auto stored = client_.get(tkey);
    if (!stored)
      return stored.error();
    if (auto ok = expect_not_older(*stored, service, next); !ok)
      return ok.error();
    // Both guards: two reads, not one snapshot, but the write only holds if
    // neither key changed since.
    return write_plan{{txn_op::erase(ikey), txn_op::put(tkey, encode(next))},
                      {unchanged(ikey, *intent), unchanged(tkey, *stored)}};
  });
}

caf::expected<std::int64_t> replicated_state::abandon_intent(const state_writer& by,
                                                             const service_id& service,
                                                             switchover_id id) const {
  auto key = intent_key(service);
  return write_fenced(client_, leader_key_, by, [&]() -> caf::expected<write_plan> {
    auto kv = client_.get(key);
    if (!kv)
      return kv.error();
    if (auto in = expect_intent(*kv, service, id); !in)
      return in.error();
    return write_plan{{txn_op::erase(key)}, {unchanged(key, *kv)}};
  });
}

caf::expected<std::int64_t> replicated_state::take_over_intent(const state_writer& by,
                                                               const service_id& service,
                                                               switchover_id previous,
                                                               switchover_id id) const {
  // Its steps' progress stays: the successor goes on from there.
  return rewrite_intent(by, service, previous, [&](switchover_intent& in) -> caf::error {
    in.id = id;
    return {};
  });
}

} // namespace switchyard::cluster

// The state the next leader needs, replicated in etcd under one prefix:
//
//   <prefix>/topology/<service>  the current primary, its epoch, who made it
//   <prefix>/intent/<service>    the switchover in flight and its progress
//   <prefix>/backups/<service>/<node>/<id>
//                                a service backup a leader took (its catalog row)
//   <prefix>/maintenance/<service>/<instance>
//                                a maintenance window (instance "": the service)
//   <prefix>/site                the site switchover in flight, as journaled
//
// Values are small JSON documents. Every write is a fenced_write with the
// writer's leader epoch (a deposed leader's write is refused by etcd and
// writes nothing) guarded by the revisions of the keys it read, so that a
// decision taken on a stale read is refused too. SQLite stays each replica's
// journal and history; this is only what a successor must know to complete
// or roll back an interrupted switchover.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "cluster/etcd_client.hpp"
#include "messages/backup.hpp"
#include "messages/ids.hpp"
#include "messages/maintenance.hpp"
#include "messages/plan.hpp"
#include "messages/site.hpp"
#include "messages/switchover.hpp"
#include "rules/lease_rules.hpp"

namespace switchyard::cluster {

/// Progress of one step of the switchover in flight.
enum class step_progress : std::uint8_t { pending, running, done, failed };

const char* to_string(step_progress x);

/// Who writes: the leader's id and its term (the leader key's create revision).
struct state_writer {
  std::string leader_id;
  leader_epoch epoch;
};

/// `<prefix>/topology/<service>`.
struct topology_record {
  service_id service;
  instance_id primary;
  epoch service_epoch{0};
  switchover_id switchover{0};   ///< the switchover that made it primary (0: none, seeded)
  leader_epoch written_by;       ///< set from the writer on every write
  std::int64_t at_ms = 0;        ///< wall clock; 0 when writing: now
  std::int64_t mod_revision = 0; ///< as read by load(); ignored when writing
};

struct intent_step {
  std::uint32_t sequence = 0;
  std::string name;
  step_phase phase = step_phase::fence;
  step_progress progress = step_progress::pending;
};

/// `<prefix>/intent/<service>`: at most one switchover in flight per service.
struct switchover_intent {
  service_id service;
  switchover_id id{0};
  switchover_kind kind = switchover_kind::automatic_failover;
  instance_id from;
  instance_id to;
  epoch new_epoch{0};
  std::vector<intent_step> steps;
  std::string leader_id;         ///< the last writer (a successor that took over records its own)
  leader_epoch written_by;       ///< set from the writer on every write
  std::int64_t started_ms = 0;   ///< wall clock; 0 when writing: now
  std::int64_t mod_revision = 0; ///< as read by load(); ignored when writing
};

/// `<prefix>/site`: the site switchover in flight (at most one at a time),
/// as its leader last journaled it. It is that leader's until a successor
/// takes it over (take_over_site): `leader_id` and `record.id` (an id of
/// that leader's journal) say whose it is.
struct site_in_flight {
  site_record record;
  std::string leader_id;
  leader_epoch written_by;
  std::int64_t mod_revision = 0; ///< as read by load(); ignored when writing
};

/// Every service's topology and every intent, all read at one revision.
struct replicated_snapshot {
  std::int64_t revision = 0;
  std::map<service_id, topology_record> topology;
  std::map<service_id, switchover_intent> intents;
  maintenance_list maintenance;   ///< every window, expired ones included
  replicated_backup_list backups; ///< every replicated service backup
  std::optional<site_in_flight> site;
};

/// The steps of a plan, all pending.
[[nodiscard]] std::vector<intent_step> steps_of(const std::vector<plan_step>& plan);

/// Errors of the writes (nothing was written unless said otherwise):
/// - not leader: is_fencing_refusal(), "refused: not leader (...)";
/// - stale: is_stale_refusal(), "refused: stale: ..." (the state is not what
///   the call expects: an intent already exists, it is another switchover's,
///   a higher epoch is stored). Reload before deciding again;
/// - unavailable: etcd did not answer; a write's outcome is unknown (every
///   write here can be repeated: a repeat is refused as stale or redoes it);
/// - storage_failure: a stored value is malformed; the message names the key.
class replicated_state {
public:
  /// `prefix` e.g. "/switchyard/state"; `leader_key` the key the leader holds.
  replicated_state(etcd_client client, std::string prefix, std::string leader_key);

  [[nodiscard]] caf::expected<replicated_snapshot> load() const;

  /// Writes the topology of a service outside any switchover (seeding it);
  /// refused when the stored one has a higher epoch. Returns the revision.
  [[nodiscard]] caf::expected<std::int64_t> record_topology(const state_writer& by,
                                                            const topology_record& topology) const;
  /// Refused when the service already has another switchover's intent (the
  /// same switchover again is taken over as it stands, its steps kept), and
  /// when the replicated topology's primary is not `intent.from` or its
  /// epoch is not below `intent.new_epoch` (decided on a stale view).
  [[nodiscard]] caf::expected<std::int64_t> begin_intent(const state_writer& by,
                                                         const switchover_intent& intent) const;
  /// Refused unless the service's intent is switchover `id`'s.
  [[nodiscard]] caf::expected<std::int64_t> record_step(const state_writer& by,
                                                        const service_id& service, switchover_id id,
                                                        std::uint32_t sequence,
                                                        step_progress progress) const;
  /// Deletes the intent and writes the topology (its service and switchover
  /// set to `service` and `id`) in one transaction; refused unless the intent
  /// is `id`'s, or when the stored topology's epoch is higher.
  [[nodiscard]] caf::expected<std::int64_t> finish(const state_writer& by,
                                                   const service_id& service, switchover_id id,
                                                   const topology_record& topology) const;
  /// A successor takes over switchover `previous` (begun by a leader that is
  /// gone) as its own switchover `id`: the intent keeps its steps' progress,
  /// with the successor as its writer. Refused unless the intent is
  /// `previous`'s.
  [[nodiscard]] caf::expected<std::int64_t> take_over_intent(const state_writer& by,
                                                             const service_id& service,
                                                             switchover_id previous,
                                                             switchover_id id) const;
  /// Deletes the intent of a rolled-back switchover; the topology stays.
  [[nodiscard]] caf::expected<std::int64_t>
  abandon_intent(const state_writer& by, const service_id& service, switchover_id id) const;

  // Maintenance windows (replicated_operations.cpp): an operator's window is
  // written here before it takes effect; every replica follows them.

  /// Writes (or replaces) the window of `m.service` / `m.instance`.
  [[nodiscard]] caf::expected<std::int64_t> record_maintenance(const state_writer& by,
                                                               const maintenance_record& m) const;
  /// Deletes that window (done when it was not there).
  /// A service backup of this leader's catalog, at
  /// <prefix>/backups/<service>/<node>/<id> (written again when verified).
  [[nodiscard]] caf::expected<std::int64_t> record_backup(const state_writer& by,
                                                          const replicated_backup& b) const;
  [[nodiscard]] caf::expected<std::int64_t> forget_backup(const state_writer& by,
                                                          const std::string& service,
                                                          const std::string& node,
                                                          std::int64_t id) const;
  [[nodiscard]] caf::expected<std::int64_t> clear_maintenance(const state_writer& by,
                                                              const service_id& service,
                                                              const instance_id& instance) const;

  // The site switchover in flight (replicated_operations.cpp).

  /// Writes `by`'s site switchover `r` (r.id: its id in `by`'s journal) as it
  /// stands, or deletes it once it is finished (r.finished_ms set). Refused
  /// while the key holds another's (a former leader's, to be taken over).
  [[nodiscard]] caf::expected<std::int64_t> record_site(const state_writer& by,
                                                        const site_record& r) const;
  /// A successor claims site switchover `previous_id` of `previous_leader`:
  /// `r` (its id 0: not journaled by `by` yet) becomes `by`'s, and the next
  /// record_site of `by` (with the id its journal gave) continues it.
  /// Refused unless the key holds exactly that one.
  [[nodiscard]] caf::expected<std::int64_t> take_over_site(const state_writer& by,
                                                           const std::string& previous_leader,
                                                           std::int64_t previous_id,
                                                           const site_record& r) const;

  [[nodiscard]] std::string topology_key(const service_id& service) const;
  [[nodiscard]] std::string intent_key(const service_id& service) const;
  [[nodiscard]] std::string maintenance_key(const service_id& service,
                                            const instance_id& instance) const;
  [[nodiscard]] std::string site_key() const;

private:
  /// Reads the intent of switchover `id`, applies `change` (an error: refused,
  /// nothing written) and writes it back as `by`'s, fenced and guarded.
  [[nodiscard]] caf::expected<std::int64_t>
  rewrite_intent(const state_writer& by, const service_id& service, switchover_id id,
                 const std::function<caf::error(switchover_intent&)>& change) const;

  etcd_client client_;
  std::string prefix_;
  std::string leader_key_;
};

/// Whether `err` is a stale refusal of replicated_state (nothing written).
[[nodiscard]] bool is_stale_refusal(const caf::error& err);

} // namespace switchyard::cluster

// Who may act: the collaborator every decision and every switchover step asks
// first. A single switchyardd always may (single_node_authority). A replica of
// a cluster (cluster/cluster_authority.hpp) may only while it holds the leader
// key and its lease is renewed in time, and each switchover step is written to
// etcd under its fencing epoch before the step runs: a deposed leader's step
// is refused by etcd, and the step does not run.
//
// Handed to the actors at spawn through the peer table; no etcd header here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "messages/backup.hpp"
#include "messages/ids.hpp"
#include "messages/maintenance.hpp"
#include "messages/plan.hpp"
#include "messages/site.hpp"
#include "messages/switchover.hpp"

namespace switchyard::actors {

/// One replica's view of another's (or its own) opinion of a primary.
struct vantage_vote {
  std::string member;  ///< the replica that published it
  std::string service; ///< the service whose primary it is about
  std::string primary;
  bool down = false;      ///< subjectively down at that replica
  std::int64_t at_ms = 0; ///< when it published it (wall clock)
};

/// What `switchyard cluster status` and /metrics show. A single switchyardd:
/// clustered false, leader and may_act true, epoch 0.
struct leadership_view {
  bool clustered = false;
  std::string member;                  ///< this replica's id ("" when not clustered)
  std::vector<std::string> members;    ///< every configured replica
  std::vector<std::string> endpoints;  ///< etcd endpoints
  bool leader = true;                  ///< holds the leader key (as last confirmed)
  bool may_act = true;                 ///< leader and lease renewed in time
  std::string leader_id;               ///< the holder of the leader key; "" when none
  std::string leader_address;          ///< its API address (cluster.advertise); "" when unknown
  std::int64_t epoch = 0;              ///< the holder's fencing epoch; 0 when none
  std::int64_t lease_remaining_ms = 0; ///< how long this leader may act without a renewal
  std::int64_t lease_ttl_ms = 0;
  std::size_t quorum = 1;          ///< votes needed to call a primary objectively down
  std::string reason;              ///< why this replica may not act now ("" when it may)
  std::vector<vantage_vote> votes; ///< each replica's published view of each primary
};

/// A switchover about to start, as the next leader must know it.
struct switchover_intent_info {
  service_id service;
  switchover_id id{0};
  switchover_kind kind = switchover_kind::automatic_failover;
  instance_id from;
  instance_id to;
  epoch new_epoch{0};
  failover_plan plan;
  bool resuming = false; ///< resumed after a restart: its intent may exist already
  /// Non-zero: continues the intent of switchover `takeover_of`, begun by a
  /// leader that is gone (the intent takes this switchover's id).
  switchover_id takeover_of{0};
};

/// Whether enough vantage points see an instance down to act on it.
struct down_confirmation {
  bool confirmed = true;
  std::string explanation; ///< "objectively down: 2 of 2 votes (down: sy-a, sy-b; up: sy-c)"
};

class control_authority {
public:
  virtual ~control_authority() = default;

  /// Whether this switchyardd may decide and act now (cheap; any thread).
  [[nodiscard]] virtual bool may_act() const = 0;
  /// The fencing epoch in force (0 for a single switchyardd).
  [[nodiscard]] virtual std::int64_t epoch() const = 0;
  [[nodiscard]] virtual leadership_view view() const = 0;

  /// This replica's own view of an instance, from its health checks: in
  /// cluster mode published for the others (asynchronously; never blocks).
  virtual void report(const std::string& service, const std::string& instance, bool down) = 0;
  /// Whether a quorum of replicas sees `instance` down (cluster mode; a
  /// single switchyardd's own view is the only one). Cheap; any thread.
  [[nodiscard]] virtual down_confirmation confirm_down(const std::string& service,
                                                       const std::string& instance) const = 0;

  // Called by a failover worker around its journal (blocking; any thread).
  // An error means: do not run the step (the switchover stops); its message
  // says why ("refused: not leader ...", "etcd unavailable ...").

  /// Records the intent before the switchover's first step.
  [[nodiscard]] virtual caf::expected<void> begin(const switchover_intent_info& intent) = 0;
  /// Records a step's progress: `started` before its action, then done or failed.
  [[nodiscard]] virtual caf::expected<void> step(const service_id& service, switchover_id id,
                                                 std::uint32_t sequence, step_status status) = 0;
  /// The switchover ended: completed (`primary` and `new_epoch` are the
  /// service's now) or not (its intent is dropped; the topology stays).
  [[nodiscard]] virtual caf::expected<void> end(const service_id& service, switchover_id id,
                                                bool completed, const instance_id& primary,
                                                switchyard::epoch new_epoch) = 0;

  // Operations that must outlive a leader (blocking; off the actors' threads).

  /// An operator's maintenance window, recorded before it takes effect.
  [[nodiscard]] virtual caf::expected<void> set_maintenance(const maintenance_record& m) = 0;
  /// The window ends (turned off or expired).
  [[nodiscard]] virtual caf::expected<void> clear_maintenance(const service_id& service,
                                                              const instance_id& instance) = 0;
  /// A site switchover at each of its journal points (r.id: its id in this
  /// replica's journal); forgotten once finished. Refused while another
  /// leader's is in flight. An error at the commit decision aborts it.
  [[nodiscard]] virtual caf::expected<void> record_site(const site_record& r) = 0;
  /// Claims `previous` (a site switchover a former leader left in flight) for
  /// this leader, before it is journaled here: the next record_site of this
  /// leader continues it. Refused when it is not in flight any more.
  [[nodiscard]] virtual caf::expected<void> take_over_site(const site_takeover& previous) = 0;
  /// A service backup this leader took (or verified): replicated, so that
  /// the next leader lists, restores and builds on it. Forgotten by retention.
  [[nodiscard]] virtual caf::expected<void> record_backup(const replicated_backup& b) = 0;
  [[nodiscard]] virtual caf::expected<void>
  forget_backup(const std::string& service, const std::string& node, std::int64_t id) = 0;
};

/// A switchyardd without a `cluster:` section: it alone decides, always.
/// (Tests derive from it to switch may_act and view.)
class single_node_authority : public control_authority {
public:
  bool may_act() const override { return true; }
  std::int64_t epoch() const override { return 0; }
  leadership_view view() const override { return {}; }
  void report(const std::string&, const std::string&, bool) override {}
  down_confirmation confirm_down(const std::string&, const std::string&) const override {
    return {};
  }
  caf::expected<void> begin(const switchover_intent_info&) override { return caf::unit; }
  caf::expected<void> step(const service_id&, switchover_id, std::uint32_t, step_status) override {
    return caf::unit;
  }
  caf::expected<void> end(const service_id&, switchover_id, bool, const instance_id&,
                          switchyard::epoch) override {
    return caf::unit;
  }
  caf::expected<void> set_maintenance(const maintenance_record&) override { return caf::unit; }
  caf::expected<void> clear_maintenance(const service_id&, const instance_id&) override {
    return caf::unit;
  }
  caf::expected<void> record_site(const site_record&) override { return caf::unit; }
  caf::expected<void> take_over_site(const site_takeover&) override { return caf::unit; }
  caf::expected<void> record_backup(const replicated_backup&) override { return caf::unit; }
  caf::expected<void> forget_backup(const std::string&, const std::string&, std::int64_t) override {
    return caf::unit;
  }
};

using authority_ptr = std::shared_ptr<control_authority>;

} // namespace switchyard::actors

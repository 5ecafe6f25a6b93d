// Leader election over an etcd lease, the way Patroni and etcd's concurrency
// package do it: each candidate holds a lease and campaigns with the
// transaction "if the leader key does not exist, create it bound to my lease,
// else read it". The key's create revision is the leader's fencing epoch.
//
//   follower --campaign txn won--> leader --key gone / lease lost--> follower
//                                    |  ^
//               renewal late: fenced |  | renewal acknowledged
//                                    v  |
//                              leader, may not act
//
// The leader may act only until (send time of its last acknowledged renewal
// + TTL - safety margin): it stops before etcd can expire its lease, even
// when etcd is unreachable (rules/lease_rules.hpp decides).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/expected.hpp>

#include "cluster/etcd_client.hpp"
#include "rules/lease_rules.hpp"

namespace switchyard::cluster {

/// What a candidate knows of the leadership at one moment.
struct leadership {
  bool leader = false;       ///< this candidate holds the leader key (as last confirmed)
  bool may_act = false;      ///< leader, and its lease renewed in time: it may act now
  std::string leader_id;     ///< the holder of the key as last seen; "" when none
  leader_epoch epoch;        ///< the holder's epoch; 0 when none
  std::int64_t lease_id = 0; ///< this candidate's lease; 0 when it has none
  std::chrono::milliseconds act_remaining{0}; ///< how long it may act without a renewal
  std::string last_error;                     ///< the last failed etcd call; "" after a success
};

struct leader_settings {
  std::string leader_key = "/switchyard/leader";
  std::string candidate_id; ///< this replica's id: the leader key's value while it leads
  /// request_timeout is the client's (etcd_client::request_timeout()).
  lease_timing timing;
  /// Called on one of the election's threads (one call at a time, in order)
  /// when leader, may_act, leader_id or epoch changed. Advisory: may_act() is
  /// the check to make right before acting. It must not resign() or destroy
  /// the leader_lease (that joins the thread it runs on).
  std::function<void(const leadership&)> on_change;
};

class leader_lease {
public:
  /// Validates the settings (invalid_config naming the field) and starts:
  /// renewals on one thread, campaigns and leader key checks on another.
  [[nodiscard]] static caf::expected<std::unique_ptr<leader_lease>> start(etcd_client client,
                                                                          leader_settings settings);
  /// Stops campaigning and renewing without resigning: the key, if held,
  /// expires with the lease, as after a crash. Call resign() for a handover.
  ~leader_lease();
  leader_lease(const leader_lease&) = delete;
  leader_lease& operator=(const leader_lease&) = delete;

  [[nodiscard]] leadership status() const;
  /// Whether this candidate leads and may act now (self-fencing).
  [[nodiscard]] bool may_act() const;

  /// fenced_write() with this leader's epoch, refused here already (nothing
  /// sent) when it does not lead or may not act.
  [[nodiscard]] caf::expected<std::int64_t> fenced_write(const std::vector<txn_op>& ops,
                                                         const std::vector<compare>& guards = {});

  /// Stops campaigning, deletes the leader key if it still holds it and
  /// revokes its lease, so that another candidate takes over at once.
  [[nodiscard]] caf::expected<void> resign();

  /// Fault injection for tests: while stalled, the election sends nothing to
  /// etcd (no renewal, no campaign), as a stopped process would; status() and
  /// may_act() still answer, from the clock.
  void stall(bool stalled);

private:
  leader_lease(etcd_client client, leader_settings settings);
  // Two threads: renewals (grant, keep-alives) on one, so that nothing else
  // ever delays a keep-alive; campaigns and leader key checks on the other.
  void renewal_loop();
  void election_loop();
  /// While stall(true): waits. False when stopping.
  bool hold_while_stalled(std::unique_lock<std::mutex>& lock);
  /// One grant or keep-alive; returns when the next one is due.
  lease_clock::time_point renew();
  void campaign(std::int64_t lease);
  void verify(std::int64_t lease);
  void failed(const caf::error& err);
  void start_watch(std::int64_t from_revision);
  [[nodiscard]] leadership snapshot(lease_clock::time_point now) const; // mtx_ held
  void notify_if_changed();
  void stop_threads();

  etcd_client client_;
  leader_settings settings_;

  mutable std::mutex mtx_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool stalled_ = false;
  bool election_woken_ = false; ///< the watch saw the key change, or a lease came
  std::int64_t lease_id_ = 0;
  lease_fence fence_;
  bool leader_ = false;
  leader_epoch epoch_; ///< ours while leader_
  std::optional<leader_record> holder_;
  std::string last_error_;

  std::mutex notify_mtx_; ///< one on_change at a time, in order
  leadership notified_;

  std::unique_ptr<etcd_watch> watch_; ///< started by the first campaign, on its thread
  std::thread renewal_thread_;
  std::thread election_thread_;
};

} // namespace switchyard::cluster

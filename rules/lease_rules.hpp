// Leader election over an etcd lease as pure logic: which timings are sound,
// until when a leader may act on its last acknowledged renewal (self-fencing),
// and what a campaign's transaction result means. Time comes in as arguments:
// the tests drive it with a manual clock and never sleep.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "messages/ids.hpp"

namespace switchyard::cluster {

using lease_clock = std::chrono::steady_clock;

struct leader_epoch_tag {
  static inline const char* const name = "leader_epoch";
};
/// A leader's term: the create revision of the leader key it holds. A new
/// holder always gets a higher one, so it fences every write of an older one.
using leader_epoch = strong_value<leader_epoch_tag, std::int64_t>;

/// The timings of a leader lease, as configured.
struct lease_timing {
  /// Lease TTL at etcd. Whole seconds: etcd counts leases in seconds.
  std::chrono::milliseconds ttl{2000};
  /// How often the holder of a lease renews it.
  std::chrono::milliseconds keepalive_interval{500};
  /// How long before the lease could expire at etcd the leader stops acting:
  /// covers clock rate differences and the time an acknowledgement takes.
  std::chrono::milliseconds safety_margin{300};
  /// The deadline of one etcd request.
  std::chrono::milliseconds request_timeout{1000};
  /// How often a follower retries its campaign when no watch event woke it.
  std::chrono::milliseconds retry_interval{500};
};

/// Checks the timings against each other; the error (invalid_config) names the
/// field and the rule.
[[nodiscard]] caf::expected<void> validate(const lease_timing& timing);

/// The last moment a leader may act: a renewal acknowledged by etcd restarted
/// the lease no earlier than it was sent, so the lease lives at least until
/// `sent + ttl`; the leader stops `margin` before that.
[[nodiscard]] lease_clock::time_point act_deadline(lease_clock::time_point sent,
                                                   std::chrono::milliseconds ttl,
                                                   std::chrono::milliseconds margin);

/// The self-fencing state of one lease: fed with the acknowledged renewals
/// (grant and keep-alives, each with the time its request was sent), it says
/// whether the holder may still act.
class lease_fence {
public:
  explicit lease_fence(std::chrono::milliseconds margin) : margin_(margin) {}

  /// etcd acknowledged a grant or keep-alive sent at `sent`, with `ttl` (the
  /// lease's granted TTL; etcd may raise a TTL below its minimum). An older
  /// acknowledgement arriving late never moves the deadline back.
  void renewed(lease_clock::time_point sent, std::chrono::milliseconds ttl);
  /// The lease is gone (expired, revoked, or etcd answered TTL 0).
  void lost();

  [[nodiscard]] bool may_act(lease_clock::time_point now) const;
  /// The deadline of the last renewal; nullopt before any or after lost().
  [[nodiscard]] std::optional<lease_clock::time_point> act_until() const { return until_; }
  /// Time left to act: zero when fenced.
  [[nodiscard]] std::chrono::milliseconds remaining(lease_clock::time_point now) const;
  [[nodiscard]] std::optional<lease_clock::time_point> last_renewal_sent() const { return sent_; }

private:
  std::chrono::milliseconds margin_;
  std::optional<lease_clock::time_point> sent_;
  std::optional<lease_clock::time_point> until_;
};

/// The leader key as read back from etcd.
struct leader_record {
  std::string id;            ///< the holder's candidate id (the key's value)
  leader_epoch epoch;        ///< the key's create revision
  std::int64_t lease_id = 0; ///< the lease the key is bound to
};

enum class campaign_verdict {
  won,          ///< our create-if-absent transaction created the key
  already_ours, ///< the key exists and is bound to our lease (a retried campaign)
  other_leads,  ///< someone else holds it
  vacant,       ///< the compare failed yet no key was read (not from one txn): retry
};

/// What a campaign transaction ("if create_revision(key) == 0 then put else get")
/// means for the candidate `my_id` holding lease `my_lease`.
[[nodiscard]] campaign_verdict judge_campaign(bool txn_succeeded,
                                              const std::optional<leader_record>& holder,
                                              std::string_view my_id, std::int64_t my_lease);

const char* to_string(campaign_verdict verdict);

} // namespace switchyard::cluster

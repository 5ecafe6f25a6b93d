#include "cluster/leader_lease.hpp"

#include <algorithm>
#include <utility>

#include "cluster/fencing.hpp"
#include "messages/error.hpp"

namespace switchyard::cluster {

namespace {

using std::chrono::milliseconds;

caf::error invalid(std::string message) {
  return make_sy_error(sy_errc::invalid_config, std::move(message));
}

bool same_view(const leadership& a, const leadership& b) {
  return a.leader == b.leader && a.may_act == b.may_act && a.leader_id == b.leader_id &&
         a.epoch == b.epoch;
}

std::string holder_text(const leadership& s) {
  if (s.leader_id.empty())
    return "absent";
  return "held by \"" + s.leader_id + "\" at epoch " + std::to_string(s.epoch.value);
}

} // namespace

caf::expected<std::unique_ptr<leader_lease>> leader_lease::start(etcd_client client,
                                                                 leader_settings settings) {
  if (settings.leader_key.empty())
    return invalid("leader_key: must not be empty");
  if (settings.candidate_id.empty())
    return invalid("candidate_id: must not be empty (it names the leader in the leader key)");
  settings.timing.request_timeout = client.request_timeout();
  if (auto ok = validate(settings.timing); !ok)
    return ok.error();
  std::unique_ptr<leader_lease> self{new leader_lease(std::move(client), std::move(settings))};
  auto* raw = self.get();
  self->renewal_thread_ = std::thread([raw] { raw->renewal_loop(); });
  self->election_thread_ = std::thread([raw] { raw->election_loop(); });
  return self;
}

leader_lease::leader_lease(etcd_client client, leader_settings settings)
    : client_(std::move(client)), settings_(std::move(settings)),
      fence_(settings_.timing.safety_margin) {}

leader_lease::~leader_lease() {
  stop_threads();
}

void leader_lease::stop_threads() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto* t : {&renewal_thread_, &election_thread_})
    if (t->joinable())
      t->join();
  watch_.reset();
}

bool leader_lease::hold_while_stalled(std::unique_lock<std::mutex>& lock) {
  while (stalled_ && !stopping_)
    wake_.wait(lock);
  return !stopping_;
}

// -- renewals -----------------------------------------------------------------

void leader_lease::renewal_loop() {
  auto due = lease_clock::now();
  while (true) {
    {
      std::unique_lock<std::mutex> lock{mtx_};
      wake_.wait_until(lock, due, [this] { return stopping_; });
      if (!hold_while_stalled(lock))
        return;
    }
    due = renew();
    notify_if_changed();
  }
}

lease_clock::time_point leader_lease::renew() {
  const auto& timing = settings_.timing;
  std::int64_t lease = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    lease = lease_id_;
  }
  // The send time counts, not the answer's: etcd restarted the lease no
  // earlier than the request left.
  auto sent = lease_clock::now();
  if (lease == 0) {
    auto granted =
        client_.grant_lease(std::chrono::duration_cast<std::chrono::seconds>(timing.ttl));
    if (!granted) {
      failed(granted.error());
      return lease_clock::now() + timing.retry_interval;
    }
    {
      std::lock_guard<std::mutex> guard{mtx_};
      lease_id_ = granted->id;
      fence_.renewed(sent, granted->ttl);
      last_error_.clear();
      election_woken_ = true; // campaign with it now
    }
    wake_.notify_all();
    return sent + timing.keepalive_interval;
  }
  auto ttl = client_.keep_alive_once(lease);
  if (!ttl) {
    failed(ttl.error());
    // Sooner than the interval, as the act deadline keeps running: at once
    // after a timeout (the next call may reach another member), half an
    // interval after a failure that came fast (no member connected).
    return std::max(lease_clock::now(), sent + timing.keepalive_interval / 2);
  }
  std::lock_guard<std::mutex> guard{mtx_};
  if (lease != lease_id_)
    return lease_clock::now(); // resigned meanwhile
  if (ttl->count() > 0) {
    fence_.renewed(sent, *ttl);
    last_error_.clear();
    return sent + timing.keepalive_interval;
  }
  // Expired at etcd (a stall longer than the TTL), and its key with it: a new
  // lease at once, and a new campaign with it.
  if (holder_ && holder_->lease_id == lease)
    holder_.reset(); // that was us
  lease_id_ = 0;
  fence_.lost();
  leader_ = false;
  epoch_ = leader_epoch{};
  last_error_ = "lease " + std::to_string(lease) + " expired at etcd";
  return lease_clock::now();
}

// -- election -----------------------------------------------------------------

void leader_lease::election_loop() {
  auto due = lease_clock::now();
  while (true) {
    std::int64_t lease = 0;
    bool leading = false;
    bool woken = false;
    {
      std::unique_lock<std::mutex> lock{mtx_};
      // Without a lease there is nothing to campaign with: the renewal
      // thread wakes this one with its grant. A leader also wakes when it
      // must stop acting, so that on_change reports it on time.
      auto until = lease_id_ == 0 ? lease_clock::now() + std::chrono::hours(1) : due;
      if (leader_ && fence_.may_act(lease_clock::now()))
        until = std::min(until, *fence_.act_until() + milliseconds(1));
      wake_.wait_until(lock, until, [this] { return stopping_ || election_woken_; });
      if (!hold_while_stalled(lock))
        return;
      woken = std::exchange(election_woken_, false);
      lease = lease_id_;
      leading = leader_;
    }
    auto now = lease_clock::now();
    if (lease != 0 && (woken || now >= due)) {
      if (leading)
        verify(lease);
      else
        campaign(lease);
      due = now + settings_.timing.retry_interval;
    }
    notify_if_changed();
  }
}

void leader_lease::campaign(std::int64_t lease) {
  const auto& key = settings_.leader_key;
  auto result = client_.txn({compare::absent(key)},
                            {txn_op::put(key, settings_.candidate_id, lease)}, {txn_op::get(key)});
  if (!result) {
    failed(result.error());
    return;
  }
  if (!watch_)
    start_watch(result->revision + 1);
  std::optional<leader_record> holder;
  if (!result->reads.empty() && !result->reads.front().empty()) {
    const auto& kv = result->reads.front().front();
    holder = leader_record{kv.value, leader_epoch{kv.create_revision}, kv.lease};
  }
  std::lock_guard<std::mutex> guard{mtx_};
  last_error_.clear();
  if (lease != lease_id_)
    return; // the lease was lost meanwhile: a key bound to it is gone too
  switch (judge_campaign(result->succeeded, holder, settings_.candidate_id, lease)) {
  case campaign_verdict::won:
    // Created in this transaction: its create revision is the txn's revision.
    leader_ = true;
    epoch_ = leader_epoch{result->revision};
    holder_ = leader_record{settings_.candidate_id, epoch_, lease};
    break;
  case campaign_verdict::already_ours:
    leader_ = true;
    epoch_ = holder->epoch;
    holder_ = holder;
    break;
  case campaign_verdict::other_leads:
  case campaign_verdict::vacant:
    holder_ = holder;
    break;
  }
}

void leader_lease::verify(std::int64_t lease) {
  auto holder = read_leader(client_, settings_.leader_key);
  if (!holder) {
    failed(holder.error()); // the fence decides meanwhile
    return;
  }
  std::lock_guard<std::mutex> guard{mtx_};
  last_error_.clear();
  if (!leader_ || lease != lease_id_)
    return; // the renewal thread saw the lease go meanwhile
  if (*holder && (*holder)->epoch == epoch_ && (*holder)->lease_id == lease)
    return;
  // Deleted by hand, or replaced: whoever holds it now leads. Campaign again.
  leader_ = false;
  epoch_ = leader_epoch{};
  holder_ = *holder;
  election_woken_ = true;
}

void leader_lease::start_watch(std::int64_t from_revision) {
  // Any change of the leader key wakes the election: a follower campaigns at
  // once when the key goes away, a leader re-reads it. It starts right after
  // the revision the first campaign read, so no change after that read is
  // missed, however long the stream takes to open. Polling every
  // retry_interval covers a watch that is down.
  watch_options options;
  options.start_revision = from_revision;
  options.on_event = [this](const watch_event&) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      election_woken_ = true;
    }
    wake_.notify_all();
  };
  watch_ = client_.watch(settings_.leader_key, std::move(options));
}

// -- observers and actions ----------------------------------------------------

void leader_lease::failed(const caf::error& err) {
  std::lock_guard<std::mutex> guard{mtx_};
  last_error_ = describe(err);
}

leadership leader_lease::snapshot(lease_clock::time_point now) const {
  leadership s;
  s.leader = leader_;
  s.may_act = leader_ && fence_.may_act(now);
  s.lease_id = lease_id_;
  s.act_remaining = leader_ ? fence_.remaining(now) : milliseconds(0);
  if (holder_) {
    s.leader_id = holder_->id;
    s.epoch = holder_->epoch;
  }
  s.last_error = last_error_;
  return s;
}

leadership leader_lease::status() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return snapshot(lease_clock::now());
}

bool leader_lease::may_act() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return leader_ && fence_.may_act(lease_clock::now());
}

void leader_lease::notify_if_changed() {
  std::lock_guard<std::mutex> guard{notify_mtx_};
  auto now = status();
  if (same_view(now, notified_))
    return;
  notified_ = now;
  if (settings_.on_change)
    settings_.on_change(now);
}

caf::expected<std::int64_t> leader_lease::fenced_write(const std::vector<txn_op>& ops,
                                                       const std::vector<compare>& guards) {
  auto s = status();
  if (!s.leader)
    return make_sy_error(sy_errc::failover_blocked,
                         "refused: not leader (leader key " + holder_text(s) + ")");
  if (!s.may_act)
    return make_sy_error(sy_errc::failover_blocked,
                         "refused: lease not renewed in time (epoch " +
                             std::to_string(s.epoch.value) +
                             "): the leader stops acting before its lease can expire");
  return cluster::fenced_write(client_, settings_.leader_key, s.epoch, ops, guards);
}

caf::expected<void> leader_lease::resign() {
  stop_threads();
  leader_epoch epoch;
  std::int64_t lease = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    epoch = leader_ ? epoch_ : leader_epoch{};
    lease = lease_id_;
    if (leader_)
      holder_.reset();
    leader_ = false;
    lease_id_ = 0;
    fence_.lost();
  }
  notify_if_changed();
  caf::error first;
  if (epoch.value != 0) {
    // Only our own key: if a successor holds it already, this deletes nothing.
    const auto& key = settings_.leader_key;
    auto erased = client_.txn({compare::revision_is(key, epoch.value)}, {txn_op::erase(key)}, {});
    if (!erased)
      first = erased.error();
  }
  if (lease != 0) {
    // Revoking deletes the key too; the explicit delete above makes the
    // handover not depend on this second call.
    auto revoked = client_.revoke_lease(lease);
    if (!revoked && !first)
      first = revoked.error();
  }
  if (first)
    return first;
  return caf::unit;
}

void leader_lease::stall(bool stalled) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stalled_ = stalled;
  }
  wake_.notify_all();
}

} // namespace switchyard::cluster

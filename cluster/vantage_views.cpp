#include "cluster/vantage_views.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "cluster/vantage_keys.hpp"
#include "messages/error.hpp"

namespace switchyard::cluster {

namespace {

using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;
using namespace vantage_keys;

std::string ms(milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

caf::expected<void> validate(const vantage_settings& s, milliseconds request_timeout) {
  if (auto ok = validate_prefix(s.prefix); !ok)
    return ok;
  if (bad_segment(s.replica_id))
    return invalid("replica_id: \"" + s.replica_id + "\" must be non-empty and without '/'");
  if (s.ttl < std::chrono::seconds(1))
    return invalid("ttl: " + std::to_string(s.ttl.count()) +
                   " s is below 1 s, the shortest lease etcd grants");
  if (s.keepalive_interval <= milliseconds(0))
    return invalid("keepalive_interval: must be positive, is " + ms(s.keepalive_interval));
  // One renewal may use its whole deadline and fail; the next must still
  // reach etcd before the lease expires, or a healthy replica loses its votes.
  if (s.keepalive_interval + request_timeout >= s.ttl)
    return invalid("keepalive_interval: " + ms(s.keepalive_interval) + " + request_timeout " +
                   ms(request_timeout) + " must be shorter than ttl (" +
                   ms(std::chrono::duration_cast<milliseconds>(s.ttl)) + ")");
  return caf::unit;
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

// -- publisher ------------------------------------------------------------------

caf::expected<std::unique_ptr<vantage_publisher>>
vantage_publisher::start(etcd_client client, vantage_settings settings) {
  if (auto ok = validate(settings, client.request_timeout()); !ok)
    return ok.error();
  std::unique_ptr<vantage_publisher> self{
      new vantage_publisher(std::move(client), std::move(settings))};
  auto* raw = self.get();
  self->thread_ = std::thread([raw] { raw->lease_loop(); });
  return self;
}

vantage_publisher::vantage_publisher(etcd_client client, vantage_settings settings)
    : client_(std::move(client)), settings_(std::move(settings)) {}

vantage_publisher::~vantage_publisher() {
  stop_thread();
}

void vantage_publisher::stop_thread() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

std::string vantage_publisher::member_key() const {
  return settings_.prefix + "/members/" + settings_.replica_id;
}

std::string vantage_publisher::view_key(const instance_key& which) const {
  return settings_.prefix + "/views/" + settings_.replica_id + "/" + which.service + "/" +
         which.instance;
}

void vantage_publisher::failed(const caf::error& err) {
  std::lock_guard<std::mutex> guard{mtx_};
  last_error_ = describe(err);
}

caf::expected<void> vantage_publisher::report(const std::string& service,
                                              const std::string& instance, bool down,
                                              const std::string& reason) {
  if (bad_segment(service) || bad_segment(instance))
    return make_sy_error(sy_errc::unknown_instance, "vantage report: service \"" + service +
                                                        "\" and instance \"" + instance +
                                                        "\" must be non-empty and without '/'");
  instance_key which{service, instance};
  // io_mtx_ orders this write against a re-publication by the lease thread:
  // etcd sees the changes of one replica in the order it made them.
  std::lock_guard<std::mutex> io{io_mtx_};
  down_report entry;
  std::int64_t lease = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_)
      return make_sy_error(sy_errc::unavailable, "vantage report: the publisher is stopped");
    auto it = down_.find(which);
    if (down == (it != down_.end()))
      return caf::unit; // no change: probes repeat, etcd is not written every time
    if (down) {
      entry = down_report{wall_ms(), reason};
      down_.emplace(which, entry);
    } else {
      down_.erase(it);
    }
    lease = lease_id_;
    if (lease == 0)
      return caf::unit; // published with the membership once a lease is granted
  }
  caf::error err;
  if (down) {
    if (auto put = client_.put(view_key(which), encode(entry), lease); !put)
      err = put.error();
  } else if (auto erased = client_.erase(view_key(which)); !erased) {
    err = erased.error();
  }
  if (err) {
    std::lock_guard<std::mutex> guard{mtx_};
    dirty_ = true; // the lease thread publishes the whole view at its next tick
    last_error_ = describe(err);
    return err;
  }
  return caf::unit;
}

caf::expected<void> vantage_publisher::stop() {
  stop_thread();
  std::lock_guard<std::mutex> io{io_mtx_};
  std::int64_t lease = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    lease = std::exchange(lease_id_, 0);
  }
  if (lease == 0)
    return caf::unit;
  // Revoking deletes every key bound to the lease in one step: the reader
  // never sees the views without the membership or the reverse.
  auto revoked = client_.revoke_lease(lease);
  if (!revoked)
    return revoked.error();
  return caf::unit;
}

std::int64_t vantage_publisher::lease_id() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return lease_id_;
}

bool vantage_publisher::published() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return lease_id_ != 0 && !dirty_;
}

std::string vantage_publisher::last_error() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return last_error_;
}

void vantage_publisher::lease_loop() {
  auto due = steady::now();
  while (true) {
    {
      std::unique_lock<std::mutex> lock{mtx_};
      wake_.wait_until(lock, due, [this] { return stopping_; });
      if (stopping_)
        return;
    }
    due = tick();
  }
}

steady::time_point vantage_publisher::tick() {
  const auto interval = settings_.keepalive_interval;
  std::int64_t lease = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    lease = lease_id_;
  }
  auto sent = steady::now();
  if (lease == 0) {
    auto granted = client_.grant_lease(settings_.ttl);
    if (!granted) {
      failed(granted.error());
      return steady::now() + interval;
    }
    lease = granted->id;
    std::lock_guard<std::mutex> guard{mtx_};
    lease_id_ = lease;
    dirty_ = true; // nothing is bound to a new lease yet
  } else {
    auto ttl = client_.keep_alive_once(lease);
    if (!ttl) {
      failed(ttl.error());
      // Sooner than the interval: the lease keeps running down meanwhile.
      return std::max(steady::now(), sent + interval / 2);
    }
    if (ttl->count() == 0) {
      // Expired (a pause longer than the TTL, etcd without quorum for as
      // long) or revoked: the keys went with it. A new lease at once, and
      // the whole view published again under it.
      std::lock_guard<std::mutex> guard{mtx_};
      if (lease_id_ == lease)
        lease_id_ = 0;
      dirty_ = true;
      last_error_ = "lease " + std::to_string(lease) + " expired at etcd: granting a new one";
      return steady::now();
    }
  }
  std::lock_guard<std::mutex> io{io_mtx_};
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!dirty_ || lease_id_ != lease)
      return sent + interval;
  }
  auto done = publish_all(lease);
  std::lock_guard<std::mutex> guard{mtx_};
  if (!done) {
    last_error_ = describe(done.error());
    return std::max(steady::now(), sent + interval / 2);
  }
  // report() sets dirty_ only while holding io_mtx_: nothing slipped in.
  dirty_ = false;
  last_error_.clear();
  return sent + interval;
}

caf::expected<void> vantage_publisher::publish_all(std::int64_t lease) {
  std::map<instance_key, down_report> down;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    down = down_;
  }
  auto views = settings_.prefix + "/views/" + settings_.replica_id + "/";
  // Keys of ours that etcd holds but we no longer mean: a write that failed
  // after an "up", or left by an earlier process with the same replica id.
  auto existing = client_.get_prefix(views);
  if (!existing)
    return existing.error();
  if (auto put =
          client_.put(member_key(), encode_member(settings_.replica_id, settings_.address), lease);
      !put)
    return put.error();
  std::set<std::string> wanted;
  for (const auto& [which, report] : down) {
    auto key = view_key(which);
    wanted.insert(key);
    if (auto put = client_.put(key, encode(report), lease); !put)
      return put.error();
  }
  for (const auto& kv : *existing)
    if (wanted.count(kv.key) == 0)
      if (auto erased = client_.erase(kv.key); !erased)
        return erased.error();
  return caf::unit;
}

// -- reader ---------------------------------------------------------------------

} // namespace switchyard::cluster

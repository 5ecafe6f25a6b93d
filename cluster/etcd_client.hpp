// A synchronous etcd v3 client over one gRPC channel to all the members.
// Every call has a deadline and answers with a value or an error that names
// the endpoints, the gRPC status and etcd's message: it never hangs, whether
// etcd is unreachable or has lost its quorum. gRPC and protobuf stay behind
// a pimpl, so including this costs its users nothing of them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "cluster/endpoints.hpp"
#include "cluster/etcd_types.hpp"

namespace switchyard::cluster {

class etcd_watch;

/// Copies share one channel: cheap to copy, safe to use from several threads.
///
/// Failures are `unavailable` errors. A call waits (within its deadline) for a
/// connected member, and round_robin spreads calls over the live ones. Reads
/// and lease lookups are retried on UNAVAILABLE; writes are not: a write that
/// fails after it was sent (its member died, the deadline passed) may have
/// been applied, and only its caller can tell whether repeating it is safe.
class etcd_client {
public:
  /// Checks the endpoints and prepares the channel; connects lazily, so an
  /// unreachable cluster is reported by the first call, not here.
  [[nodiscard]] static caf::expected<etcd_client> create(client_settings settings);

  /// "127.0.0.1:2379,127.0.0.1:22379", for messages.
  [[nodiscard]] const std::string& endpoints() const;
  [[nodiscard]] std::chrono::milliseconds request_timeout() const;

  // -- keys --------------------------------------------------------------------

  /// The key, or nullopt when it does not exist.
  [[nodiscard]] caf::expected<std::optional<key_value>> get(const std::string& key) const;
  /// Every key starting with `prefix`, in key order.
  [[nodiscard]] caf::expected<std::vector<key_value>> get_prefix(const std::string& prefix) const;
  /// Returns the revision of the write. `lease` 0: not bound to a lease.
  [[nodiscard]] caf::expected<std::int64_t> put(const std::string& key, const std::string& value,
                                                std::int64_t lease = 0) const;
  /// Returns how many keys were deleted (0 or 1).
  [[nodiscard]] caf::expected<std::int64_t> erase(const std::string& key) const;
  [[nodiscard]] caf::expected<std::int64_t> erase_prefix(const std::string& prefix) const;

  /// If every compare holds, runs `success`, else `failure`: atomically.
  [[nodiscard]] caf::expected<txn_result> txn(const std::vector<compare>& compares,
                                              const std::vector<txn_op>& success,
                                              const std::vector<txn_op>& failure) const;

  // -- leases ------------------------------------------------------------------

  [[nodiscard]] caf::expected<lease_grant> grant_lease(std::chrono::seconds ttl) const;
  /// One keep-alive round trip: the lease's TTL afterwards, 0 when it is gone
  /// (expired or revoked).
  [[nodiscard]] caf::expected<std::chrono::seconds> keep_alive_once(std::int64_t lease) const;
  /// true when revoked, false when there was no such lease (any more).
  [[nodiscard]] caf::expected<bool> revoke_lease(std::int64_t lease) const;
  /// Seconds left, or nullopt when the lease does not exist (any more).
  [[nodiscard]] caf::expected<std::optional<std::chrono::seconds>>
  lease_time_to_live(std::int64_t lease) const;

  // -- watch -------------------------------------------------------------------

  /// Watches `key` (or every key under it with options.prefix) on a thread of
  /// its own, reopening the stream with a bounded backoff whenever it breaks,
  /// from the revision after the last one delivered (no change is missed
  /// unless history was compacted: then a `reset` event). Stops when the
  /// handle is destroyed.
  [[nodiscard]] std::unique_ptr<etcd_watch> watch(const std::string& key,
                                                  watch_options options) const;

  struct impl;

private:
  explicit etcd_client(std::shared_ptr<impl> self) : self_(std::move(self)) {}
  std::shared_ptr<impl> self_;
};

/// A running watch; the destructor stops it (and waits for its thread).
class etcd_watch {
public:
  struct state;
  explicit etcd_watch(std::shared_ptr<state> s);
  ~etcd_watch();
  etcd_watch(const etcd_watch&) = delete;
  etcd_watch& operator=(const etcd_watch&) = delete;

  /// Whether etcd confirmed the stream (it delivers changes now).
  [[nodiscard]] bool established() const;
  /// The next revision the watch will deliver from after a reconnect.
  [[nodiscard]] std::int64_t next_revision() const;
  /// Stops the thread; callbacks have returned when this returns.
  void stop();

private:
  std::shared_ptr<state> state_;
};

} // namespace switchyard::cluster

// Plain values of the etcd v3 API as the client hands them out and takes them
// in: keys, compares and operations of a transaction, watch events. No gRPC
// or protobuf here: the generated types stay inside cluster/*.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace switchyard::cluster {

/// The client's settings. Endpoints are "host:port" (an "http://" prefix is
/// accepted; TLS is not supported yet).
struct client_settings {
  std::vector<std::string> endpoints;
  /// The deadline of every unary call (and of a keep-alive round trip).
  std::chrono::milliseconds request_timeout{1000};
  /// HTTP/2 pings while calls are open: how a member that stopped answering
  /// without closing its connections (SIGSTOP, a cut cable) is dropped; until
  /// then, a call round_robin sends there ends at its deadline. etcd answers
  /// pings more often than its --grpc-keepalive-min-time (5 s) by closing the
  /// connection, hence twice that.
  std::chrono::milliseconds transport_keepalive{10000};
  std::chrono::milliseconds transport_keepalive_timeout{3000};
  /// Bounds of gRPC's reconnect backoff towards a member that is down (gRPC's
  /// own maximum is 120 s: a member back from a restart would wait that long).
  std::chrono::milliseconds reconnect_backoff_min{100};
  std::chrono::milliseconds reconnect_backoff_max{1000};
};

struct key_value {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0; ///< revision that created the key (0: absent)
  std::int64_t mod_revision = 0;    ///< revision of its last change
  std::int64_t version = 0;         ///< number of changes since it was created
  std::int64_t lease = 0;           ///< the lease it is bound to (0: none)
};

struct lease_grant {
  std::int64_t id = 0;
  std::chrono::seconds ttl{0}; ///< as granted: etcd raises a TTL below its minimum
};

/// One comparison of a transaction's guard.
struct compare {
  enum class target : std::uint8_t { version, create_revision, mod_revision, value, lease };
  enum class result : std::uint8_t { equal, not_equal, greater, less };

  std::string key;
  target what = target::create_revision;
  result op = result::equal;
  std::int64_t number = 0; ///< for every target but value
  std::string text;        ///< for target::value

  /// The key does not exist (a missing key's create revision is 0).
  static compare absent(std::string key) { return revision_is(std::move(key), 0); }
  static compare revision_is(std::string key, std::int64_t create_revision) {
    return {std::move(key), target::create_revision, result::equal, create_revision, {}};
  }
  static compare value_is(std::string key, std::string value) {
    return {std::move(key), target::value, result::equal, 0, std::move(value)};
  }
};

/// One operation of a transaction's branch.
struct txn_op {
  enum class kind : std::uint8_t { put, erase, get };

  kind what = kind::get;
  std::string key;
  std::string value;      ///< put only
  std::int64_t lease = 0; ///< put only: bind the key to this lease
  bool prefix = false;    ///< erase and get: every key starting with `key`

  static txn_op put(std::string key, std::string value, std::int64_t lease = 0) {
    return {kind::put, std::move(key), std::move(value), lease, false};
  }
  static txn_op erase(std::string key) { return {kind::erase, std::move(key), {}, 0, false}; }
  static txn_op erase_prefix(std::string prefix) {
    return {kind::erase, std::move(prefix), {}, 0, true};
  }
  static txn_op get(std::string key) { return {kind::get, std::move(key), {}, 0, false}; }
  static txn_op get_prefix(std::string prefix) {
    return {kind::get, std::move(prefix), {}, 0, true};
  }
};

struct txn_result {
  bool succeeded = false;    ///< the guard held: the success branch ran
  std::int64_t revision = 0; ///< the store's revision after the transaction
  /// What each get of the branch that ran read, in the order of the gets.
  std::vector<std::vector<key_value>> reads;
};

struct watch_event {
  enum class kind : std::uint8_t {
    put,
    erase,
    /// History was compacted past where the watch had to resume after a
    /// reconnect: changes may have been missed; re-read the keys.
    reset,
  };
  kind what = kind::put;
  key_value kv; ///< for erase: key and mod_revision (the deletion's) only
};

struct watch_options {
  bool prefix = false;
  /// Deliver changes from this revision on (0: from now).
  std::int64_t start_revision = 0;
  /// Bounds of the backoff between two attempts to reopen a broken stream.
  std::chrono::milliseconds backoff_min{50};
  std::chrono::milliseconds backoff_max{1000};
  /// Called on the watch's thread for every change, in revision order.
  std::function<void(const watch_event&)> on_event;
  /// Called on the watch's thread when the stream broke or could not be
  /// opened, with why (for logs); it reopens by itself.
  std::function<void(const std::string&)> on_error;
};

} // namespace switchyard::cluster

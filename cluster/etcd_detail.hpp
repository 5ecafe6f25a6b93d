// Inside the etcd client: the channel, the generated stubs, and how a failed
// call becomes an error. Included by cluster/etcd_*.cpp only: it pulls in
// gRPC and the generated etcd headers.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include <etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h>

#include "cluster/etcd_client.hpp"

namespace switchyard::cluster {

struct etcd_client::impl {
  client_settings settings;
  std::string endpoints_text;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch;

  /// Marks a call "require a leader": a member that lost its leader answers
  /// "etcdserver: no leader" at once instead of waiting out the deadline,
  /// and closes such watch streams, so they reopen on a member that has one.
  static void require_leader(grpc::ClientContext& ctx);
  /// require_leader plus the request deadline.
  void prepare(grpc::ClientContext& ctx) const;
  /// "etcd <what> via <endpoints>: <STATUS>: <message>" (unavailable).
  [[nodiscard]] caf::error failure(std::string_view what, const grpc::Status& status) const;
};

key_value from_proto(const mvccpb::KeyValue& kv);

} // namespace switchyard::cluster

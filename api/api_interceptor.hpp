// What the generated gRPC handlers cannot do themselves, done by a server
// interceptor on every call of switchyard.v1.Switchyard:
// - a request gRPC could not parse (not protobuf, or a string field that is
//   not UTF-8) never reaches its handler, and gRPC answers INTERNAL with an
//   empty message; the interceptor replaces that answer with the gateway's
//   own (UNAUTHENTICATED / INVALID_ARGUMENT, audited for mutating calls);
// - a parsed request over its method's size cap is noted, and the handler
//   refuses it (request_guard::check, called by the gateway's authorization);
// - no status message longer than status_message_bytes leaves the server.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>

#include "api/api_limits.hpp"

namespace grpc {
class ServerContextBase;
}

namespace switchyard::actors {

class request_guard {
public:
  /// The answer to a request of `method` that could not be parsed.
  using malformed_fn =
      std::function<grpc::Status(const grpc::ServerContextBase& ctx, const api_method& method)>;

  explicit request_guard(malformed_fn on_malformed);
  request_guard(const request_guard&) = delete;
  request_guard& operator=(const request_guard&) = delete;

  /// For ServerBuilder::experimental().SetInterceptorCreators; this guard must
  /// outlive the server.
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
  interceptors();

  /// RESOURCE_EXHAUSTED (naming the cap) when the request of the call of
  /// `ctx` was over its method's cap; OK otherwise.
  [[nodiscard]] grpc::Status check(const grpc::ServerContextBase& ctx) const;

  // For the interceptor.
  void refuse_later(const grpc::ServerContextBase* ctx, grpc::Status status);
  void forget(const grpc::ServerContextBase* ctx);
  [[nodiscard]] grpc::Status malformed(const grpc::ServerContextBase& ctx,
                                       const api_method& method) const;

private:
  malformed_fn on_malformed_;
  mutable std::mutex mutex_;
  /// Calls in flight whose request was over its cap (few: normally none).
  std::unordered_map<const grpc::ServerContextBase*, grpc::Status> refused_;
};

} // namespace switchyard::actors

#include "api/api_interceptor.hpp"

#include <grpcpp/server_context.h>

#include <fmt/format.h>

namespace switchyard::actors {

namespace {

using grpc::experimental::InterceptionHookPoints;

class guard_interceptor final : public grpc::experimental::Interceptor {
public:
  guard_interceptor(request_guard& guard, grpc::experimental::ServerRpcInfo* info,
                    const api_method& method)
      : guard_(guard), info_(info), method_(method) {}

  ~guard_interceptor() override {
    if (noted_)
      guard_.forget(info_->server_context());
  }
  guard_interceptor(const guard_interceptor&) = delete;
  guard_interceptor& operator=(const guard_interceptor&) = delete;

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE))
      received(methods->GetRecvMessage());
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS))
      sending(*methods);
    methods->Proceed();
  }

private:
  // A null message: gRPC could not parse the request and will not run the handler.
  void received(const void* request) {
    if (request == nullptr) {
      malformed_ = true;
      return;
    }
    auto size = method_.request_size(request);
    if (size <= method_.max_request_bytes)
      return;
    noted_ = true;
    guard_.refuse_later(info_->server_context(),
                        {grpc::StatusCode::RESOURCE_EXHAUSTED,
                         fmt::format("the request is {} bytes; {} accepts at most {} bytes", size,
                                     method_.name, method_.max_request_bytes)});
  }

  void sending(grpc::experimental::InterceptorBatchMethods& methods) {
    auto status = methods.GetSendStatus();
    // gRPC's answer to a request it could not parse is INTERNAL (UNIMPLEMENTED
    // for a callback method); a call it refused unread (its thread pool
    // exhausted: RESOURCE_EXHAUSTED) or that was cancelled keeps its status.
    if (malformed_ && (status.error_code() == grpc::StatusCode::INTERNAL ||
                       status.error_code() == grpc::StatusCode::UNIMPLEMENTED)) {
      methods.ModifySendStatus(guard_.malformed(*info_->server_context(), method_));
      return;
    }
    if (status.error_message().size() > status_message_bytes)
      methods.ModifySendStatus({status.error_code(),
                                clip(status.error_message(), status_message_bytes),
                                status.error_details()});
  }

  request_guard& guard_;
  grpc::experimental::ServerRpcInfo* info_;
  const api_method& method_;
  bool malformed_ = false;
  bool noted_ = false;
};

class guard_factory final : public grpc::experimental::ServerInterceptorFactoryInterface {
public:
  explicit guard_factory(request_guard& guard) : guard_(guard) {}

  grpc::experimental::Interceptor*
  CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    const auto* method = find_api_method(info->method());
    if (method == nullptr)
      return nullptr; // health, reflection: not ours
    return new guard_interceptor(guard_, info, *method);
  }

private:
  request_guard& guard_;
};

} // namespace

request_guard::request_guard(malformed_fn on_malformed) : on_malformed_(std::move(on_malformed)) {}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
request_guard::interceptors() {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> out;
  out.push_back(std::make_unique<guard_factory>(*this));
  return out;
}

grpc::Status request_guard::check(const grpc::ServerContextBase& ctx) const {
  std::lock_guard<std::mutex> guard{mutex_};
  auto it = refused_.find(&ctx);
  return it == refused_.end() ? grpc::Status::OK : it->second;
}

void request_guard::refuse_later(const grpc::ServerContextBase* ctx, grpc::Status status) {
  std::lock_guard<std::mutex> guard{mutex_};
  refused_[ctx] = std::move(status);
}

void request_guard::forget(const grpc::ServerContextBase* ctx) {
  std::lock_guard<std::mutex> guard{mutex_};
  refused_.erase(ctx);
}

grpc::Status request_guard::malformed(const grpc::ServerContextBase& ctx,
                                      const api_method& method) const {
  return on_malformed_(ctx, method);
}

} // namespace switchyard::actors

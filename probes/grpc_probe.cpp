#include "probes/grpc_probe.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "messages/grpc_status_name.hpp"

namespace switchyard::actors {

namespace {

namespace health = ::grpc::health::v1;

std::string target_of(const std::string& host, std::uint16_t port) {
  // An IPv6 literal needs brackets in a gRPC target.
  return host.find(':') == std::string::npos ? fmt::format("{}:{}", host, port)
                                             : fmt::format("[{}]:{}", host, port);
}

} // namespace

struct grpc_probe::impl {
  std::string service;
  std::chrono::milliseconds timeout;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<health::Health::Stub> stub;
};

grpc_probe::grpc_probe(std::string host, std::uint16_t port, std::string service,
                       std::chrono::milliseconds timeout, std::chrono::milliseconds interval)
    : impl_(std::make_unique<impl>()) {
  grpc::ChannelArguments args;
  // Straight to the instance, like every other probe: never through an http_proxy.
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  // A probe is one attempt: no transparent retries hiding a failure.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  // gRPC backs off reconnecting up to 2 minutes by default: an instance that
  // came back would look down for that long.
  auto backoff = static_cast<int>(std::clamp<long long>(interval.count(), 100, 1000));
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, backoff);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, backoff);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, backoff);
  impl_->service = std::move(service);
  impl_->timeout = timeout;
  impl_->channel =
      grpc::CreateCustomChannel(target_of(host, port), grpc::InsecureChannelCredentials(), args);
  impl_->stub = health::Health::NewStub(impl_->channel);
}

grpc_probe::~grpc_probe() = default;

probe_outcome grpc_probe::check() {
  auto start = std::chrono::steady_clock::now();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + impl_->timeout);
  health::HealthCheckRequest request;
  request.set_service(impl_->service);
  health::HealthCheckResponse response;
  auto status = impl_->stub->Check(&ctx, request, &response);
  probe_outcome out;
  out.latency = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  if (!status.ok()) {
    const auto& message = status.error_message();
    out.refused = message.find("Connection refused") != std::string::npos;
    out.detail =
        status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
            ? fmt::format("gRPC DEADLINE_EXCEEDED: no answer within {} ms", impl_->timeout.count())
            : fmt::format("gRPC {}: {}", grpc_status_name(status.error_code()), message);
    return out;
  }
  out.ok = response.status() == health::HealthCheckResponse::SERVING;
  out.detail = health::HealthCheckResponse::ServingStatus_Name(response.status());
  return out;
}

} // namespace switchyard::actors

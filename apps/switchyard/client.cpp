#include "apps/switchyard/client.hpp"

#include <chrono>
#include <iostream>

namespace switchyard::cli {

client::client(const connection_options& opts) : opts_(opts) {
  grpc::ChannelArguments args;
  // An operator's http_proxy must not capture calls to a local daemon.
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  auto channel = grpc::CreateCustomChannel(opts_.server, grpc::InsecureChannelCredentials(), args);
  stub_ = v1::Switchyard::NewStub(channel);
}

std::unique_ptr<grpc::ClientContext> client::context() const {
  return context(opts_.timeout_seconds);
}

std::unique_ptr<grpc::ClientContext> client::context(int timeout_seconds) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!opts_.token.empty())
    ctx->AddMetadata("authorization", "Bearer " + opts_.token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_seconds));
  return ctx;
}

int client::fail(const grpc::Status& status) const {
  auto code = status.error_code();
  switch (code) {
  case grpc::StatusCode::UNAVAILABLE:
  case grpc::StatusCode::DEADLINE_EXCEEDED:
    std::cerr << "switchyard: cannot reach switchyardd at " << opts_.server << ": "
              << status.error_message() << "\n  (is it running? --server HOST:PORT or "
              << "SWITCHYARD_SERVER selects another)\n";
    return exit_unavailable;
  case grpc::StatusCode::UNAUTHENTICATED:
  case grpc::StatusCode::PERMISSION_DENIED:
    std::cerr << "switchyard: "
              << (code == grpc::StatusCode::UNAUTHENTICATED ? "not authenticated" : "not allowed")
              << ": " << status.error_message() << '\n';
    return exit_auth;
  case grpc::StatusCode::NOT_FOUND:
    std::cerr << "switchyard: not found: " << status.error_message() << '\n';
    return exit_not_found;
  default:
    std::cerr << "switchyard: refused (" << static_cast<int>(code)
              << "): " << status.error_message() << '\n';
    return exit_rejected;
  }
}

} // namespace switchyard::cli

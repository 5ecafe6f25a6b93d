#include "apps/switchyard/client.hpp"

#include <chrono>
#include <iostream>

#include "config/file_read.hpp"
#include "messages/grpc_status_name.hpp"

namespace switchyard::cli {

namespace {

// The whole file; false with `why` set when it cannot be read. Regular files
// of at most 1 MiB only (config/file_read.hpp): not /dev/zero, not a FIFO.
bool read_file(const std::string& path, std::string& out, std::string& why) {
  why = config::read_regular_file(path, config::max_pem_file_bytes, out);
  return why.empty();
}

std::shared_ptr<grpc::ChannelCredentials> credentials(const connection_options& opts) {
  if (!opts.tls())
    return grpc::InsecureChannelCredentials();
  // check_connection_options() has read these already; a file that went away
  // since leaves its part empty and the handshake fails with UNAVAILABLE.
  grpc::SslCredentialsOptions ssl;
  std::string why;
  if (!opts.ca_file.empty())
    read_file(opts.ca_file, ssl.pem_root_certs, why);
  if (!opts.cert_file.empty())
    read_file(opts.cert_file, ssl.pem_cert_chain, why);
  if (!opts.key_file.empty())
    read_file(opts.key_file, ssl.pem_private_key, why);
  return grpc::SslCredentials(ssl);
}

} // namespace

std::string check_connection_options(const connection_options& opts) {
  struct named_file {
    const char* option;
    const char* env;
    const std::string& path;
  };
  for (const auto& f : {named_file{"--tls-ca", "SWITCHYARD_TLS_CA", opts.ca_file},
                        named_file{"--tls-cert", "SWITCHYARD_TLS_CERT", opts.cert_file},
                        named_file{"--tls-key", "SWITCHYARD_TLS_KEY", opts.key_file}}) {
    std::string text;
    std::string why;
    if (!f.path.empty() && !read_file(f.path, text, why))
      return std::string(f.option) + " (or " + f.env + "): cannot read " + f.path + ": " + why;
  }
  if (opts.cert_file.empty() != opts.key_file.empty())
    return "--tls-cert and --tls-key go together: a client certificate needs its private key";
  if (!opts.server_name.empty() && !opts.tls())
    return "--tls-server-name needs TLS: add --tls-ca with the CA that signed the server's "
           "certificate";
  return {};
}

client::client(const connection_options& opts) : opts_(opts) {
  grpc::ChannelArguments args;
  // An operator's http_proxy must not capture calls to a local daemon.
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  if (opts_.tls() && !opts_.server_name.empty())
    args.SetString(GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, opts_.server_name);
  channel_ = grpc::CreateCustomChannel(opts_.server, credentials(opts_), args);
  stub_ = v1::Switchyard::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> client::context() const {
  return context(opts_.timeout_seconds);
}

std::unique_ptr<grpc::ClientContext> client::context(int timeout_seconds) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  authorize(*ctx);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_seconds));
  return ctx;
}

void client::authorize(grpc::ClientContext& ctx) const {
  if (!opts_.token.empty())
    ctx.AddMetadata("authorization", "Bearer " + opts_.token);
}

int client::fail(const grpc::Status& status) const {
  auto code = status.error_code();
  // A connected channel means the status came from switchyardd itself (e.g.
  // "the audit trail cannot be written"), not from a failed connection.
  if (code == grpc::StatusCode::UNAVAILABLE && channel_->GetState(false) == GRPC_CHANNEL_READY) {
    std::cerr << "switchyard: switchyardd at " << opts_.server
              << " answered that it cannot do this now (unavailable): " << status.error_message()
              << '\n';
    return exit_unavailable;
  }
  switch (code) {
  case grpc::StatusCode::UNAVAILABLE:
  case grpc::StatusCode::DEADLINE_EXCEEDED:
    std::cerr << "switchyard: cannot reach switchyardd at " << opts_.server << ": "
              << status.error_message() << "\n  (is it running? --server HOST:PORT or "
              << "SWITCHYARD_SERVER selects another)\n"
              << (opts_.tls() ? "  (TLS: is --tls-ca the CA of the server's certificate, does "
                                "the certificate name this host (else --tls-server-name), and "
                                "does the server want a client certificate (--tls-cert, "
                                "--tls-key)?)\n"
                              : "  (if switchyardd uses TLS (api.tls): --tls-ca FILE)\n");
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
    std::cerr << "switchyard: refused ("
              << (code == grpc::StatusCode::UNIMPLEMENTED ? "not implemented by this switchyardd"
                                                          : actors::grpc_status_words(code))
              << "): " << status.error_message() << '\n';
    return exit_rejected;
  }
}

} // namespace switchyard::cli

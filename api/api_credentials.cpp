#include "api/api_credentials.hpp"

#include <grpcpp/security/server_credentials.h>

#include "config/file_read.hpp"

namespace switchyard::actors {

namespace {

// The whole file, or false with `error` saying which field and file failed and why.
bool read_pem(const char* field, const std::string& path, const char* marker, std::string& out,
              std::string& error) {
  auto fail = [&](const std::string& why) {
    error = std::string("api.tls.") + field + ": cannot read " + path + ": " + why;
    return false;
  };
  // Bounded, regular files only (config/file_read.hpp), like the configuration.
  if (auto why = config::read_regular_file(path, config::max_pem_file_bytes, out); !why.empty())
    return fail(why);
  if (out.find(marker) == std::string::npos) {
    error = std::string("api.tls.") + field + ": " + path + " holds no PEM block '" + marker +
            "' (expected PEM text, not DER)";
    return false;
  }
  return true;
}

} // namespace

std::shared_ptr<grpc::ServerCredentials> make_server_credentials(const config::api_settings& api,
                                                                 std::string& error) {
  const auto& tls = api.tls;
  if (!tls.enabled())
    return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  if (!read_pem("cert_file", tls.cert_file, "-----BEGIN CERTIFICATE-----", pair.cert_chain,
                error) ||
      !read_pem("key_file", tls.key_file, "PRIVATE KEY-----", pair.private_key, error))
    return nullptr;
  if (pair.private_key.find("ENCRYPTED PRIVATE KEY") != std::string::npos ||
      pair.private_key.find("Proc-Type: 4,ENCRYPTED") != std::string::npos) {
    error = "api.tls.key_file: " + tls.key_file +
            " is encrypted with a passphrase; switchyardd needs an unencrypted key";
    return nullptr;
  }
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (!tls.client_ca_file.empty()) {
    if (!read_pem("client_ca_file", tls.client_ca_file, "-----BEGIN CERTIFICATE-----",
                  options.pem_root_certs, error))
      return nullptr;
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  options.pem_key_cert_pairs.push_back(std::move(pair));
  return grpc::SslServerCredentials(options);
}

} // namespace switchyard::actors

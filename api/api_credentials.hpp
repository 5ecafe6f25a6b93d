// Credentials for the API listener from api.tls: plaintext without it, TLS
// with the server certificate and key, and mutual TLS with client_ca_file.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/security/server_credentials.h>

#include "config/model.hpp"

namespace switchyard::actors {

/// Insecure credentials when api.tls is not enabled; otherwise TLS with the
/// PEM files' contents, and when client_ca_file is set, clients must present
/// a certificate signed by it. Reads the files now: nullptr with `error`
/// naming the field and file when one cannot be read or holds no PEM block.
std::shared_ptr<grpc::ServerCredentials> make_server_credentials(const config::api_settings& api,
                                                                 std::string& error);

} // namespace switchyard::actors

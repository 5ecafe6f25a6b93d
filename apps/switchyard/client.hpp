// The CLI's connection to switchyardd: channel, bearer token, deadlines, and
// the mapping of gRPC failures to exit codes and messages a person can act on.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "switchyard/v1/switchyard.grpc.pb.h"

namespace switchyard::cli {

enum exit_code : int {
  exit_ok = 0,
  exit_usage = 1,       ///< bad command line
  exit_unavailable = 2, ///< switchyardd unreachable, not answering, or answering UNAVAILABLE
  exit_auth = 3,        ///< UNAUTHENTICATED or PERMISSION_DENIED
  exit_not_found = 4,   ///< NOT_FOUND
  exit_rejected = 5,    ///< INVALID_ARGUMENT, FAILED_PRECONDITION, other errors
  exit_failed = 6,      ///< the switchover ran and failed (rolled back where it could)
};

struct connection_options {
  std::string server; ///< host:port
  std::string token;  ///< may be empty: the server will refuse
  int timeout_seconds = 10;
  std::string ca_file;     ///< PEM CA to verify the server's certificate with; enables TLS
  std::string cert_file;   ///< PEM client certificate (mutual TLS); needs key_file
  std::string key_file;    ///< PEM private key of cert_file
  std::string server_name; ///< name to expect in the server's certificate (default: the host)

  /// TLS when any certificate file is given (without ca_file: the system's CAs).
  bool tls() const { return !ca_file.empty() || !cert_file.empty() || !key_file.empty(); }
};

/// Checks the TLS options before connecting: every named file readable,
/// cert_file with key_file, server_name only with TLS. Empty if they are
/// fine; otherwise what is wrong, naming the option, for stderr.
std::string check_connection_options(const connection_options& opts);

class client {
public:
  /// Never fails: check_connection_options() first, or an unreadable file
  /// only shows as a failed TLS handshake on the first call.
  explicit client(const connection_options& opts);

  /// A context with the bearer token and the deadline set.
  std::unique_ptr<grpc::ClientContext> context() const;
  /// Same, with a longer deadline for calls that wait for a whole switchover.
  std::unique_ptr<grpc::ClientContext> context(int timeout_seconds) const;
  /// Adds the bearer token to `ctx` (for streams, which set no deadline).
  void authorize(grpc::ClientContext& ctx) const;
  v1::Switchyard::Stub& stub() { return *stub_; }

  /// Prints the failure to stderr and returns the exit code for it. An
  /// UNAVAILABLE that switchyardd itself answered (the channel is connected)
  /// is told apart from one where no connection could be made.
  int fail(const grpc::Status& status) const;

private:
  connection_options opts_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Switchyard::Stub> stub_;
};

} // namespace switchyard::cli

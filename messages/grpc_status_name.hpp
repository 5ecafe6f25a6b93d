// The names of gRPC status codes, in one place for the daemon (audit rows,
// probe details) and the CLI (its messages). Needs nothing but gRPC's enum:
// the CLI compiles this file on its own, without the rest of actors/.
#pragma once

#include <grpcpp/support/status_code_enum.h>

namespace switchyard::actors {

/// The canonical name: "INVALID_ARGUMENT"; "?" for a value that is not a
/// gRPC status code.
const char* grpc_status_name(grpc::StatusCode code);

/// The same for a person: "invalid argument", "internal error", "not
/// implemented"; "error" for a value that is not a gRPC status code.
const char* grpc_status_words(grpc::StatusCode code);

} // namespace switchyard::actors

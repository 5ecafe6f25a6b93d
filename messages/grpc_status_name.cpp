#include "messages/grpc_status_name.hpp"

namespace switchyard::actors {

namespace {

struct status_names {
  const char* name;
  const char* words;
};

status_names names_of(grpc::StatusCode code) {
  switch (code) {
  case grpc::StatusCode::OK:
    return {"OK", "ok"};
  case grpc::StatusCode::CANCELLED:
    return {"CANCELLED", "cancelled"};
  case grpc::StatusCode::UNKNOWN:
    return {"UNKNOWN", "unknown error"};
  case grpc::StatusCode::INVALID_ARGUMENT:
    return {"INVALID_ARGUMENT", "invalid argument"};
  case grpc::StatusCode::DEADLINE_EXCEEDED:
    return {"DEADLINE_EXCEEDED", "deadline exceeded"};
  case grpc::StatusCode::NOT_FOUND:
    return {"NOT_FOUND", "not found"};
  case grpc::StatusCode::ALREADY_EXISTS:
    return {"ALREADY_EXISTS", "already exists"};
  case grpc::StatusCode::PERMISSION_DENIED:
    return {"PERMISSION_DENIED", "permission denied"};
  case grpc::StatusCode::RESOURCE_EXHAUSTED:
    return {"RESOURCE_EXHAUSTED", "resource exhausted"};
  case grpc::StatusCode::FAILED_PRECONDITION:
    return {"FAILED_PRECONDITION", "failed precondition"};
  case grpc::StatusCode::ABORTED:
    return {"ABORTED", "aborted"};
  case grpc::StatusCode::OUT_OF_RANGE:
    return {"OUT_OF_RANGE", "out of range"};
  case grpc::StatusCode::UNIMPLEMENTED:
    return {"UNIMPLEMENTED", "not implemented"};
  case grpc::StatusCode::INTERNAL:
    return {"INTERNAL", "internal error"};
  case grpc::StatusCode::UNAVAILABLE:
    return {"UNAVAILABLE", "unavailable"};
  case grpc::StatusCode::DATA_LOSS:
    return {"DATA_LOSS", "data loss"};
  case grpc::StatusCode::UNAUTHENTICATED:
    return {"UNAUTHENTICATED", "unauthenticated"};
  default: // DO_NOT_USE and values outside the enum
    return {"?", "error"};
  }
}

} // namespace

const char* grpc_status_name(grpc::StatusCode code) {
  return names_of(code).name;
}

const char* grpc_status_words(grpc::StatusCode code) {
  return names_of(code).words;
}

} // namespace switchyard::actors

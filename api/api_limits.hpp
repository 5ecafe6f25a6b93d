// Bounds on what the API takes from a client and on what it stores or echoes
// of it: the request size cap of every method, the quoting of client input in
// error messages, and the clipping of audit rows. Pure functions and a table.
// (Owned by the API hardening work: audit, malformed and oversized requests.)
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace switchyard::actors {

/// Reads and calls without free text (Reload): the largest request they take.
inline constexpr std::size_t read_request_cap = 4 * 1024;
/// Mutating calls with a reason (switchover, failover, maintenance, site, drill).
inline constexpr std::size_t mutation_request_cap = 64 * 1024;
/// gRPC's own receive limit: the largest per-method cap. A bigger request is
/// refused by gRPC before it is parsed (RESOURCE_EXHAUSTED), never audited.
inline constexpr std::size_t max_request_bytes = mutation_request_cap;

/// At most this many bytes of a client-supplied string appear in an error message.
inline constexpr std::size_t quote_prefix_bytes = 64;

/// An audit row keeps at most this much of each string argument, of the
/// arguments' JSON as a whole, and of the result text.
inline constexpr std::size_t audit_string_bytes = 1024;
inline constexpr std::size_t audit_arguments_bytes = 4096;
inline constexpr std::size_t audit_result_bytes = 2048;

/// A status message sent back is never much longer than this (a client's
/// default metadata limit is 8 KiB: a longer one would reach it as
/// RESOURCE_EXHAUSTED instead of the real status).
inline constexpr std::size_t status_message_bytes = 4096;

/// The longest prefix of `s` of at most `max` bytes that does not split a
/// UTF-8 character.
std::string_view utf8_prefix(std::string_view s, std::size_t max);

/// `s` when it is at most `max` bytes; otherwise its UTF-8-safe prefix of at
/// most `max` bytes followed by "…[truncated N bytes]" (N: the bytes left out).
std::string clip(std::string_view s, std::size_t max);

/// A client-supplied string for an error message: at most quote_prefix_bytes
/// of it, then "…" when it was longer. Every message that names client input
/// goes through this.
std::string quote(std::string_view s);

/// The arguments column of an audit row: `args` as JSON with every string
/// value clipped to audit_string_bytes, the whole clipped to
/// audit_arguments_bytes (invalid UTF-8 is replaced, never thrown on).
std::string audit_arguments(const nlohmann::json& args);

/// One method of switchyard.v1.Switchyard.
struct api_method {
  std::string name;         ///< "GetStatus"
  std::string request_type; ///< "switchyard.v1.GetStatusRequest"
  std::size_t max_request_bytes = read_request_cap;
  bool audited = false; ///< mutating: every refusal and outcome goes into the audit trail
  /// The serialized size of a parsed request of this method (a pointer to its request type).
  std::size_t (*request_size)(const void* request) = nullptr;
};

/// Every method, in the order of the .proto file.
const std::vector<api_method>& api_methods();

/// The method of a gRPC path ("/switchyard.v1.Switchyard/GetStatus"); null
/// for any other service (health, reflection) or an unknown method.
const api_method* find_api_method(std::string_view path);

} // namespace switchyard::actors

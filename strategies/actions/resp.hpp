// RESP, the Redis wire protocol: encoding a command and parsing one reply.
// Shared by the redis action and the redis health probe.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace switchyard::resp {

/// A RESP reply: a status/error line, an integer, a bulk string or an array.
struct reply {
  char type = '+';
  std::string text; ///< status, error, bulk, or the integer as text
  std::vector<reply> items;
  bool is_error() const { return type == '-'; }
};

/// The command `args` as a RESP array of bulk strings.
std::string encode(const std::vector<std::string>& args);

/// Parses one reply starting at `pos` (advanced past it); nullopt if `buf`
/// holds only part of it.
std::optional<reply> parse(const std::string& buf, std::size_t& pos);

/// The "key:value" lines of an INFO reply as a map.
std::map<std::string, std::string> info_fields(const std::string& info);

} // namespace switchyard::resp

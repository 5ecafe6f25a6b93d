// HAProxy's runtime API as the tests and rigs use it: one command over the
// stats socket, as an operator would send it, and a server's line of
// `show servers state`.
#pragma once

#include <chrono>
#include <sstream>
#include <string>

#include "strategies/actions/stream_socket.hpp"

namespace switchyard::testing {

/// HAProxy's answer to `command` on `socket` (it answers and closes); on
/// failure "error: <why>".
inline std::string haproxy_command(const std::string& socket, const std::string& command,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
  using strategies::stream_socket;
  std::string error;
  auto deadline = stream_socket::clock::now() + timeout;
  auto conn = stream_socket::connect(socket, deadline, error);
  if (!conn || !conn->send_all(command + "\n", deadline, error))
    return "error: " + error;
  std::string answer;
  conn->receive(
      answer, [](const std::string&) { return false; }, true, deadline, error);
  return answer;
}

/// `server`'s line of `show servers state <backend>` (be_id be_name srv_id
/// srv_name srv_addr srv_op_state srv_admin_state ...); "" when absent.
inline std::string haproxy_server_line(const std::string& socket, const std::string& backend,
                                       const std::string& server) {
  std::istringstream in(haproxy_command(socket, "show servers state " + backend));
  for (std::string line; std::getline(in, line);)
    if (line.find(" " + server + " ") != std::string::npos)
      return line;
  return "";
}

} // namespace switchyard::testing

#include "strategies/actions/haproxy_action.hpp"

#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "strategies/actions/stream_socket.hpp"

namespace switchyard::strategies {

namespace {

// srv_admin_state flags of `show servers state` (HAProxy's SRV_ADMF_*).
constexpr int admin_forced_maint = 0x01;
constexpr int admin_forced_drain = 0x08;

// One runtime API command: HAProxy answers and closes the connection.
bool ask(const std::string& socket, const std::string& command,
         stream_socket::clock::time_point deadline, std::string& answer, std::string& error) {
  auto conn = stream_socket::connect(socket, deadline, error);
  if (!conn || !conn->send_all(command + "\n", deadline, error))
    return false;
  return conn->receive(
      answer, [](const std::string&) { return false; }, true, deadline, error);
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

std::vector<std::string> fields(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string f; in >> f;)
    out.push_back(f);
  return out;
}

struct server_state {
  int admin = -1;
  int weight = -1;
};

// The server's row in `show servers state <backend>`, columns found by name.
bool read_state(const std::string& answer, const std::string& server, server_state& out) {
  std::istringstream in(answer);
  std::vector<std::string> header;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# ", 0) == 0) {
      header = fields(line.substr(2));
      continue;
    }
    auto row = fields(line);
    auto column = [&](const char* name) -> const std::string* {
      for (std::size_t i = 0; i < header.size() && i < row.size(); ++i)
        if (header[i] == name)
          return &row[i];
      return nullptr;
    };
    const auto* name = column("srv_name");
    if (name == nullptr || *name != server)
      continue;
    const auto* admin = column("srv_admin_state");
    const auto* weight = column("srv_uweight");
    if (admin == nullptr || weight == nullptr)
      return false;
    out.admin = std::stoi(*admin);
    out.weight = std::stoi(*weight);
    return true;
  }
  return false;
}

bool in_state(const server_state& s, config::haproxy_state want) {
  switch (want) {
  case config::haproxy_state::maint:
    return (s.admin & admin_forced_maint) != 0;
  case config::haproxy_state::drain:
    return (s.admin & admin_forced_drain) != 0 && (s.admin & admin_forced_maint) == 0;
  case config::haproxy_state::ready:
    return (s.admin & (admin_forced_maint | admin_forced_drain)) == 0;
  }
  return false;
}

} // namespace

haproxy_action::haproxy_action(config::action_settings settings) : settings_(std::move(settings)) {}

std::string haproxy_action::describe() const {
  auto server = settings_.server.empty() ? std::string{"<target>"} : settings_.server;
  auto text = fmt::format("haproxy {}: set server {}/{} state {}", settings_.socket,
                          settings_.backend, server, config::to_string(settings_.state));
  if (settings_.weight >= 0)
    text += fmt::format(", weight {}", settings_.weight);
  return text;
}

action_result haproxy_action::run(const action_context& ctx) {
  const auto started = stream_socket::clock::now();
  const auto deadline = started + settings_.timeout;
  auto finish = [&](bool ok, std::string detail) {
    return finished_action(started, deadline, ok, std::move(detail));
  };

  const auto server = settings_.server.empty() ? ctx.target : settings_.server;
  const auto path = settings_.backend + "/" + server;
  std::vector<std::string> commands{
      fmt::format("set server {} state {}", path, config::to_string(settings_.state))};
  if (settings_.weight >= 0)
    commands.push_back(fmt::format("set server {} weight {}", path, settings_.weight));
  for (const auto& command : commands) {
    std::string answer;
    std::string error;
    if (!ask(settings_.socket, command, deadline, answer, error))
      return finish(false, fmt::format("{}: {}", command, error));
    // Success is an empty answer; anything else is HAProxy saying why not.
    if (auto text = trimmed(answer); !text.empty())
      return finish(false, fmt::format("{}: haproxy says: {}", command, text));
  }
  std::string answer;
  std::string error;
  if (!ask(settings_.socket, "show servers state " + settings_.backend, deadline, answer, error))
    return finish(false, "reading the state back: " + error);
  server_state state;
  if (!read_state(answer, server, state))
    return finish(false,
                  fmt::format("server {} not in `show servers state {}`", path, settings_.backend));
  if (!in_state(state, settings_.state) ||
      (settings_.weight >= 0 && state.weight != settings_.weight))
    return finish(false,
                  fmt::format("{} reads back as admin state {} weight {}, not {}", path,
                              state.admin, state.weight, config::to_string(settings_.state)));
  return finish(true, fmt::format("{} is {} (weight {}) in {} ms", path,
                                  config::to_string(settings_.state), state.weight,
                                  std::chrono::duration_cast<std::chrono::milliseconds>(
                                      stream_socket::clock::now() - started)
                                      .count()));
}

} // namespace switchyard::strategies

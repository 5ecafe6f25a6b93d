#include "strategies/actions/haproxy_action.hpp"

#include <charconv>
#include <optional>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "strategies/actions/stream_socket.hpp"

namespace switchyard::strategies {

namespace {

// srv_admin_state flags of `show servers state` (HAProxy's SRV_ADMF_*).
constexpr int admin_forced_maint = 0x01;
constexpr int admin_forced_drain = 0x08;
// srv_op_state values (HAProxy's SRV_ST_*).
constexpr int op_stopped = 0;
constexpr int op_starting = 1;
constexpr int op_running = 2;
// srv_agent_state flag (HAProxy's CHK_ST_ENABLED): the server has an agent
// check that runs. Without one, HAProxy 2.6 refuses `set server ... agent`
// with "agent checks are not enabled on this server.", so it is not sent.
constexpr int check_enabled = 0x04;

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

std::optional<int> to_int(const std::string* text) {
  int value = 0;
  if (text == nullptr)
    return std::nullopt;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size())
    return std::nullopt;
  return value;
}

struct server_state {
  int admin = -1;
  int weight = -1;
  int op = -1;
  int agent = 0;
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
    auto admin = to_int(column("srv_admin_state"));
    auto weight = to_int(column("srv_uweight"));
    auto op = to_int(column("srv_op_state"));
    if (!admin || !weight || !op)
      return false;
    out = {*admin, *weight, *op, to_int(column("srv_agent_state")).value_or(0)};
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

const char* op_name(int op) {
  static constexpr const char* names[] = {"stopped", "starting", "running", "stopping"};
  return op >= 0 && op <= 3 ? names[op] : "unknown";
}

// Whether the operational state is what a forced health gives. A server in
// maintenance is stopped whatever its health: `health up` is kept for when
// it leaves maintenance, and cannot be seen before.
bool health_took(const server_state& s, config::haproxy_health health,
                 config::haproxy_state state) {
  switch (health) {
  case config::haproxy_health::leave:
    return true;
  case config::haproxy_health::up:
    return state == config::haproxy_state::maint || s.op == op_starting || s.op == op_running;
  case config::haproxy_health::down:
    return s.op == op_stopped;
  }
  return false;
}

} // namespace

haproxy_action::haproxy_action(config::action_settings settings) : settings_(std::move(settings)) {}

std::string haproxy_action::describe() const {
  auto server = settings_.server.empty() ? std::string{"<target>"} : settings_.server;
  auto text = fmt::format("haproxy {}: set server {}/{} state {}", settings_.socket,
                          settings_.backend, server, config::to_string(settings_.state));
  if (settings_.shutdown_sessions)
    text += ", shut down its sessions";
  if (settings_.health != config::haproxy_health::leave)
    text += fmt::format(", force health {0} (and agent {0} if it has an agent check)",
                        config::to_string(settings_.health));
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

  // The server's row, or why not: a connection error or HAProxy's own words.
  auto show_state = [&](server_state& state, std::string& why) {
    std::string answer;
    auto command = "show servers state " + settings_.backend;
    if (!ask(settings_.socket, command, deadline, answer, why))
      return false;
    if (read_state(answer, server, state))
      return true;
    why = answer.find("# be_id") == std::string::npos
              ? fmt::format("{}: haproxy says: {}", command, trimmed(answer))
              : fmt::format("server {} not in `{}`", path, command);
    return false;
  };

  const bool force_health = settings_.health != config::haproxy_health::leave;
  const auto* health = config::to_string(settings_.health);
  server_state before;
  if (std::string why; force_health && !show_state(before, why))
    return finish(false, "reading the state before forcing health: " + why);

  // The state first, so that the server is out of rotation before its
  // sessions are cut (clients reconnecting are not sent back to it).
  std::vector<std::string> commands{
      fmt::format("set server {} state {}", path, config::to_string(settings_.state))};
  if (settings_.shutdown_sessions)
    commands.push_back("shutdown sessions server " + path);
  if (force_health)
    commands.push_back(fmt::format("set server {} health {}", path, health));
  if (force_health && (before.agent & check_enabled) != 0)
    commands.push_back(fmt::format("set server {} agent {}", path, health));
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

  server_state state;
  if (std::string why; !show_state(state, why))
    return finish(false, "reading the state back: " + why);
  if (!in_state(state, settings_.state) ||
      (settings_.weight >= 0 && state.weight != settings_.weight))
    return finish(false,
                  fmt::format("{} reads back as admin state {} weight {}, not {}", path,
                              state.admin, state.weight, config::to_string(settings_.state)));
  if (!health_took(state, settings_.health, settings_.state))
    return finish(false, fmt::format("{} reads back as operationally {} after health {}", path,
                                     op_name(state.op), health));
  std::string extra;
  if (force_health)
    extra += fmt::format(", health forced {}{}", health,
                         (before.agent & check_enabled) != 0 ? " (and agent)" : "");
  if (settings_.shutdown_sessions)
    extra += ", sessions shut down";
  return finish(true, fmt::format("{} is {} (weight {}), operationally {}{} in {} ms", path,
                                  config::to_string(settings_.state), state.weight,
                                  op_name(state.op), extra,
                                  std::chrono::duration_cast<std::chrono::milliseconds>(
                                      stream_socket::clock::now() - started)
                                      .count()));
}

} // namespace switchyard::strategies

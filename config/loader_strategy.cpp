// A service's strategy: section: its phases and the actions in them (exec,
// haproxy, redis, webhook), with action names unique within the service.
#include "config/loader_support.hpp"

#include <limits>
#include <map>
#include <regex>
#include <string>
#include <utility>

namespace switchyard::config::detail {

namespace {

const std::regex env_key_pattern{"[A-Z_][A-Z0-9_]*"};

void read_action(yaml_reader& r, const YAML::Node& node, const std::string& f, action_settings& a) {
  if (!r.expect_map(node, f))
    return;
  read_name(r, node, f, a.name);
  if (r.require(node, "type", f))
    r.read_enum(node, "type", join(f, "type"), a.type,
                {{"exec", action_type::exec},
                 {"haproxy", action_type::haproxy},
                 {"redis", action_type::redis},
                 {"webhook", action_type::webhook},
                 {"postgres", action_type::postgres}});
  r.read(node, "rollback", join(f, "rollback"), a.rollback);
  r.read_enum(node, "target", join(f, "target"), a.on_other_standbys,
              {{"other_standbys", true}, {"new_primary", false}});
  auto required_text = [&](const char* key, std::string& out) {
    if (!r.require(node, key, f))
      return;
    r.read(node, key, join(f, key), out);
    if (out.empty() && node[key].IsScalar())
      r.fail(node[key], join(f, key), "must not be empty");
  };
  switch (a.type) {
  case action_type::exec:
    r.check_keys(node, f, {"name", "type", "command", "timeout", "env", "rollback", "target"});
    required_text("command", a.command);
    break;
  case action_type::haproxy:
    r.check_keys(node, f,
                 {"name", "type", "socket", "backend", "server", "state", "weight", "timeout",
                  "env", "rollback", "shutdown_sessions", "health", "target"});
    // A list of sockets is expanded by the caller (read_strategy).
    if (auto sockets = node["socket"]; !sockets.IsDefined() || !sockets.IsSequence())
      required_text("socket", a.socket);
    required_text("backend", a.backend);
    r.read_enum(node, "shutdown_sessions", join(f, "shutdown_sessions"), a.shutdown_sessions,
                {{"true", true}, {"false", false}});
    r.read_enum(node, "health", join(f, "health"), a.health,
                {{"up", haproxy_health::up}, {"down", haproxy_health::down}});
    r.read(node, "server", join(f, "server"), a.server);
    if (r.require(node, "state", f))
      r.read_enum(node, "state", join(f, "state"), a.state,
                  {{"ready", haproxy_state::ready},
                   {"drain", haproxy_state::drain},
                   {"maint", haproxy_state::maint}});
    r.read(node, "weight", join(f, "weight"), a.weight, 0, 256);
    if (a.shutdown_sessions && a.state == haproxy_state::ready)
      r.fail(node["shutdown_sessions"], join(f, "shutdown_sessions"),
             "only applies to state drain or maint (sessions of a server taken out of service)");
    break;
  case action_type::webhook: {
    r.check_keys(node, f,
                 {"name", "type", "method", "url", "headers", "body", "expected_status", "retries",
                  "retry_backoff", "timeout", "env", "rollback", "target"});
    required_text("url", a.url);
    if (!a.url.empty() && a.url.rfind("http://", 0) != 0 && a.url.rfind("https://", 0) != 0)
      r.fail(node["url"], join(f, "url"), "must start with http:// or https://");
    r.read_enum(node, "method", join(f, "method"), a.method,
                {{"GET", std::string{"GET"}},
                 {"POST", std::string{"POST"}},
                 {"PUT", std::string{"PUT"}},
                 {"PATCH", std::string{"PATCH"}},
                 {"DELETE", std::string{"DELETE"}}});
    r.read(node, "body", join(f, "body"), a.body);
    r.read(node, "expected_status", join(f, "expected_status"), a.expected_status, 100, 599);
    r.read(node, "retries", join(f, "retries"), a.retries, 0, 10);
    r.read(node, "retry_backoff", join(f, "retry_backoff"), a.retry_backoff);
    auto headers = node["headers"];
    if (headers.IsDefined() && r.expect_map(headers, join(f, "headers"))) {
      r.check_duplicates(headers, join(f, "headers"));
      for (const auto& kv : headers) {
        std::string value;
        if (r.scalar(kv.second, join(join(f, "headers"), kv.first.Scalar()), value))
          a.headers[kv.first.Scalar()] = value;
      }
    }
    break;
  }
  case action_type::postgres:
    r.check_keys(
        node, f,
        {"name", "type", "operation", "max_lag_bytes", "timeout", "env", "rollback", "target"});
    if (r.require(node, "operation", f))
      r.read_enum(node, "operation", join(f, "operation"), a.pg_operation,
                  {{"promote", postgres_operation::promote},
                   {"follow", postgres_operation::follow},
                   {"lsn", postgres_operation::lsn},
                   {"caught_up", postgres_operation::caught_up},
                   {"fence", postgres_operation::fence},
                   {"stop", postgres_operation::stop},
                   {"rejoin", postgres_operation::rejoin},
                   {"start", postgres_operation::start}});
    if (int lag = 0; r.read(node, "max_lag_bytes", join(f, "max_lag_bytes"), lag, 0,
                            std::numeric_limits<int>::max()))
      a.max_lag_bytes = lag;
    if (node["max_lag_bytes"].IsDefined() && a.pg_operation != postgres_operation::caught_up)
      r.fail(node["max_lag_bytes"], join(f, "max_lag_bytes"),
             "only applies to the caught_up operation");
    break;
  case action_type::redis:
    r.check_keys(node, f,
                 {"name", "type", "operation", "pause", "max_lag_bytes", "timeout", "env",
                  "rollback", "target"});
    if (r.require(node, "operation", f))
      r.read_enum(node, "operation", join(f, "operation"), a.operation,
                  {{"promote", redis_operation::promote},
                   {"follow", redis_operation::follow},
                   {"pause_writes", redis_operation::pause_writes},
                   {"offset", redis_operation::offset},
                   {"caught_up", redis_operation::caught_up}});
    r.read(node, "pause", join(f, "pause"), a.pause);
    if (int lag = 0; r.read(node, "max_lag_bytes", join(f, "max_lag_bytes"), lag, 0,
                            std::numeric_limits<int>::max()))
      a.max_lag_bytes = lag;
    if (node["max_lag_bytes"].IsDefined() && a.operation != redis_operation::caught_up)
      r.fail(node["max_lag_bytes"], join(f, "max_lag_bytes"),
             "only applies to the caught_up operation");
    if (a.operation == redis_operation::pause_writes && a.pause.count() <= 0)
      r.fail(node["operation"], join(f, "pause"),
             "pause_writes needs pause: how long writes stay paused (e.g. 30s)");
    break;
  }
  r.read(node, "timeout", join(f, "timeout"), a.timeout);
  if (node["timeout"].IsDefined() && a.timeout.count() <= 0)
    r.fail(node["timeout"], join(f, "timeout"), "must be greater than 0");
  auto env = node["env"];
  if (env.IsDefined() && r.expect_map(env, join(f, "env"))) {
    r.check_duplicates(env, join(f, "env"));
    for (const auto& kv : env) {
      auto key = kv.first.Scalar();
      auto field = join(join(f, "env"), key);
      if (!std::regex_match(key, env_key_pattern)) {
        r.fail(kv.first, field, "'" + key + "' is not a valid variable name ([A-Z_][A-Z0-9_]*)");
        continue;
      }
      std::string value;
      if (r.scalar(kv.second, field, value))
        a.env[key] = value;
    }
  }
}

// A haproxy action whose `socket:` lists several HAProxy instances becomes
// one action per socket, "<name>@<n>" (1-based), each its own journaled step.
std::vector<action_settings> per_socket(yaml_reader& r, const YAML::Node& node,
                                        const std::string& f, action_settings a) {
  auto sockets = node.IsMap() ? node["socket"] : YAML::Node{};
  if (a.type != action_type::haproxy || !sockets.IsDefined() || !sockets.IsSequence())
    return {std::move(a)};
  std::vector<action_settings> out;
  if (sockets.size() == 0)
    r.fail(sockets, join(f, "socket"), "lists no socket");
  for (std::size_t k = 0; k < sockets.size(); ++k) {
    std::string socket;
    if (!r.scalar(sockets[k], index(join(f, "socket"), k), socket))
      continue;
    if (socket.empty()) {
      r.fail(sockets[k], index(join(f, "socket"), k), "must not be empty");
      continue;
    }
    auto one = a;
    one.socket = socket;
    one.name = a.name + "@" + std::to_string(k + 1);
    out.push_back(std::move(one));
  }
  return out;
}

} // namespace

void read_strategy(yaml_reader& r, const YAML::Node& node, const std::string& f,
                   strategy_settings& s) {
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f,
               {"type", "checks", "demote", "fence", "promote", "reroute", "verify", "position",
                "rejoin", "readiness", "dead_when", "prepare", "integrity", "restart_in_place"});
  r.read_enum(node, "dead_when", join(f, "dead_when"), s.dead_when,
              {{"never", dead_rule::never}, {"refused", dead_rule::refused}});
  if (r.require(node, "type", f))
    r.read_enum(node, "type", join(f, "type"), s.type,
                {{"active_passive", strategy_type::active_passive}});
  std::map<std::string, std::string> seen; // action name -> field of first use
  auto unique_name = [&](const YAML::Node& at, const std::string& field, const std::string& name) {
    if (name.empty())
      return;
    auto [it, fresh] = seen.emplace(name, field);
    if (!fresh)
      r.fail(at["name"], join(field, "name"), "'" + name + "' is already used by " + it->second);
  };
  // The actions of `list` (written at `lf`), for the phase `key`.
  auto actions = [&](const YAML::Node& list, const std::string& lf, const std::string& key,
                     std::vector<action_settings>& out) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto field = index(lf, i);
      action_settings a;
      read_action(r, list[i], field, a);
      unique_name(list[i], field, a.name);
      if (a.on_other_standbys && key != "promote" && key != "reroute" && key != "verify")
        r.fail(list[i]["target"], join(field, "target"),
               "other_standbys only applies to promote, reroute and verify actions");
      for (auto& one : per_socket(r, list[i], field, std::move(a)))
        out.push_back(std::move(one));
    }
  };
  auto phase = [&](const char* key, std::vector<action_settings>& out) {
    auto list = node[key];
    if (list.IsDefined() && r.expect_sequence(list, join(f, key)))
      actions(list, join(f, key), key, out);
  };
  // `rejoin: none`: the operator takes care of a returning old primary.
  auto rejoin = node["rejoin"];
  bool rejoin_scalar = rejoin.IsDefined() && rejoin.IsScalar();
  if (rejoin_scalar) {
    if (rejoin.Scalar() == "none")
      s.rejoin_none = true;
    else
      r.fail(rejoin, join(f, "rejoin"),
             "'" + rejoin.Scalar() + "' is not a list of actions or none");
  }
  phase("checks", s.checks);
  phase("demote", s.demote);
  phase("fence", s.fence);
  phase("promote", s.promote);
  phase("reroute", s.reroute);
  phase("verify", s.verify);
  if (!rejoin_scalar)
    phase("rejoin", s.rejoin);
  phase("readiness", s.readiness);
  phase("prepare", s.prepare);
  phase("integrity", s.integrity);
  if (auto restart = node["restart_in_place"]; restart.IsDefined()) {
    auto rf = join(f, "restart_in_place");
    restart_settings rs;
    if (r.expect_map(restart, rf)) {
      r.check_keys(restart, rf, {"deadline", "actions"});
      if (r.read(restart, "deadline", join(rf, "deadline"), rs.deadline) &&
          rs.deadline.count() <= 0)
        r.fail(restart["deadline"], join(rf, "deadline"), "must be greater than 0");
      auto list = restart["actions"];
      if (r.require(restart, "actions", rf) && r.expect_sequence(list, join(rf, "actions"))) {
        if (list.size() == 0)
          r.fail(list, join(rf, "actions"), "lists no action: what would restart the primary?");
        actions(list, join(rf, "actions"), "restart", rs.actions);
      }
    }
    s.restart_in_place = std::move(rs);
  }
  // One action, not a list: a candidate has one replication position.
  if (auto pos = node["position"]; pos.IsDefined()) {
    auto field = join(f, "position");
    action_settings a;
    read_action(r, pos, field, a);
    unique_name(pos, field, a.name);
    if (a.type != action_type::exec &&
        !(a.type == action_type::redis && a.operation == redis_operation::offset) &&
        !(a.type == action_type::postgres && a.pg_operation == postgres_operation::lsn))
      r.fail(pos, field,
             "must be a redis action with operation offset, a postgres action with operation "
             "lsn, or an exec action that prints the position as its last line");
    s.position.push_back(std::move(a));
  }
}

} // namespace switchyard::config::detail

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
                 {"webhook", action_type::webhook}});
  r.read(node, "rollback", join(f, "rollback"), a.rollback);
  auto required_text = [&](const char* key, std::string& out) {
    if (!r.require(node, key, f))
      return;
    r.read(node, key, join(f, key), out);
    if (out.empty() && node[key].IsScalar())
      r.fail(node[key], join(f, key), "must not be empty");
  };
  switch (a.type) {
  case action_type::exec:
    r.check_keys(node, f, {"name", "type", "command", "timeout", "env", "rollback"});
    required_text("command", a.command);
    break;
  case action_type::haproxy:
    r.check_keys(node, f,
                 {"name", "type", "socket", "backend", "server", "state", "weight", "timeout",
                  "env", "rollback"});
    required_text("socket", a.socket);
    required_text("backend", a.backend);
    r.read(node, "server", join(f, "server"), a.server);
    if (r.require(node, "state", f))
      r.read_enum(node, "state", join(f, "state"), a.state,
                  {{"ready", haproxy_state::ready},
                   {"drain", haproxy_state::drain},
                   {"maint", haproxy_state::maint}});
    r.read(node, "weight", join(f, "weight"), a.weight, 0, 256);
    break;
  case action_type::webhook: {
    r.check_keys(node, f,
                 {"name", "type", "method", "url", "headers", "body", "expected_status", "retries",
                  "retry_backoff", "timeout", "env", "rollback"});
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
  case action_type::redis:
    r.check_keys(
        node, f,
        {"name", "type", "operation", "pause", "max_lag_bytes", "timeout", "env", "rollback"});
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

} // namespace

void read_strategy(yaml_reader& r, const YAML::Node& node, const std::string& f,
                   strategy_settings& s) {
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f,
               {"type", "checks", "demote", "fence", "promote", "reroute", "verify", "position",
                "rejoin", "readiness", "dead_when", "prepare", "integrity"});
  r.read_enum(node, "dead_when", join(f, "dead_when"), s.dead_when,
              {{"never", dead_rule::never}, {"refused", dead_rule::refused}});
  if (r.require(node, "type", f))
    r.read_enum(node, "type", join(f, "type"), s.type,
                {{"active_passive", strategy_type::active_passive}});
  std::map<std::string, std::string> seen; // action name -> field of first use
  auto phase = [&](const char* key, std::vector<action_settings>& out) {
    auto list = node[key];
    if (!list.IsDefined() || !r.expect_sequence(list, join(f, key)))
      return;
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto field = index(join(f, key), i);
      action_settings a;
      read_action(r, list[i], field, a);
      if (!a.name.empty()) {
        auto [it, fresh] = seen.emplace(a.name, field);
        if (!fresh)
          r.fail(list[i]["name"], join(field, "name"),
                 "'" + a.name + "' is already used by " + it->second);
      }
      out.push_back(std::move(a));
    }
  };
  phase("checks", s.checks);
  phase("demote", s.demote);
  phase("fence", s.fence);
  phase("promote", s.promote);
  phase("reroute", s.reroute);
  phase("verify", s.verify);
  phase("rejoin", s.rejoin);
  phase("readiness", s.readiness);
  phase("prepare", s.prepare);
  phase("integrity", s.integrity);
  // One action, not a list: a candidate has one replication position.
  if (auto pos = node["position"]; pos.IsDefined()) {
    auto field = join(f, "position");
    action_settings a;
    read_action(r, pos, field, a);
    if (!a.name.empty()) {
      auto [it, fresh] = seen.emplace(a.name, field);
      if (!fresh)
        r.fail(pos["name"], join(field, "name"),
               "'" + a.name + "' is already used by " + it->second);
    }
    if (a.type != action_type::exec &&
        !(a.type == action_type::redis && a.operation == redis_operation::offset))
      r.fail(pos, field,
             "must be a redis action with operation offset, or an exec action that "
             "prints the position as its last line");
    s.position.push_back(std::move(a));
  }
}

} // namespace switchyard::config::detail

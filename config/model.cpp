// Names of the configuration enums and the small helpers of switchyard_config.
#include "config/model.hpp"

#include <filesystem>

namespace switchyard::config {

const char* to_string(log_level x) {
  switch (x) {
  case log_level::trace:
    return "trace";
  case log_level::debug:
    return "debug";
  case log_level::info:
    return "info";
  case log_level::warn:
    return "warn";
  case log_level::error:
    return "error";
  }
  return "?";
}

const char* to_string(check_type x) {
  switch (x) {
  case check_type::tcp:
    return "tcp";
  case check_type::http:
    return "http";
  case check_type::exec:
    return "exec";
  case check_type::redis:
    return "redis";
  case check_type::grpc:
    return "grpc";
  case check_type::postgres:
    return "postgres";
  }
  return "?";
}

const char* to_string(instance_role x) {
  return x == instance_role::primary ? "primary" : "standby";
}

const char* to_string(strategy_type) {
  return "active_passive";
}

const char* to_string(action_type x) {
  switch (x) {
  case action_type::exec:
    return "exec";
  case action_type::haproxy:
    return "haproxy";
  case action_type::redis:
    return "redis";
  case action_type::webhook:
    return "webhook";
  case action_type::postgres:
    return "postgres";
  }
  return "?";
}

const char* to_string(haproxy_state x) {
  switch (x) {
  case haproxy_state::ready:
    return "ready";
  case haproxy_state::drain:
    return "drain";
  case haproxy_state::maint:
    return "maint";
  }
  return "?";
}

const char* to_string(haproxy_health x) {
  switch (x) {
  case haproxy_health::leave:
    return "leave";
  case haproxy_health::up:
    return "up";
  case haproxy_health::down:
    return "down";
  }
  return "?";
}

const char* to_string(postgres_operation x) {
  switch (x) {
  case postgres_operation::promote:
    return "promote";
  case postgres_operation::follow:
    return "follow";
  case postgres_operation::lsn:
    return "lsn";
  case postgres_operation::caught_up:
    return "caught_up";
  case postgres_operation::fence:
    return "fence";
  case postgres_operation::stop:
    return "stop";
  case postgres_operation::rejoin:
    return "rejoin";
  case postgres_operation::start:
    return "start";
  }
  return "?";
}

const char* to_string(redis_operation x) {
  switch (x) {
  case redis_operation::promote:
    return "promote";
  case redis_operation::follow:
    return "follow";
  case redis_operation::pause_writes:
    return "pause_writes";
  case redis_operation::offset:
    return "offset";
  case redis_operation::caught_up:
    return "caught_up";
  }
  return "?";
}

const char* to_string(dead_rule x) {
  switch (x) {
  case dead_rule::never:
    return "never";
  case dead_rule::refused:
    return "refused";
  }
  return "?";
}

std::string switchyard_config::database_path() const {
  return (std::filesystem::path(orchestrator.data_dir) / orchestrator.database).string();
}

const service_settings* switchyard_config::find_service(const std::string& name) const {
  if (auto it = service_index.find(name); it != service_index.end() &&
                                          it->second < services.size() &&
                                          services[it->second].name == name)
    return &services[it->second];
  // Not indexed (a config built by hand) or stale (changed since): scan.
  for (const auto& s : services)
    if (s.name == name)
      return &s;
  return nullptr;
}

void switchyard_config::index_services() {
  service_index.clear();
  service_index.reserve(services.size());
  // emplace keeps the first of two services with one name, as the scan finds it.
  for (std::size_t i = 0; i < services.size(); ++i)
    service_index.emplace(services[i].name, i);
}

const instance_settings* service_settings::find_instance(const std::string& instance_name) const {
  for (const auto& inst : instances)
    if (inst.name == instance_name)
      return &inst;
  return nullptr;
}

const cluster_member* cluster_settings::find(const std::string& name) const {
  for (const auto& m : members)
    if (m.name == name)
      return &m;
  return nullptr;
}

std::string describe_rejoin(const service_settings& svc) {
  const auto& s = svc.strategy;
  if (s.rejoin_none)
    return "none: a returning old primary is left as it is and may stay writable next to the new "
           "one (rejoin: none)";
  if (s.rejoin.empty())
    return "none configured: a returning old instance is left as it is";
  if (s.rejoin_defaulted) {
    const auto& a = s.rejoin.front();
    return std::string{"a returning old primary is made a replica of the primary (default: "} +
           to_string(a.type) + " " +
           (a.type == action_type::postgres ? to_string(a.pg_operation) : to_string(a.operation)) +
           "; rejoin: none turns it off)";
  }
  std::string names;
  for (const auto& a : s.rejoin)
    names += (names.empty() ? "" : ", ") + a.name;
  return "a returning old primary is made a replica of the primary (rejoin: " + names + ")";
}

} // namespace switchyard::config

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

} // namespace switchyard::config

// Internal to the configuration loader (config/loader*.cpp), not for other
// folders: the value readers every section shares (names, decimal numbers,
// addresses, paths; errors go through yaml_reader, which names file, line and
// field) and the section readers the top level (loader.cpp) calls.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/model.hpp"
#include "config/yaml_reader.hpp"

namespace switchyard::config::detail {

// --- Shared value readers (loader_support.cpp) ---

bool valid_name(const std::string& s);

// The required `name` of `map`, checked against the name syntax.
void read_name(yaml_reader& r, const YAML::Node& map, const std::string& field, std::string& out);
// The same for the required name under `key` (e.g. cluster.member); true if
// it is present and valid.
bool read_name(yaml_reader& r, const YAML::Node& map, const char* key, const std::string& field,
               std::string& out);

// The whole of `text` as a decimal number (8, 8.5, 0.25), if it is one.
std::optional<double> decimal_of(const std::string& text);

// Reads `key` as a decimal number, optionally written as a percentage ("5%",
// divided by 100 when `percent_is_share`, kept as is otherwise), and stores
// it if `valid`; otherwise reports "'<text>' is not <what>".
template <class Valid>
bool read_decimal(yaml_reader& r, const YAML::Node& map, const char* key, const std::string& field,
                  double& out, bool allow_percent, bool percent_is_share, Valid valid,
                  const std::string& what) {
  if (!map[key].IsDefined())
    return true;
  std::string text;
  if (!r.scalar(map[key], field, text))
    return false;
  bool percent = allow_percent && !text.empty() && text.back() == '%';
  auto value = decimal_of(percent ? text.substr(0, text.size() - 1) : text);
  if (value && percent && percent_is_share)
    *value /= 100;
  if (!value || !valid(*value)) {
    r.fail(map[key], field, "'" + text + "' is not " + what);
    return false;
  }
  out = *value;
  return true;
}

// A share of a whole: a number greater than 0 and at most 1 (0.5, 1, 0.75).
bool read_share(yaml_reader& r, const YAML::Node& map, const char* key, const std::string& field,
                double& out);

// A decimal number within [min, max] (8, 8.5, 0.25); `range` says so in words.
bool read_number(yaml_reader& r, const YAML::Node& map, const char* key, const std::string& field,
                 double& out, double min, double max, const char* range);

// A fraction written as a share (0.05) or a percentage (5%), within [0, 1).
bool read_fraction(yaml_reader& r, const YAML::Node& map, const char* key, const std::string& field,
                   double& out);

// "host:port", "[v6]:port"
bool split_address(const std::string& text, std::string& host, std::uint16_t& port);

// A listener's "host:port"; port 0 (pick a free one) is valid here.
bool valid_listen_address(const std::string& listen);

// `path` as resolve_paths() will make it: relative paths resolve against the config file's folder.
std::string resolve_against(const std::string& config_file, const std::string& path);

// --- Sections ---

// orchestrator: and api: (loader_orchestrator.cpp).
void read_orchestrator(yaml_reader& r, const YAML::Node& node, orchestrator_settings& o);
void read_api(yaml_reader& r, const YAML::Node& node, api_settings& a);

// cluster: the replicas, etcd, the leader lease's timings and the vantage
// points' quorum (loader_cluster.cpp). `c.mark` is set by the caller.
void read_cluster(yaml_reader& r, const YAML::Node& node, cluster_settings& c);

// One entry of services: with its health check, instances, objectives and
// performance monitoring (loader_services.cpp).
void read_service(yaml_reader& r, const YAML::Node& node, const std::string& f,
                  service_settings& svc);

// Once every service is read: each name in a depends_on must be another
// configured service, listed once, and no dependencies may form a cycle.
void check_dependencies(yaml_reader& r, const YAML::Node& list,
                        const std::vector<service_settings>& services);

// backups: (policies, their tiers, the state's policy) and a service's
// backup: (loader_backups.cpp); check_backups cross-checks the names once
// everything is read; resolve_backup_paths makes the paths absolute.
void read_backups(yaml_reader& r, const YAML::Node& node, backups_settings& b);
void read_service_backup(yaml_reader& r, const YAML::Node& node, const std::string& f,
                         service_backup_settings& b);
void check_backups(yaml_reader& r, const YAML::Node& root, const switchyard_config& cfg);
void resolve_backup_paths(switchyard_config& cfg);

// A service's strategy: and its actions (loader_strategy.cpp).
void read_strategy(yaml_reader& r, const YAML::Node& node, const std::string& f,
                   strategy_settings& s);

// A service's postgres: section (loader_postgres.cpp).
void read_postgres(yaml_reader& r, const YAML::Node& node, const std::string& f,
                   postgres_settings& p);
// Once a service is read: the postgres settings a postgres check or action
// needs (defaults when `postgres:` is left out), the data directories its
// local operations need, and the safe rejoin default of a service whose data
// has one writer (loader_postgres.cpp).
void finish_data_service(yaml_reader& r, const YAML::Node& node, const std::string& f,
                         service_settings& svc);

} // namespace switchyard::config::detail

// The services: section: each service with its health check, instances,
// objectives (and declared backups), performance monitoring and depends_on.
#include "config/loader_support.hpp"

#include <algorithm>
#include <map>
#include <regex>
#include <string>
#include <unordered_set>
#include <utility>

#include "config/dependencies.hpp"

namespace switchyard::config::detail {

namespace {

void read_health_check(yaml_reader& r, const YAML::Node& node, const std::string& f,
                       health_check_settings& h) {
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f,
               {"type", "path", "expected_status", "command", "interval", "timeout", "jitter",
                "rise", "fall", "fast_detection", "grpc_service", "phi_threshold"});
  bool type_ok = r.require(node, "type", f) && r.read_enum(node, "type", join(f, "type"), h.type,
                                                           {{"tcp", check_type::tcp},
                                                            {"http", check_type::http},
                                                            {"exec", check_type::exec},
                                                            {"redis", check_type::redis},
                                                            {"grpc", check_type::grpc},
                                                            {"postgres", check_type::postgres}});
  bool path_ok = r.read(node, "path", join(f, "path"), h.path);
  r.read(node, "expected_status", join(f, "expected_status"), h.expected_status, 100, 599);
  r.read(node, "command", join(f, "command"), h.command);
  bool interval_ok = r.read(node, "interval", join(f, "interval"), h.interval);
  bool timeout_ok = r.read(node, "timeout", join(f, "timeout"), h.timeout);
  bool jitter_ok = r.read(node, "jitter", join(f, "jitter"), h.jitter);
  r.read(node, "rise", join(f, "rise"), h.rise, 1, 100);
  r.read(node, "fall", join(f, "fall"), h.fall, 1, 100);
  r.read_enum(node, "fast_detection", join(f, "fast_detection"), h.fast_detection,
              {{"true", true}, {"false", false}});
  r.read(node, "grpc_service", join(f, "grpc_service"), h.grpc_service);
  if (double phi = 0; node["phi_threshold"].IsDefined() &&
                      read_number(r, node, "phi_threshold", join(f, "phi_threshold"), phi, 0.1, 100,
                                  "a number from 0.1 to 100 (e.g. 8)"))
    h.phi_threshold = phi;

  // Checks that depend on the type only make sense once the type is known.
  if (type_ok) {
    auto type_name = to_string(h.type);
    if (h.type != check_type::http) {
      for (const char* key : {"path", "expected_status"})
        if (node[key].IsDefined())
          r.fail(node[key], join(f, key),
                 std::string("only applies to http checks, not ") + type_name);
    } else if (path_ok && node["path"].IsDefined() && (h.path.empty() || h.path.front() != '/')) {
      r.fail(node["path"], join(f, "path"), "'" + h.path + "' must start with '/'");
    }
    if (h.type == check_type::exec) {
      if (h.command.empty())
        r.fail(node["command"].IsDefined() ? node["command"] : node, join(f, "command"),
               "an exec check needs a non-empty command");
    } else if (node["command"].IsDefined()) {
      r.fail(node["command"], join(f, "command"),
             std::string("only applies to exec checks, not ") + type_name);
    }
    if (node["fast_detection"].IsDefined() && h.type != check_type::tcp &&
        h.type != check_type::redis && h.type != check_type::postgres)
      r.fail(node["fast_detection"], join(f, "fast_detection"),
             std::string("only applies to tcp, redis and postgres checks, not ") + type_name);
    if (node["grpc_service"].IsDefined() && h.type != check_type::grpc)
      r.fail(node["grpc_service"], join(f, "grpc_service"),
             std::string("only applies to grpc checks, not ") + type_name);
  }
  // Comparisons only between values that were written correctly (or defaulted):
  // one typo must not turn into three errors.
  bool interval_valid = interval_ok && h.interval >= milliseconds{10};
  if (interval_ok && !interval_valid)
    r.fail(node["interval"], join(f, "interval"), "must be at least 10ms");
  if (timeout_ok && h.timeout.count() <= 0)
    r.fail(node["timeout"], join(f, "timeout"), "must be greater than 0");
  else if (timeout_ok && interval_valid && h.timeout > h.interval)
    r.fail(node["timeout"].IsDefined() ? node["timeout"] : node, join(f, "timeout"),
           "must not be longer than interval (" + std::to_string(h.interval.count()) + "ms)");
  if (jitter_ok && interval_valid && h.jitter.count() > 0 && h.jitter >= h.interval)
    r.fail(node["jitter"], join(f, "jitter"), "must be shorter than interval");
}

void read_instance(yaml_reader& r, const YAML::Node& node, const std::string& f,
                   instance_settings& inst) {
  inst.mark = r.mark_of(node);
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f, {"name", "address", "site", "role", "priority", "data_directory"});
  read_name(r, node, f, inst.name);
  if (r.require(node, "address", f)) {
    std::string address;
    r.read(node, "address", join(f, "address"), address);
    if (!address.empty() && !split_address(address, inst.host, inst.port))
      r.fail(node["address"], join(f, "address"),
             "'" + address +
                 "' is not host:port (host: a name, an IPv4 address or an [IPv6] address; "
                 "port: 1..65535)");
  }
  if (r.read(node, "site", join(f, "site"), inst.site) && inst.site.empty())
    r.fail(node["site"], join(f, "site"), "must not be empty (leave it out for \"default\")");
  if (r.require(node, "role", f))
    r.read_enum(node, "role", join(f, "role"), inst.role,
                {{"primary", instance_role::primary}, {"standby", instance_role::standby}});
  r.read(node, "priority", join(f, "priority"), inst.priority, 0, 1000);
  if (r.read(node, "data_directory", join(f, "data_directory"), inst.data_directory) &&
      node["data_directory"].IsDefined() &&
      (inst.data_directory.empty() || inst.data_directory.front() != '/'))
    r.fail(node["data_directory"], join(f, "data_directory"),
           "'" + inst.data_directory + "' must be an absolute path");
}

void read_objectives(yaml_reader& r, const YAML::Node& node, const std::string& f, objectives& o) {
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f, {"rto", "rpo", "sla", "backup"});
  r.read(node, "rto", join(f, "rto"), o.rto);
  r.read(node, "rpo", join(f, "rpo"), o.rpo);
  // The declared backups (3-2-1 rule: copies, kinds of media, offsite copies).
  if (auto backup = node["backup"]; backup.IsDefined()) {
    auto bf = join(f, "backup");
    backup_settings b;
    if (r.expect_map(backup, bf)) {
      r.check_keys(backup, bf, {"copies", "media", "offsite"});
      r.read(backup, "copies", join(bf, "copies"), b.copies, 0, 1000);
      r.read(backup, "media", join(bf, "media"), b.media, 0, 1000);
      r.read(backup, "offsite", join(bf, "offsite"), b.offsite, 0, 1000);
    }
    o.backup = b;
  }
  // A percentage, with or without the sign: 99.95 or 99.95%.
  read_decimal(
      r, node, "sla", join(f, "sla"), o.sla_percent, true, false,
      [](double v) { return v > 0 && v <= 100; }, "a percentage above 0 and at most 100");
}

// A Prometheus metric name.
bool valid_metric_name(const std::string& s) {
  static const std::regex pattern{"[a-zA-Z_:][a-zA-Z0-9_:]*"};
  return std::regex_match(s, pattern);
}

void read_metrics(yaml_reader& r, const YAML::Node& node, const std::string& f,
                  metrics_settings& m) {
  if (!r.expect_map(node, f))
    return;
  r.check_keys(
      node, f,
      {"path", "port", "interval", "timeout", "requests_counter", "errors_counter", "latency"});
  if (r.read(node, "path", join(f, "path"), m.path) && node["path"].IsDefined() &&
      (m.path.empty() || m.path.front() != '/'))
    r.fail(node["path"], join(f, "path"), "'" + m.path + "' must start with '/'");
  if (int port = 0;
      node["port"].IsDefined() && r.read(node, "port", join(f, "port"), port, 1, 65535))
    m.port = static_cast<std::uint16_t>(port);
  bool interval_ok = r.read(node, "interval", join(f, "interval"), m.interval);
  bool timeout_ok = r.read(node, "timeout", join(f, "timeout"), m.timeout);
  if (interval_ok && m.interval < milliseconds{100})
    r.fail(node["interval"], join(f, "interval"), "must be at least 100ms");
  else if (timeout_ok && m.timeout.count() <= 0)
    r.fail(node["timeout"], join(f, "timeout"), "must be greater than 0");
  else if (interval_ok && timeout_ok && m.timeout > m.interval)
    r.fail(node["timeout"].IsDefined() ? node["timeout"] : node, join(f, "timeout"),
           "must not be longer than interval (" + std::to_string(m.interval.count()) + "ms)");
  for (auto [key, out] :
       {std::pair{"requests_counter", &m.requests_counter},
        std::pair{"errors_counter", &m.errors_counter}, std::pair{"latency", &m.latency}})
    if (r.read(node, key, join(f, key), *out) && node[key].IsDefined() && !valid_metric_name(*out))
      r.fail(node[key], join(f, key), "'" + *out + "' is not a Prometheus metric name");
}

void read_performance(yaml_reader& r, const YAML::Node& node, const std::string& f,
                      performance_settings& p) {
  if (!r.expect_map(node, f))
    return;
  r.check_keys(
      node, f,
      {"max_mean_latency", "max_error_rate", "min_throughput_ratio", "hold", "window", "metrics"});
  if (r.read(node, "max_mean_latency", join(f, "max_mean_latency"), p.max_mean_latency) &&
      p.max_mean_latency.count() <= 0)
    r.fail(node["max_mean_latency"], join(f, "max_mean_latency"), "must be greater than 0");
  read_fraction(r, node, "max_error_rate", join(f, "max_error_rate"), p.max_error_rate);
  read_fraction(r, node, "min_throughput_ratio", join(f, "min_throughput_ratio"),
                p.min_throughput_ratio);
  r.read(node, "hold", join(f, "hold"), p.hold);
  if (r.read(node, "window", join(f, "window"), p.window) && p.window < milliseconds{1'000})
    r.fail(node["window"], join(f, "window"), "must be at least 1s");
  if (auto m = node["metrics"]; m.IsDefined()) {
    metrics_settings metrics;
    read_metrics(r, m, join(f, "metrics"), metrics);
    p.metrics = metrics;
  }
}

} // namespace

void read_service(yaml_reader& r, const YAML::Node& node, const std::string& f,
                  service_settings& svc) {
  svc.mark = r.mark_of(node);
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f,
               {"name", "block_period", "objectives", "health_check", "instances", "strategy",
                "shadow", "min_healthy_standbys", "depends_on", "performance", "readiness_interval",
                "backup", "postgres"});
  read_name(r, node, f, svc.name);
  r.read(node, "block_period", join(f, "block_period"), svc.block_period);
  // The names are checked once every service is known (check_dependencies).
  if (auto deps = node["depends_on"];
      deps.IsDefined() && r.expect_sequence(deps, join(f, "depends_on")))
    for (std::size_t k = 0; k < deps.size(); ++k)
      if (std::string dep; r.scalar(deps[k], index(join(f, "depends_on"), k), dep))
        svc.depends_on.push_back(dep);
  r.read_enum(node, "shadow", join(f, "shadow"), svc.shadow, {{"true", true}, {"false", false}});
  bool min_ok = r.read(node, "min_healthy_standbys", join(f, "min_healthy_standbys"),
                       svc.min_healthy_standbys, 1, 100);
  if (r.read(node, "readiness_interval", join(f, "readiness_interval"), svc.readiness_interval) &&
      node["readiness_interval"].IsDefined() && svc.readiness_interval < milliseconds{1'000})
    r.fail(node["readiness_interval"], join(f, "readiness_interval"), "must be at least 1s");
  if (node["objectives"].IsDefined())
    read_objectives(r, node["objectives"], join(f, "objectives"), svc.objective);
  if (auto backup = node["backup"]; backup.IsDefined()) {
    service_backup_settings b;
    read_service_backup(r, backup, join(f, "backup"), b);
    svc.backup = std::move(b);
  }
  if (auto pg = node["postgres"]; pg.IsDefined()) {
    postgres_settings p;
    read_postgres(r, pg, join(f, "postgres"), p);
    svc.postgres = std::move(p);
  }
  if (r.require(node, "health_check", f))
    read_health_check(r, node["health_check"], join(f, "health_check"), svc.health_check);
  // Present (even empty: `performance: {}`) turns performance monitoring on.
  if (auto perf = node["performance"]; perf.IsDefined()) {
    performance_settings p;
    read_performance(r, perf, join(f, "performance"), p);
    svc.performance = p;
  }
  if (r.require(node, "strategy", f))
    read_strategy(r, node["strategy"], join(f, "strategy"), svc.strategy);
  if (!r.require(node, "instances", f))
    return;
  auto list = node["instances"];
  auto lf = join(f, "instances");
  if (!r.expect_sequence(list, lf))
    return;
  int primaries = 0;
  int standbys = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    instance_settings inst;
    read_instance(r, list[i], index(lf, i), inst);
    // Count by the written role, so an invalid role is neither.
    auto role = list[i].IsMap() ? list[i]["role"] : YAML::Node{};
    if (role.IsScalar() && role.Scalar() == "primary" && ++primaries > 1)
      r.fail(role, join(index(lf, i), "role"), "a second primary: a service has exactly one");
    if (role.IsScalar() && role.Scalar() == "standby")
      ++standbys;
    svc.instances.push_back(std::move(inst));
  }
  finish_data_service(r, node, f, svc);
  if (primaries == 0)
    r.fail(list, lf, "no instance has role primary: a service needs exactly one");
  if (standbys == 0 && svc.strategy.type == strategy_type::active_passive)
    r.fail(list, lf, "no standby: an active_passive service needs at least one to fail over to");
  else if (min_ok && node["min_healthy_standbys"].IsDefined() &&
           svc.min_healthy_standbys > standbys)
    r.fail(node["min_healthy_standbys"], join(f, "min_healthy_standbys"),
           std::to_string(svc.min_healthy_standbys) + " but the service has " +
               std::to_string(standbys) + (standbys == 1 ? " standby" : " standbys") +
               ": no automatic failover could ever happen");
}

// Once every service is read: each name in a depends_on must be another
// configured service, listed once, and no dependencies may form a cycle.
void check_dependencies(yaml_reader& r, const YAML::Node& list,
                        const std::vector<service_settings>& services) {
  std::string known;
  std::unordered_set<std::string> names; // not a scan per dependency: fleets are large
  for (const auto& svc : services) {
    names.insert(svc.name);
    if (!svc.name.empty())
      known += known.empty() ? svc.name : ", " + svc.name;
  }
  dependency_graph graph;
  std::map<std::string, std::size_t> position; // service -> its index in the file
  for (std::size_t i = 0; i < services.size(); ++i) {
    const auto& svc = services[i];
    auto f = join(index("services", i), "depends_on");
    auto deps =
        list[i].IsMap() && list[i]["depends_on"].IsDefined() ? list[i]["depends_on"] : YAML::Node{};
    std::vector<std::string> valid;
    for (std::size_t k = 0; deps.IsSequence() && k < deps.size(); ++k) {
      if (!deps[k].IsScalar())
        continue; // reported when it was read
      auto dep = deps[k].Scalar();
      auto field = index(f, k);
      auto found = names.count(dep) > 0;
      if (dep == svc.name)
        r.fail(deps[k], field, "'" + dep + "' is this service: a service cannot depend on itself");
      else if (!found)
        r.fail(deps[k], field,
               "'" + dep + "' is not a configured service (services: " + known + ")");
      else if (std::find(valid.begin(), valid.end(), dep) != valid.end())
        r.fail(deps[k], field, "'" + dep + "' is listed twice");
      else
        valid.push_back(dep);
    }
    if (!svc.name.empty() && position.emplace(svc.name, i).second)
      graph.add(svc.name, std::move(valid));
  }
  for (const auto& cycle : graph.cycles()) {
    auto i = position.at(cycle.front());
    r.fail(list[i]["depends_on"], join(index("services", i), "depends_on"),
           "dependency cycle: " + describe_cycle(cycle));
  }
}

} // namespace switchyard::config::detail

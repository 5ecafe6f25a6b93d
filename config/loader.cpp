// Reads a switchyardd configuration file into switchyard_config and checks
// every rule an operator could break, collecting all errors at once.
#include "config/loader.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <system_error>

#include "config/dependencies.hpp"
#include "config/file_read.hpp"
#include "config/yaml_reader.hpp"

namespace switchyard::config {

std::string to_string(const config_error& err) {
  return err.where.file + ":" + std::to_string(err.where.line) + ":" +
         std::to_string(err.where.column) + ": " + err.field + ": " + err.message;
}

namespace {

const std::regex name_pattern{"[a-z0-9][a-z0-9_.-]{0,62}"};
const std::regex env_key_pattern{"[A-Z_][A-Z0-9_]*"};

bool valid_name(const std::string& s) {
  return std::regex_match(s, name_pattern);
}

void read_name(yaml_reader& r, const YAML::Node& map, const std::string& field, std::string& out) {
  if (!r.require(map, "name", field))
    return;
  if (r.read(map, "name", join(field, "name"), out) && !valid_name(out))
    r.fail(map["name"], join(field, "name"),
           "'" + out +
               "' is not a valid name (lowercase letters, digits, '_', '.', '-'; "
               "starts with a letter or digit; at most 63 characters)");
}

void read_supervisor(yaml_reader& r, const YAML::Node& node, supervisor_settings& s) {
  const std::string f = "orchestrator.supervisor";
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f, {"max_restarts", "restart_window", "initial_backoff", "max_backoff"});
  r.read(node, "max_restarts", join(f, "max_restarts"), s.max_restarts, 1, 1000);
  bool window_ok = r.read(node, "restart_window", join(f, "restart_window"), s.restart_window);
  bool initial_ok = r.read(node, "initial_backoff", join(f, "initial_backoff"), s.initial_backoff);
  bool max_ok = r.read(node, "max_backoff", join(f, "max_backoff"), s.max_backoff);
  if (window_ok && s.restart_window.count() <= 0)
    r.fail(node["restart_window"], join(f, "restart_window"), "must be greater than 0");
  if (initial_ok && s.initial_backoff.count() <= 0)
    r.fail(node["initial_backoff"], join(f, "initial_backoff"), "must be greater than 0");
  else if (initial_ok && max_ok && s.max_backoff < s.initial_backoff)
    r.fail(node["max_backoff"].IsDefined() ? node["max_backoff"] : node, join(f, "max_backoff"),
           "must not be shorter than initial_backoff");
}

void read_tilt(yaml_reader& r, const YAML::Node& node, tilt_settings& t) {
  const std::string f = "orchestrator.safety.tilt";
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f, {"max_timer_lag", "duration"});
  // Well above the coordinator's 100 ms tick, or ordinary scheduling jitter would enter TILT.
  if (r.read(node, "max_timer_lag", join(f, "max_timer_lag"), t.max_timer_lag) &&
      t.max_timer_lag < milliseconds{500})
    r.fail(node["max_timer_lag"], join(f, "max_timer_lag"),
           "must be at least 500ms (the coordinator's timer ticks every 100ms)");
  if (r.read(node, "duration", join(f, "duration"), t.duration) && t.duration.count() <= 0)
    r.fail(node["duration"], join(f, "duration"), "must be greater than 0");
}

void read_safety(yaml_reader& r, const YAML::Node& node, safety_settings& s) {
  const std::string f = "orchestrator.safety";
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f, {"max_concurrent_failovers", "max_failovers_per_hour", "shadow", "tilt"});
  r.read(node, "max_concurrent_failovers", join(f, "max_concurrent_failovers"),
         s.max_concurrent_failovers, 1, 1000);
  r.read(node, "max_failovers_per_hour", join(f, "max_failovers_per_hour"),
         s.max_failovers_per_hour, 1, 10000);
  r.read_enum(node, "shadow", join(f, "shadow"), s.shadow, {{"true", true}, {"false", false}});
  if (node["tilt"].IsDefined())
    read_tilt(r, node["tilt"], s.tilt);
}

// The whole of `text` as a decimal number (8, 8.5, 0.25), if it is one.
std::optional<double> decimal_of(const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || stop != end)
    return std::nullopt;
  return value;
}

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
                double& out) {
  return read_decimal(
      r, map, key, field, out, false, false, [](double v) { return v > 0.0 && v <= 1.0; },
      "a share: a number greater than 0 and at most 1 (e.g. 0.5)");
}

// A decimal number within [min, max] (8, 8.5, 0.25); `range` says so in words.
bool read_number(yaml_reader& r, const YAML::Node& map, const char* key, const std::string& field,
                 double& out, double min, double max, const char* range) {
  return read_decimal(
      r, map, key, field, out, false, false, [min, max](double v) { return v >= min && v <= max; },
      range);
}

// A fraction written as a share (0.05) or a percentage (5%), within [0, 1).
bool read_fraction(yaml_reader& r, const YAML::Node& map, const char* key, const std::string& field,
                   double& out) {
  return read_decimal(
      r, map, key, field, out, true, true, [](double v) { return v >= 0.0 && v < 1.0; },
      "a share below 1 (0.05) or a percentage below 100% (5%)");
}

void read_detection(yaml_reader& r, const YAML::Node& node, detection_settings& d) {
  const std::string f = "orchestrator.detection";
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f, {"cascade_hold", "flapping", "site_disaster"});
  r.read(node, "cascade_hold", join(f, "cascade_hold"), d.cascade_hold);
  if (auto flap = node["flapping"]; flap.IsDefined() && r.expect_map(flap, join(f, "flapping"))) {
    auto ff = join(f, "flapping");
    r.check_keys(flap, ff, {"transitions", "window"});
    r.read(flap, "transitions", join(ff, "transitions"), d.flapping.transitions, 1, 1000);
    if (r.read(flap, "window", join(ff, "window"), d.flapping.window) &&
        d.flapping.window.count() <= 0)
      r.fail(flap["window"], join(ff, "window"), "must be greater than 0");
  }
  // Present (even empty: `site_disaster: {}`) turns it on.
  if (auto site = node["site_disaster"];
      site.IsDefined() && r.expect_map(site, join(f, "site_disaster"))) {
    auto sf = join(f, "site_disaster");
    site_disaster_settings s;
    r.check_keys(site, sf, {"share", "window", "min_instances"});
    read_share(r, site, "share", join(sf, "share"), s.share);
    if (r.read(site, "window", join(sf, "window"), s.window) && s.window.count() <= 0)
      r.fail(site["window"], join(sf, "window"), "must be greater than 0");
    r.read(site, "min_instances", join(sf, "min_instances"), s.min_instances, 1, 100000);
    d.site_disaster = s;
  }
}

void read_site_switchover(yaml_reader& r, const YAML::Node& node, site_switchover_settings& s) {
  const std::string f = "orchestrator.site_switchover";
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f, {"parallelism", "prepare_timeout", "verify_timeout", "drill_interval"});
  r.read(node, "parallelism", join(f, "parallelism"), s.parallelism, 1, 1000);
  for (auto [key, value] : {std::pair{"prepare_timeout", &s.prepare_timeout},
                            std::pair{"verify_timeout", &s.verify_timeout},
                            std::pair{"drill_interval", &s.drill_interval}})
    if (r.read(node, key, join(f, key), *value) && value->count() <= 0)
      r.fail(node[key], join(f, key), "must be greater than 0");
}

bool valid_listen_address(const std::string& listen);

void read_orchestrator(yaml_reader& r, const YAML::Node& node, orchestrator_settings& o) {
  const std::string f = "orchestrator";
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f,
               {"data_dir", "database", "log_level", "supervisor", "safety", "detection",
                "site_switchover", "metrics_listen"});
  r.read(node, "data_dir", join(f, "data_dir"), o.data_dir);
  if (node["data_dir"].IsDefined() && o.data_dir.empty())
    r.fail(node["data_dir"], join(f, "data_dir"), "must not be empty");
  r.read(node, "database", join(f, "database"), o.database);
  if (node["database"].IsDefined() &&
      (o.database.empty() || o.database == "." || o.database == ".." ||
       o.database.find('/') != std::string::npos))
    r.fail(node["database"], join(f, "database"),
           "'" + o.database + "' must be a plain file name (the folder is data_dir)");
  if (r.read(node, "metrics_listen", join(f, "metrics_listen"), o.metrics_listen) &&
      o.metrics_enabled() && !valid_listen_address(o.metrics_listen))
    r.fail(
        node["metrics_listen"], join(f, "metrics_listen"),
        "'" + o.metrics_listen +
            "' is not host:port (e.g. 127.0.0.1:7401; port 0 picks a free one; \"off\" disables)");
  r.read_enum(node, "log_level", join(f, "log_level"), o.level,
              {{"trace", log_level::trace},
               {"debug", log_level::debug},
               {"info", log_level::info},
               {"warn", log_level::warn},
               {"error", log_level::error}});
  if (node["supervisor"].IsDefined())
    read_supervisor(r, node["supervisor"], o.supervisor);
  if (node["safety"].IsDefined())
    read_safety(r, node["safety"], o.safety);
  if (node["detection"].IsDefined())
    read_detection(r, node["detection"], o.detection);
  if (node["site_switchover"].IsDefined())
    read_site_switchover(r, node["site_switchover"], o.site_switchover);
}

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
                                                            {"grpc", check_type::grpc}});
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
        h.type != check_type::redis)
      r.fail(node["fast_detection"], join(f, "fast_detection"),
             std::string("only applies to tcp and redis checks, not ") + type_name);
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

// A host name or IPv4 address; an IPv6 address (with an optional %zone) only
// inside brackets, so the port separator is never ambiguous.
bool valid_host(const std::string& host, bool bracketed) {
  const std::string name_chars =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_";
  if (host.empty())
    return false;
  if (!bracketed)
    return host.find_first_not_of(name_chars) == std::string::npos;
  auto zone = host.find('%');
  auto address = host.substr(0, zone);
  return address.find(':') != std::string::npos &&
         address.find_first_not_of("0123456789abcdefABCDEF:.") == std::string::npos &&
         (zone == std::string::npos ||
          (zone + 1 < host.size() &&
           host.find_first_not_of(name_chars, zone + 1) == std::string::npos));
}

// "host:port", "[v6]:port"
bool split_address(const std::string& text, std::string& host, std::uint16_t& port) {
  std::string port_text;
  bool bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return false;
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon)
      return false;
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (!valid_host(host, bracketed) || port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  auto value = std::stoul(port_text);
  if (value < 1 || value > 65535)
    return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

// A listener's "host:port"; port 0 (pick a free one) is valid here.
bool valid_listen_address(const std::string& listen) {
  std::string host;
  std::uint16_t port = 0;
  // Check the host with any valid port in place of 0.
  auto colon = listen.rfind(':');
  auto checked = listen;
  if (colon != std::string::npos && listen.substr(colon + 1) == "0")
    checked = listen.substr(0, colon) + ":1";
  return split_address(checked, host, port);
}

// `path` as resolve_paths() will make it: relative paths resolve against the config file's folder.
std::string resolve_against(const std::string& config_file, const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty() || fs::path(path).is_absolute())
    return path;
  std::error_code ec;
  auto file = fs::absolute(fs::path(config_file), ec);
  if (ec)
    file = config_file;
  return (file.parent_path() / path).lexically_normal().string();
}

void read_tls(yaml_reader& r, const YAML::Node& node, api_settings::tls_settings& t) {
  const std::string f = "api.tls";
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f, {"cert_file", "key_file", "client_ca_file"});
  // Each file must be readable now: a typo should stop --check-config, not the next start.
  auto read_file_key = [&](const char* key, std::string& out) {
    if (!r.read(node, key, join(f, key), out) || !node[key].IsDefined())
      return;
    if (out.empty()) {
      r.fail(node[key], join(f, key), "must not be empty (leave it out instead)");
      return;
    }
    auto path = resolve_against(r.file(), out);
    // The same bounded read as at start (a FIFO or /dev/zero is refused, not read).
    std::string pem;
    if (auto why = read_regular_file(path, max_pem_file_bytes, pem); !why.empty())
      r.fail(node[key], join(f, key), "cannot read " + path + ": " + why);
  };
  read_file_key("cert_file", t.cert_file);
  read_file_key("key_file", t.key_file);
  read_file_key("client_ca_file", t.client_ca_file);
  bool cert = node["cert_file"].IsDefined();
  bool key = node["key_file"].IsDefined();
  if (cert && !key)
    r.fail(node, join(f, "key_file"),
           "missing: required with cert_file (the certificate's private key)");
  else if (key && !cert)
    r.fail(node, join(f, "cert_file"),
           "missing: required with key_file (the certificate of that key)");
  else if (!cert && node["client_ca_file"].IsDefined())
    r.fail(node["client_ca_file"], join(f, "client_ca_file"),
           "needs cert_file and key_file: client certificates (mTLS) are checked over TLS");
}

void read_api(yaml_reader& r, const YAML::Node& node, api_settings& a) {
  const std::string f = "api";
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f,
               {"listen", "tokens_file", "tls", "max_watch_streams", "max_watch_streams_per_token",
                "max_long_calls", "max_long_calls_per_token"});
  r.read(node, "listen", join(f, "listen"), a.listen);
  if (node["listen"].IsDefined() && !valid_listen_address(a.listen))
    r.fail(node["listen"], join(f, "listen"),
           "'" + a.listen + "' is not host:port (e.g. 127.0.0.1:7400; port 0 picks a free one)");
  r.read(node, "tokens_file", join(f, "tokens_file"), a.tokens_file);
  if (node["tls"].IsDefined())
    read_tls(r, node["tls"], a.tls);
  // A per-token limit above its total would never apply: one written so is an
  // error, the default one follows a smaller total.
  auto read_limits = [&](const char* total, const char* per_token, int& t, int& p, int max) {
    bool ok = r.read(node, total, join(f, total), t, 1, max);
    if (!r.read(node, per_token, join(f, per_token), p, 1, max) || !ok || p <= t)
      return;
    if (!node[per_token].IsDefined())
      p = t;
    else
      r.fail(node[per_token], join(f, per_token),
             std::to_string(p) + " is more than " + join(f, total) + " (" + std::to_string(t) +
                 "): one token cannot have more than all of them");
  };
  read_limits("max_watch_streams", "max_watch_streams_per_token", a.max_watch_streams,
              a.max_watch_streams_per_token, 100000);
  read_limits("max_long_calls", "max_long_calls_per_token", a.max_long_calls,
              a.max_long_calls_per_token, 1000);
}

void read_instance(yaml_reader& r, const YAML::Node& node, const std::string& f,
                   instance_settings& inst) {
  inst.mark = r.mark_of(node);
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f, {"name", "address", "site", "role", "priority"});
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
}

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

void read_service(yaml_reader& r, const YAML::Node& node, const std::string& f,
                  service_settings& svc) {
  svc.mark = r.mark_of(node);
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f,
               {"name", "block_period", "objectives", "health_check", "instances", "strategy",
                "shadow", "min_healthy_standbys", "depends_on", "performance",
                "readiness_interval"});
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
  for (const auto& svc : services)
    if (!svc.name.empty())
      known += known.empty() ? svc.name : ", " + svc.name;
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
      auto found = std::any_of(services.begin(), services.end(),
                               [&](const service_settings& s) { return s.name == dep; });
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

void read_sites(yaml_reader& r, const YAML::Node& node, std::vector<site_settings>& sites) {
  if (!r.expect_sequence(node, "sites"))
    return;
  std::map<std::string, std::string> seen;
  for (std::size_t i = 0; i < node.size(); ++i) {
    auto f = index("sites", i);
    if (!r.expect_map(node[i], f))
      continue;
    r.check_keys(node[i], f, {"name", "description"});
    site_settings s;
    if (r.require(node[i], "name", f) && r.read(node[i], "name", join(f, "name"), s.name) &&
        s.name.empty())
      r.fail(node[i]["name"], join(f, "name"), "must not be empty");
    r.read(node[i], "description", join(f, "description"), s.description);
    s.mark = r.mark_of(node[i]);
    if (!s.name.empty()) {
      auto [it, fresh] = seen.emplace(s.name, f);
      if (!fresh)
        r.fail(node[i]["name"], join(f, "name"),
               "'" + s.name + "' is already used by " + it->second);
    }
    sites.push_back(std::move(s));
  }
}

// With `sites:` written, every instance must name one of them (a typo would
// otherwise make a site of its own); without it, the sites are the ones used.
void check_sites(yaml_reader& r, const YAML::Node& root, const YAML::Node& services,
                 switchyard_config& cfg) {
  auto known = [&](const std::string& name) {
    return std::any_of(cfg.sites.begin(), cfg.sites.end(),
                       [&](const site_settings& s) { return s.name == name; });
  };
  const bool declared = root["sites"].IsDefined();
  for (std::size_t i = 0; i < cfg.services.size(); ++i)
    for (std::size_t j = 0; j < cfg.services[i].instances.size(); ++j) {
      const auto& inst = cfg.services[i].instances[j];
      if (known(inst.site))
        continue;
      if (!declared) {
        cfg.sites.push_back(site_settings{inst.site, {}, inst.mark});
        continue;
      }
      // The instance's own node, to point at its `site:` (when the file is
      // well-formed enough to have one). Never assign YAML::Nodes: that
      // writes into the tree.
      auto where = [&]() -> YAML::Node {
        if (!services.IsSequence() || i >= services.size() || !services[i].IsMap())
          return services;
        auto list = services[i]["instances"];
        if (!list.IsSequence() || j >= list.size() || !list[j].IsMap())
          return services[i];
        return list[j]["site"].IsDefined() ? list[j]["site"] : list[j];
      };
      auto field = join(index(join(index("services", i), "instances"), j), "site");
      r.fail(where(), field, "'" + inst.site + "' is not one of the sites listed under `sites:`");
    }
}

load_result load_node(const YAML::Node& root, const std::string& file_name) {
  load_result result;
  yaml_reader r{file_name, result.errors};
  auto& cfg = result.config;
  if (!r.expect_map(root, "(top level)"))
    return result;
  r.check_keys(root, "", {"orchestrator", "api", "sites", "services"});
  if (root["orchestrator"].IsDefined())
    read_orchestrator(r, root["orchestrator"], cfg.orchestrator);
  if (root["sites"].IsDefined())
    read_sites(r, root["sites"], cfg.sites);
  if (root["api"].IsDefined())
    read_api(r, root["api"], cfg.api);
  if (!r.require(root, "services", ""))
    return result;
  auto list = root["services"];
  if (!r.expect_sequence(list, "services"))
    return result;
  if (list.size() == 0)
    r.fail(list, "services", "at least one service is required");
  std::map<std::string, std::string> service_names;
  std::map<std::string, std::string> instance_names;
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto f = index("services", i);
    service_settings svc;
    read_service(r, list[i], f, svc);
    if (!svc.name.empty()) {
      auto [it, fresh] = service_names.emplace(svc.name, f);
      if (!fresh)
        r.fail(list[i]["name"], join(f, "name"),
               "'" + svc.name + "' is already used by " + it->second);
    }
    for (std::size_t j = 0; j < svc.instances.size(); ++j) {
      const auto& inst = svc.instances[j];
      if (inst.name.empty())
        continue;
      auto inf = index(join(f, "instances"), j);
      auto [it, fresh] = instance_names.emplace(inst.name, inf);
      if (!fresh)
        r.fail(list[i]["instances"][j]["name"], join(inf, "name"),
               "'" + inst.name + "' is already used by " + it->second);
    }
    cfg.services.push_back(std::move(svc));
  }
  check_dependencies(r, list, cfg.services);
  check_sites(r, root, list, cfg);
  return result;
}

// Relative paths in the file are relative to the file, not to wherever the daemon was started.
void resolve_paths(switchyard_config& cfg, const std::string& file_name) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto abs_file = fs::absolute(fs::path(file_name), ec);
  cfg.source_file = ec ? file_name : abs_file.lexically_normal().string();
  fs::path data{cfg.orchestrator.data_dir};
  if (data.is_relative())
    data = fs::path(cfg.source_file).parent_path() / data;
  cfg.orchestrator.data_dir = data.lexically_normal().string();
  if (!cfg.api.tokens_file.empty() && fs::path(cfg.api.tokens_file).is_relative())
    cfg.api.tokens_file =
        (fs::path(cfg.source_file).parent_path() / cfg.api.tokens_file).lexically_normal().string();
  for (auto* tls_file :
       {&cfg.api.tls.cert_file, &cfg.api.tls.key_file, &cfg.api.tls.client_ca_file})
    *tls_file = resolve_against(cfg.source_file, *tls_file);
  if (!cfg.orchestrator.data_dir.empty() && cfg.orchestrator.data_dir.back() == '/' &&
      cfg.orchestrator.data_dir.size() > 1)
    cfg.orchestrator.data_dir.pop_back();
}

} // namespace

load_result load_config_text(const std::string& text, const std::string& file_name) {
  load_result result;
  try {
    auto root = YAML::Load(text);
    result = load_node(root, file_name);
  } catch (const YAML::ParserException& e) {
    result.errors.push_back(
        config_error{{file_name, e.mark.line + 1, e.mark.column + 1}, "(syntax)", e.msg});
  } catch (const YAML::Exception& e) {
    result.errors.push_back(config_error{{file_name, 0, 0}, "(yaml)", e.what()});
  } catch (const std::exception& e) {
    // Not expected (e.g. out of memory), but the promise is: never throw.
    result.errors.push_back(config_error{{file_name, 0, 0}, "(internal)", e.what()});
  }
  if (result.ok())
    resolve_paths(result.config, file_name);
  return result;
}

load_result load_config_file(const std::string& path) {
  std::string text;
  if (auto err = read_whole_file(path, text, max_config_file_bytes)) {
    load_result result;
    result.errors.push_back(std::move(*err));
    return result;
  }
  return load_config_text(text, path);
}

} // namespace switchyard::config

// The orchestrator: and api: sections: the daemon's own settings (data,
// logging, supervisor, safety, detection, site switchovers, metrics) and its
// gRPC API (listener, tokens, TLS, stream and call limits).
#include "config/loader_support.hpp"

#include <string>
#include <utility>

#include "config/file_read.hpp"

namespace switchyard::config::detail {

namespace {

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

} // namespace

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

} // namespace switchyard::config::detail

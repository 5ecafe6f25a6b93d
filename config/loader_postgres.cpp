// A service's postgres: section, and what the loader adds once a service is
// read: PostgreSQL defaults, the data directories local operations need, and
// the safe rejoin default of a service whose data has one writer.
#include "config/loader_support.hpp"

#include <string>
#include <vector>

#include <libpq-fe.h>

namespace switchyard::config::detail {

namespace {

// "" when `options` parses as libpq keyword/value settings and names neither
// host, hostaddr nor port; else what is wrong (libpq's own words for syntax).
std::string check_pg_options(const std::string& options) {
  char* errmsg = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.c_str(), &errmsg);
  if (parsed == nullptr) {
    std::string why = errmsg != nullptr ? errmsg : "out of memory";
    PQfreemem(errmsg);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' '))
      why.pop_back();
    return "is not a libpq connection string: " + why;
  }
  std::string problem;
  for (auto* o = parsed; o->keyword != nullptr && problem.empty(); ++o) {
    std::string key = o->keyword;
    if (o->val != nullptr && (key == "host" || key == "hostaddr" || key == "port"))
      problem = "must not set " + key + ": the host and port come from each instance's address";
  }
  PQconninfoFree(parsed);
  return problem;
}

bool all_actions(const strategy_settings& s, bool (*pred)(const action_settings&)) {
  for (const auto* phase : {&s.checks, &s.demote, &s.fence, &s.promote, &s.reroute, &s.verify,
                            &s.position, &s.rejoin, &s.readiness, &s.prepare, &s.integrity})
    for (const auto& a : *phase)
      if (pred(a))
        return true;
  if (s.restart_in_place)
    for (const auto& a : s.restart_in_place->actions)
      if (pred(a))
        return true;
  return false;
}

action_settings default_rejoin(action_type type) {
  action_settings a;
  a.name = "rejoin";
  a.type = type;
  a.operation = redis_operation::follow;
  a.pg_operation = postgres_operation::rejoin;
  a.timeout = milliseconds{type == action_type::postgres ? 120'000 : 10'000};
  return a;
}

} // namespace

void read_postgres(yaml_reader& r, const YAML::Node& node, const std::string& f,
                   postgres_settings& p) {
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f, {"options", "bin_dir", "rewind"});
  if (r.read(node, "options", join(f, "options"), p.options) && node["options"].IsDefined())
    if (auto problem = check_pg_options(p.options); !problem.empty())
      r.fail(node["options"], join(f, "options"), "'" + p.options + "' " + problem);
  if (r.read(node, "bin_dir", join(f, "bin_dir"), p.bin_dir) && node["bin_dir"].IsDefined() &&
      (p.bin_dir.empty() || p.bin_dir.front() != '/'))
    r.fail(node["bin_dir"], join(f, "bin_dir"),
           "'" + p.bin_dir + "' must be an absolute path (where pg_ctl and pg_rewind are)");
  r.read_enum(node, "rewind", join(f, "rewind"), p.rewind, {{"true", true}, {"false", false}});
}

void finish_data_service(yaml_reader& r, const YAML::Node& node, const std::string& f,
                         service_settings& svc) {
  auto& s = svc.strategy;
  bool postgres =
      svc.health_check.type == check_type::postgres ||
      all_actions(s, [](const action_settings& a) { return a.type == action_type::postgres; });
  bool redis =
      svc.health_check.type == check_type::redis ||
      all_actions(s, [](const action_settings& a) { return a.type == action_type::redis; });
  if (postgres && !svc.postgres)
    svc.postgres = postgres_settings{};
  if (svc.health_check.type == check_type::postgres)
    svc.health_check.postgres_options = svc.postgres->options;

  // Local operations run where the data is: every instance must say where.
  bool needs_dirs =
      (svc.postgres && svc.postgres->rewind) || all_actions(s, [](const action_settings& a) {
        return a.type == action_type::postgres && (a.pg_operation == postgres_operation::stop ||
                                                   a.pg_operation == postgres_operation::start);
      });
  if (needs_dirs) {
    std::string missing;
    for (const auto& inst : svc.instances)
      if (inst.data_directory.empty())
        missing += (missing.empty() ? "" : ", ") + inst.name;
    if (!missing.empty())
      r.fail(node["instances"].IsDefined() ? node["instances"] : node, join(f, "instances"),
             "postgres stop, start and rewind run pg_ctl/pg_rewind on this host and need every "
             "instance's data_directory (missing: " +
                 missing + ")");
  }

  // Safe by default: a returning old primary must not stay writable next to
  // the new one. Left out, rejoin makes it a replica; `rejoin: none` says
  // the operator takes care of it.
  if (s.rejoin.empty() && !s.rejoin_none && (postgres || redis)) {
    s.rejoin.push_back(default_rejoin(postgres ? action_type::postgres : action_type::redis));
    s.rejoin_defaulted = true;
  }
}

} // namespace switchyard::config::detail

// The backups: section (policies of tiers: destination, site, medium,
// schedule, chain length, retention) and a service's backup: section (its
// policy and what its backups are taken from). Names are cross-checked once
// every section is read (check_backups).
#include "config/loader_support.hpp"

#include <filesystem>
#include <map>
#include <string>

namespace switchyard::config::detail {

namespace {

void read_destination(yaml_reader& r, const YAML::Node& node, const std::string& f,
                      backup_destination_settings& d) {
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f, {"path", "upload", "download", "remove", "timeout"});
  r.read(node, "path", join(f, "path"), d.path);
  r.read(node, "upload", join(f, "upload"), d.upload);
  r.read(node, "download", join(f, "download"), d.download);
  r.read(node, "remove", join(f, "remove"), d.remove);
  if (r.read(node, "timeout", join(f, "timeout"), d.timeout) && node["timeout"].IsDefined() &&
      d.timeout < milliseconds{1'000})
    r.fail(node["timeout"], join(f, "timeout"), "must be at least 1s");
  const bool commands = !d.upload.empty() || !d.download.empty() || !d.remove.empty();
  if (!d.path.empty() && commands)
    r.fail(node, f, "either path (a directory) or upload/download commands, not both");
  else if (d.path.empty() && !commands)
    r.fail(node, f, "path (a directory) or upload and download commands are required");
  else if (commands && (d.upload.empty() || d.download.empty()))
    r.fail(node, f,
           "upload and download are both required: a copy that cannot be read back "
           "restores nothing");
  for (const auto* key : {"upload", "download"}) {
    std::string text = key == std::string{"upload"} ? d.upload : d.download;
    if (!text.empty() &&
        (text.find("{file}") == std::string::npos || text.find("{name}") == std::string::npos))
      r.fail(node[key], join(f, key),
             "must use both {file} (the local file) and {name} (the "
             "artifact's name at the destination)");
  }
  if (!d.remove.empty() && d.remove.find("{name}") == std::string::npos)
    r.fail(node["remove"], join(f, "remove"), "must use {name}");
}

void read_tier(yaml_reader& r, const YAML::Node& node, const std::string& f,
               backup_tier_settings& t) {
  t.mark = r.mark_of(node);
  if (!r.expect_map(node, f))
    return;
  r.check_keys(
      node, f,
      {"name", "destination", "site", "medium", "every", "full_every", "keep", "keep_for"});
  read_name(r, node, f, t.name);
  if (r.require(node, "destination", f))
    read_destination(r, node["destination"], join(f, "destination"), t.destination);
  r.read(node, "site", join(f, "site"), t.site);
  if (r.read(node, "medium", join(f, "medium"), t.medium) && t.medium.empty())
    r.fail(node["medium"], join(f, "medium"), "must not be empty (disk, tape, object-store, ...)");
  if (r.read(node, "every", join(f, "every"), t.every) && t.every < milliseconds{1'000})
    r.fail(node["every"], join(f, "every"), "must be at least 1s");
  r.read(node, "full_every", join(f, "full_every"), t.full_every, 0, 10'000);
  r.read(node, "keep", join(f, "keep"), t.keep, 0, 1'000'000);
  r.read(node, "keep_for", join(f, "keep_for"), t.keep_for);
}

void read_policy(yaml_reader& r, const YAML::Node& node, const std::string& f,
                 backup_policy_settings& p) {
  p.mark = r.mark_of(node);
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f, {"name", "tiers", "compression_level", "verify_every"});
  read_name(r, node, f, p.name);
  r.read(node, "compression_level", join(f, "compression_level"), p.compression_level, 1, 19);
  if (r.read(node, "verify_every", join(f, "verify_every"), p.verify_every) &&
      node["verify_every"].IsDefined() && p.verify_every < milliseconds{1'000})
    r.fail(node["verify_every"], join(f, "verify_every"), "must be at least 1s");
  if (!r.require(node, "tiers", f))
    return;
  auto list = node["tiers"];
  auto lf = join(f, "tiers");
  if (!r.expect_sequence(list, lf))
    return;
  if (list.size() == 0)
    r.fail(list, lf, "at least one tier is required");
  std::map<std::string, std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    backup_tier_settings t;
    read_tier(r, list[i], index(lf, i), t);
    if (!t.name.empty())
      if (auto [it, fresh] = seen.emplace(t.name, index(lf, i)); !fresh)
        r.fail(list[i]["name"], join(index(lf, i), "name"),
               "'" + t.name + "' is already used by " + it->second);
    p.tiers.push_back(std::move(t));
  }
}

std::string policy_names(const backups_settings& b) {
  std::string names;
  for (const auto& p : b.policies)
    names += names.empty() ? p.name : ", " + p.name;
  return names.empty() ? "none are defined under backups.policies" : "policies: " + names;
}

} // namespace

void read_backups(yaml_reader& r, const YAML::Node& node, backups_settings& b) {
  const std::string f = "backups";
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f, {"policies", "state", "work_dir"});
  r.read(node, "work_dir", join(f, "work_dir"), b.work_dir);
  if (auto state = node["state"]; state.IsDefined() && r.expect_map(state, join(f, "state"))) {
    r.check_keys(state, join(f, "state"), {"policy"});
    r.read(state, "policy", join(f, "state.policy"), b.state_policy);
  }
  if (!node["policies"].IsDefined())
    return;
  auto list = node["policies"];
  auto lf = join(f, "policies");
  if (!r.expect_sequence(list, lf))
    return;
  std::map<std::string, std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    backup_policy_settings p;
    read_policy(r, list[i], index(lf, i), p);
    if (!p.name.empty())
      if (auto [it, fresh] = seen.emplace(p.name, index(lf, i)); !fresh)
        r.fail(list[i]["name"], join(index(lf, i), "name"),
               "'" + p.name + "' is already used by " + it->second);
    b.policies.push_back(std::move(p));
  }
}

void read_service_backup(yaml_reader& r, const YAML::Node& node, const std::string& f,
                         service_backup_settings& b) {
  b.mark = r.mark_of(node);
  if (!r.expect_map(node, f))
    return;
  r.check_keys(node, f, {"policy", "source", "command", "directory", "timeout"});
  if (r.require(node, "policy", f))
    r.read(node, "policy", join(f, "policy"), b.policy);
  r.read_enum(node, "source", join(f, "source"), b.source,
              {{"redis", backup_source_kind::redis}, {"exec", backup_source_kind::exec}});
  r.read(node, "command", join(f, "command"), b.command);
  r.read_enum(node, "directory", join(f, "directory"), b.directory,
              {{"true", true}, {"false", false}});
  if (r.read(node, "timeout", join(f, "timeout"), b.timeout) && node["timeout"].IsDefined() &&
      b.timeout < milliseconds{1'000})
    r.fail(node["timeout"], join(f, "timeout"), "must be at least 1s");
  if (b.source == backup_source_kind::exec) {
    if (b.command.empty())
      r.fail(node, f, "source exec needs a command that writes {output}");
    else if (b.command.find("{output}") == std::string::npos)
      r.fail(node["command"], join(f, "command"),
             "must use {output}: the file (or, with directory: true, the folder) to write");
  } else if (!b.command.empty() || node["directory"].IsDefined()) {
    r.fail(node["command"].IsDefined() ? node["command"] : node["directory"], f,
           "command and directory are for source exec; source redis reads the RDB itself");
  }
}

void check_backups(yaml_reader& r, const YAML::Node& root, const switchyard_config& cfg) {
  const auto& b = cfg.backups;
  auto backups = root["backups"];
  if (!b.state_policy.empty() && b.find_policy(b.state_policy) == nullptr)
    r.fail(backups["state"]["policy"], "backups.state.policy",
           "'" + b.state_policy + "' is not a backup policy (" + policy_names(b) + ")");
  auto services = root["services"];
  for (std::size_t i = 0; i < cfg.services.size(); ++i) {
    const auto& svc = cfg.services[i];
    if (!svc.backup || svc.backup->policy.empty() || b.find_policy(svc.backup->policy) != nullptr)
      continue;
    r.fail(services[i]["backup"]["policy"], join(join(index("services", i), "backup"), "policy"),
           "'" + svc.backup->policy + "' is not a backup policy (" + policy_names(b) + ")");
  }
  // A tier's site, when `sites:` lists them, must be one of them: offsite is
  // judged by it.
  if (!root["sites"].IsDefined())
    return;
  for (std::size_t i = 0; i < b.policies.size(); ++i)
    for (std::size_t j = 0; j < b.policies[i].tiers.size(); ++j) {
      const auto& t = b.policies[i].tiers[j];
      bool known = t.site.empty();
      for (const auto& s : cfg.sites)
        known = known || s.name == t.site;
      if (!known)
        r.fail(backups["policies"][i]["tiers"][j]["site"],
               join(index(join(index("backups.policies", i), "tiers"), j), "site"),
               "'" + t.site + "' is not one of the sites listed under `sites:`");
    }
}

void resolve_backup_paths(switchyard_config& cfg) {
  namespace fs = std::filesystem;
  auto& b = cfg.backups;
  b.work_dir =
      b.work_dir.empty()
          ? (fs::path(cfg.orchestrator.data_dir) / "backup-work").lexically_normal().string()
          : resolve_against(cfg.source_file, b.work_dir);
  for (auto& p : b.policies)
    for (auto& t : p.tiers)
      if (!t.destination.path.empty())
        t.destination.path = resolve_against(cfg.source_file, t.destination.path);
}

} // namespace switchyard::config::detail

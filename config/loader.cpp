// Reads a switchyardd configuration file into switchyard_config and checks
// every rule an operator could break, collecting all errors at once. This is
// the top level (sections, sites, paths); the sections are read in
// loader_orchestrator.cpp, loader_cluster.cpp, loader_services.cpp and
// loader_strategy.cpp, with the shared readers of loader_support.hpp.
#include "config/loader.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <system_error>

#include "config/file_read.hpp"
#include "config/loader_support.hpp"
#include "config/yaml_reader.hpp"

namespace switchyard::config {

std::string to_string(const config_error& err) {
  return err.where.file + ":" + std::to_string(err.where.line) + ":" +
         std::to_string(err.where.column) + ": " + err.field + ": " + err.message;
}

namespace {

using detail::check_dependencies;
using detail::read_api;
using detail::read_cluster;
using detail::read_orchestrator;
using detail::read_service;
using detail::resolve_against;

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
  r.check_keys(root, "", {"orchestrator", "api", "cluster", "sites", "backups", "services"});
  if (root["orchestrator"].IsDefined())
    read_orchestrator(r, root["orchestrator"], cfg.orchestrator);
  if (root["sites"].IsDefined())
    read_sites(r, root["sites"], cfg.sites);
  if (root["api"].IsDefined())
    read_api(r, root["api"], cfg.api);
  // The first `cluster` key (check_keys reports a second one); its own
  // position is the section's mark.
  for (const auto& kv : root)
    if (kv.first.IsScalar() && kv.first.Scalar() == "cluster") {
      cluster_settings c;
      c.mark = r.mark_of(kv.first);
      read_cluster(r, kv.second, c);
      cfg.cluster = std::move(c);
      break;
    }
  if (root["backups"].IsDefined())
    detail::read_backups(r, root["backups"], cfg.backups);
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
  detail::check_backups(r, root, cfg);
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
  detail::resolve_backup_paths(cfg);
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
  result.config.index_services();
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

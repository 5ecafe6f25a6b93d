// switchyard: the operator's command line for switchyardd (gRPC API).
//   switchyard status | services | service NAME | switchovers [ID] | audit | availability |
//              switchover SERVICE | failover SERVICE | maintenance on|off SERVICE |
//              events [--follow] | plans export [SERVICE] --format F | reload |
//              site assess|switchover|failback|list|show | drill [list|report ID] |
//              cluster status | backup policy|list|create|verify|restore|compliance
// Common options, before or after the command: --server HOST:PORT, --token T /
// --token-file F (or SWITCHYARD_SERVER, SWITCHYARD_TOKEN, SWITCHYARD_TOKEN_FILE),
// --output table|json, --timeout, --tls-*.
#include <iostream>

#include <CLI/CLI.hpp>

#include "apps/switchyard/backup_command.hpp"
#include "apps/switchyard/client.hpp"
#include "apps/switchyard/cluster_command.hpp"
#include "apps/switchyard/commands.hpp"
#include "apps/switchyard/render.hpp"
#include "apps/switchyard/suggest.hpp"

using namespace switchyard::cli;
namespace v1 = switchyard::v1;

namespace {

// Every command path under `app` ("services", "plans export", ...), each
// prefixed with `prefix` (the path of `app` itself).
void command_paths(const CLI::App& app, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    auto path = prefix.empty() ? sub->get_name() : prefix + " " + sub->get_name();
    out.push_back(path);
    command_paths(*sub, path, out);
  }
}

const CLI::Option* find_option(const CLI::App* app, const std::string& name) {
  for (; app != nullptr; app = app->get_parent())
    if (const auto* opt = app->get_option_no_throw(name))
      return opt;
  return nullptr;
}

// After a failed parse: when the command line names a command that does not
// exist ("switchyard export"), says so with the closest one ("plans export");
// false (nothing printed) when the problem is something else.
bool explain_unknown_command(const CLI::App& app, int argc, char** argv) {
  const CLI::App* current = &app;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    std::string token = argv[i];
    if (token == "--")
      return false;
    if (token.size() > 1 && token[0] == '-') {
      // Skip an option's value ("--server HOST:PORT"), unless given as --opt=value.
      const auto* opt =
          token.find('=') == std::string::npos ? find_option(current, token) : nullptr;
      if (opt != nullptr && opt->get_expected_min() > 0)
        ++i;
      continue;
    }
    const CLI::App* next = nullptr;
    for (const auto* sub : current->get_subcommands([](const CLI::App*) { return true; }))
      if (sub->check_name(token))
        next = sub;
    if (next != nullptr) {
      current = next;
      path += (path.empty() ? "" : " ") + token;
      continue;
    }
    // A positional argument where commands are optional ("service web") is not a command.
    bool wants_command = current == &app || current->get_require_subcommand_min() > 0;
    if (!wants_command)
      return false;
    std::vector<std::string> candidates;
    command_paths(*current, path, candidates); // under the command given so far first
    command_paths(app, "", candidates);
    auto unknown = path.empty() ? token : path + " " + token;
    auto guess = closest_command(token, candidates);
    std::cerr << "switchyard: unknown command '" << unknown << "'";
    if (!guess.empty())
      std::cerr << ", did you mean `" << guess << "`?\n";
    else
      std::cerr << "; switchyard " << (path.empty() ? "" : path + " ") << "--help lists them\n";
    return true;
  }
  return false;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"switchyard: operate the Switchyard failover orchestrator"};
  app.require_subcommand(1);
  // Global options also after the command ("switchyard services --output json"):
  // a subcommand passes options it does not know to its parent. Inherited by
  // every subcommand added below.
  app.fallthrough();
  connection_options opts;
  opts.server = env_or("SWITCHYARD_SERVER", "127.0.0.1:7400");
  std::string token_file = env_or("SWITCHYARD_TOKEN_FILE", "");
  opts.token = env_or("SWITCHYARD_TOKEN", "");
  std::string output = "table";
  app.add_option("--server", opts.server, "switchyardd API address (env SWITCHYARD_SERVER)")
      ->capture_default_str();
  auto* token_opt = app.add_option("--token", opts.token, "bearer token (env SWITCHYARD_TOKEN)");
  app.add_option("--token-file", token_file,
                 "file whose first line is the token "
                 "(env SWITCHYARD_TOKEN_FILE)")
      ->excludes(token_opt);
  app.add_option("-o,--output", output, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--timeout", opts.timeout_seconds, "seconds to wait for an answer")
      ->capture_default_str();
  opts.ca_file = env_or("SWITCHYARD_TLS_CA", "");
  opts.cert_file = env_or("SWITCHYARD_TLS_CERT", "");
  opts.key_file = env_or("SWITCHYARD_TLS_KEY", "");
  app.add_option("--tls-ca", opts.ca_file,
                 "use TLS; verify switchyardd's certificate with this PEM CA "
                 "(env SWITCHYARD_TLS_CA)");
  app.add_option("--tls-cert", opts.cert_file,
                 "PEM client certificate, when switchyardd requires one (mutual TLS; "
                 "env SWITCHYARD_TLS_CERT)");
  app.add_option("--tls-key", opts.key_file,
                 "PEM private key of --tls-cert (env SWITCHYARD_TLS_KEY)");
  app.add_option("--tls-server-name", opts.server_name,
                 "name to expect in switchyardd's certificate (default: the --server host)");
  // After parsing (flags and environment alike): unreadable files are a usage error (exit 1).
  app.parse_complete_callback([&opts] {
    if (auto problem = check_connection_options(opts); !problem.empty())
      throw CLI::ValidationError(problem);
  });

  auto* status_cmd = app.add_subcommand("status", "the orchestrator: version, uptime, counts");
  auto* services_cmd = app.add_subcommand("services", "every service, its primary and health");
  auto* service_cmd =
      app.add_subcommand("service", "one service: instances, detections, failover plan");
  std::string service_name;
  service_cmd->add_option("name", service_name, "the service")->required();
  auto* switchovers_cmd =
      app.add_subcommand("switchovers", "switchovers, newest first; with an ID, its step journal");
  std::int64_t switchover = 0;
  std::string filter_service;
  std::uint32_t limit = 50;
  switchovers_cmd->add_option("id", switchover, "one switchover");
  switchovers_cmd->add_option("--service", filter_service, "only this service");
  switchovers_cmd->add_option("--limit", limit, "at most this many")->capture_default_str();
  auto* switchover_cmd = app.add_subcommand(
      "switchover", "planned switchover of a service (operator); asks first unless --yes");
  std::string sw_service;
  std::string sw_target;
  std::string sw_reason;
  bool sw_dry_run = false;
  bool sw_force = false;
  bool sw_yes = false;
  int sw_timeout = 600;
  switchover_cmd->add_option("service", sw_service, "the service")->required();
  switchover_cmd->add_option("--to", sw_target, "the instance to promote (default: best standby)");
  switchover_cmd->add_option("--reason", sw_reason, "why (required unless --dry-run)");
  switchover_cmd->add_flag("--dry-run", sw_dry_run,
                           "show the steps that would run; change nothing");
  switchover_cmd->add_flag("--force", sw_force, "allow it inside the block period");
  switchover_cmd->add_flag("-y,--yes", sw_yes, "do not ask for confirmation");
  switchover_cmd->add_option("--wait", sw_timeout, "seconds to wait for it to end")
      ->capture_default_str();
  auto* failover_cmd = app.add_subcommand(
      "failover", "forced failover of a service whose primary is gone (operator): skips the "
                  "demote steps, never fencing; asks first unless --yes");
  std::string fo_service;
  std::string fo_target;
  std::string fo_reason;
  bool fo_dry_run = false;
  bool fo_force = false;
  bool fo_yes = false;
  int fo_timeout = 600;
  failover_cmd->add_option("service", fo_service, "the service")->required();
  failover_cmd->add_option("--to", fo_target, "the instance to promote (default: best standby)");
  failover_cmd->add_option("--reason", fo_reason, "why (required unless --dry-run)");
  failover_cmd->add_flag("--dry-run", fo_dry_run, "show the steps that would run; change nothing");
  failover_cmd->add_flag("--force", fo_force,
                         "allow it inside the block period or while the primary looks healthy");
  failover_cmd->add_flag("-y,--yes", fo_yes, "do not ask for confirmation");
  failover_cmd->add_option("--wait", fo_timeout, "seconds to wait for it to end")
      ->capture_default_str();

  auto* maintenance_cmd = app.add_subcommand(
      "maintenance", "maintenance on|off for a service or one instance (operator): no automatic "
                     "action while on, still monitored");
  std::string mt_state;
  std::string mt_service;
  std::string mt_instance;
  std::string mt_reason;
  std::string mt_duration;
  maintenance_cmd->add_option("state", mt_state, "on or off")
      ->required()
      ->check(CLI::IsMember({"on", "off"}));
  maintenance_cmd->add_option("service", mt_service, "the service")->required();
  maintenance_cmd->add_option("--instance", mt_instance, "only this instance");
  maintenance_cmd->add_option("--reason", mt_reason, "why (required for on)");
  maintenance_cmd->add_option("--for", mt_duration,
                              "turn it off by itself after this long (e.g. 30m, 2h)");
  bool mt_yes = false;
  maintenance_cmd->add_flag("-y,--yes", mt_yes, "do not ask for confirmation");

  auto* events_cmd = app.add_subcommand(
      "events", "live events: health, detections, decisions, switchover steps, maintenance");
  bool ev_follow = false;
  std::string ev_service;
  std::vector<std::string> ev_kinds;
  int ev_linger_ms = 2000;
  events_cmd->add_flag("-f,--follow", ev_follow, "keep watching until interrupted");
  events_cmd->add_option("--service", ev_service, "only this service");
  events_cmd->add_option("--kind", ev_kinds,
                         "only these kinds (health, detection, decision, switchover, step, "
                         "maintenance, config, alert); repeatable");
  events_cmd->add_option("--for-ms", ev_linger_ms, "without --follow: watch this long")
      ->capture_default_str();

  auto* plans_cmd = app.add_subcommand("plans", "failover plans");
  auto* export_cmd = plans_cmd->add_subcommand(
      "export", "the failover plan of one or all services as json, yaml, markdown or dot");
  plans_cmd->require_subcommand(1);
  std::string ex_service;
  std::string ex_format = "json";
  std::string ex_file;
  export_cmd->add_option("service", ex_service, "one service (default: all)");
  export_cmd->add_option("--format", ex_format, "json, yaml, markdown or dot")
      ->check(CLI::IsMember({"json", "yaml", "markdown", "md", "dot"}))
      ->capture_default_str();
  export_cmd->add_option("-f,--file", ex_file, "write to this file instead of standard output");

  auto* reload_cmd = app.add_subcommand(
      "reload", "re-read switchyardd's configuration file (admin); a file with errors changes "
                "nothing; asks first unless --yes");
  bool rl_yes = false;
  reload_cmd->add_flag("-y,--yes", rl_yes, "do not ask for confirmation");

  auto* audit_cmd = app.add_subcommand("audit", "the audit trail of API calls (admin)");
  std::uint32_t audit_limit = 100;
  audit_cmd->add_option("--limit", audit_limit, "at most this many")->capture_default_str();

  auto* avail_cmd = app.add_subcommand(
      "availability", "availability over the last hour, day and 30 days against the SLA");
  std::string av_service;
  avail_cmd->add_option("service", av_service, "one service (default: all)");
  bool av_instances = false;
  avail_cmd->add_flag("--instances", av_instances, "also each instance");

  auto* site_cmd = app.add_subcommand(
      "site", "whole-site switchovers: assess, switch over, fail back, list, show");
  site_cmd->require_subcommand(1);
  std::string st_from;
  std::string st_to;
  std::string st_reason;
  bool st_dry_run = false;
  bool st_yes = false;
  int st_timeout = 3600;
  auto* site_assess_cmd = site_cmd->add_subcommand(
      "assess", "what a site switchover would do now: order, estimates, data at risk, blockers");
  site_assess_cmd->add_option("--from", st_from, "the site being left")->required();
  site_assess_cmd->add_option("--to", st_to, "the site taking over")->required();
  auto* site_switchover_cmd = site_cmd->add_subcommand(
      "switchover", "move every primary on --from to --to (operator); asks first unless --yes");
  auto* site_failback_cmd = site_cmd->add_subcommand(
      "failback", "move the primaries back after a site switchover (operator); asks first "
                  "unless --yes");
  for (auto* cmd : {site_switchover_cmd, site_failback_cmd}) {
    cmd->add_option("--from", st_from, "the site being left")->required();
    cmd->add_option("--to", st_to, "the site taking over")->required();
    cmd->add_option("--reason", st_reason, "why (goes into the journal and audit)");
    cmd->add_flag("--dry-run", st_dry_run, "only the assessment; change nothing");
    cmd->add_flag("-y,--yes", st_yes, "do not ask for confirmation");
    cmd->add_option("--wait", st_timeout, "seconds to wait for it to end")->capture_default_str();
  }
  bool st_accept_divergence = false;
  site_failback_cmd->add_flag("--accept-divergence", st_accept_divergence,
                              "data that diverged on --to has been resolved: do not refuse for it");
  auto* site_list_cmd = site_cmd->add_subcommand("list", "site switchovers, newest first");
  std::uint32_t st_limit = 20;
  site_list_cmd->add_option("--limit", st_limit, "at most this many")->capture_default_str();
  auto* site_show_cmd = site_cmd->add_subcommand("show", "one site switchover, per service");
  std::int64_t st_id = 0;
  site_show_cmd->add_option("id", st_id, "the site switchover")->required();

  auto* drill_cmd = app.add_subcommand(
      "drill", "a DR drill (operator): switch over to --site, verify, switch back; or list "
               "drills, or show a report");
  drill_cmd->require_subcommand(0, 1);
  std::string dr_site;
  std::string dr_reason;
  bool dr_no_failback = false;
  bool dr_yes = false;
  int dr_timeout = 7200;
  drill_cmd->add_option("--site", dr_site, "the site to switch over to");
  drill_cmd->add_flag("--no-failback", dr_no_failback, "stay on --site afterwards");
  bool dr_restore_backups = false;
  drill_cmd->add_flag("--restore-backups", dr_restore_backups,
                      "also test-restore each moved service's newest backups");
  drill_cmd->add_option("--reason", dr_reason, "why (goes into the journal and audit)");
  drill_cmd->add_flag("-y,--yes", dr_yes, "do not ask for confirmation");
  drill_cmd->add_option("--wait", dr_timeout, "seconds to wait for it to end")
      ->capture_default_str();
  auto* drill_list_cmd = drill_cmd->add_subcommand("list", "drills, newest first");
  std::uint32_t dr_limit = 20;
  drill_list_cmd->add_option("--limit", dr_limit, "at most this many")->capture_default_str();
  auto* drill_report_cmd = drill_cmd->add_subcommand("report", "one drill's report");
  std::int64_t dr_id = 0;
  std::string dr_format = "markdown";
  drill_report_cmd->add_option("id", dr_id, "the drill")->required();
  drill_report_cmd->add_option("--format", dr_format, "markdown or json")
      ->check(CLI::IsMember({"markdown", "md", "json"}))
      ->capture_default_str();

  auto* cluster_cmd =
      app.add_subcommand("cluster", "cluster mode: the replicas, the leader and its epoch");
  cluster_cmd->require_subcommand(1);
  auto* cluster_status_cmd = cluster_cmd->add_subcommand(
      "status", "this replica's view: leader, epoch, lease, whether it may act, votes");

  auto* backup_cmd = app.add_subcommand(
      "backup", "backups: policies, the catalog, create, verify, restore, 3-2-1 compliance");
  backup_cmd->require_subcommand(1);
  auto* backup_policy_cmd = backup_cmd->add_subcommand("policy", "the backup policies");
  backup_policy_cmd->require_subcommand(1);
  auto* backup_policy_show_cmd =
      backup_policy_cmd->add_subcommand("show", "each policy's tiers and who uses it");
  auto* backup_list_cmd = backup_cmd->add_subcommand("list", "the backup catalog");
  std::string bk_service;
  backup_list_cmd->add_option("service", bk_service,
                              "one service (@switchyard: switchyardd's own state)");
  auto* backup_create_cmd =
      backup_cmd->add_subcommand("create", "a backup now, to every tier or --tier (operator)");
  std::string bk_tier;
  bool bk_full = false;
  int bk_timeout = 6 * 3600;
  backup_create_cmd->add_option("service", bk_service, "the service, or @switchyard")->required();
  backup_create_cmd->add_option("--tier", bk_tier, "only this tier");
  backup_create_cmd->add_flag("--full", bk_full,
                              "a full backup even where an incremental would do");
  auto* backup_verify_cmd = backup_cmd->add_subcommand(
      "verify", "check a backup's chain and test-restore it (operator): ID, or SERVICE (the "
                "newest point of each tier)");
  std::string bk_what;
  backup_verify_cmd->add_option("what", bk_what, "a backup id or a service")->required();
  auto* backup_restore_cmd = backup_cmd->add_subcommand(
      "restore", "restore a service's data to --to (operator): the newest point at or before "
                 "--at, tiers tried in --prefer order");
  std::string bk_at;
  std::vector<std::string> bk_prefer;
  std::string bk_to;
  bool bk_force = false;
  bool bk_yes = false;
  std::int64_t bk_id = 0;
  backup_restore_cmd->add_option("service", bk_service, "the service, or @switchyard")->required();
  backup_restore_cmd->add_option("--at", bk_at,
                                 "point in time: 2026-12-07T10:00:00Z, '2026-12-07 10:00:00', "
                                 "or a duration ago (2h)");
  backup_restore_cmd->add_option("--prefer", bk_prefer, "tiers in the order to try")
      ->delimiter(',');
  backup_restore_cmd
      ->add_option("--to", bk_to, "where to write (absolute path on the daemon's host)")
      ->required();
  backup_restore_cmd->add_option("--id", bk_id, "restore this backup (with its chain)");
  backup_restore_cmd->add_flag("--force", bk_force,
                               "over an existing target (what is there is kept, renamed)");
  backup_restore_cmd->add_flag("-y,--yes", bk_yes, "do not ask for confirmation");
  for (auto* cmd : {backup_create_cmd, backup_verify_cmd, backup_restore_cmd})
    cmd->add_option("--wait", bk_timeout, "seconds to wait for it to end")->capture_default_str();
  auto* backup_compliance_cmd =
      backup_cmd->add_subcommand("compliance", "3-2-1 and RPO per service, from verified copies");
  backup_compliance_cmd->add_option("service", bk_service, "one service");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0 && explain_unknown_command(app, argc, argv))
      return exit_usage;
    auto rc = app.exit(e);
    return rc == 0 ? exit_ok : exit_usage;
  }
  if (std::string why; !token_file.empty() && !read_token_file(token_file, opts.token, why)) {
    std::cerr << "switchyard: cannot read token file " << token_file << ": " << why << '\n';
    return exit_usage;
  }
  bool json = output == "json";
  client c{opts};
  using stub = v1::Switchyard::Stub;

  if (*status_cmd)
    return run<v1::GetStatusRequest, v1::Status>(c, json, {}, &stub::GetStatus, print_status);
  if (*cluster_status_cmd)
    return run<v1::GetClusterRequest, v1::ClusterStatus>(c, json, {}, &stub::GetCluster,
                                                         print_cluster);
  if (*services_cmd)
    return run<v1::ListServicesRequest, v1::ListServicesResponse>(c, json, {}, &stub::ListServices,
                                                                  print_services);
  if (*service_cmd) {
    v1::GetServiceRequest req;
    req.set_name(service_name);
    return run<v1::GetServiceRequest, v1::ServiceDetail>(c, json, req, &stub::GetService,
                                                         print_service);
  }
  if (*switchovers_cmd) {
    if (switchover != 0) {
      v1::GetSwitchoverRequest req;
      req.set_id(switchover);
      return run<v1::GetSwitchoverRequest, v1::Switchover>(c, json, req, &stub::GetSwitchover,
                                                           print_switchover);
    }
    v1::ListSwitchoversRequest req;
    req.set_service(filter_service);
    req.set_limit(limit);
    return run<v1::ListSwitchoversRequest, v1::ListSwitchoversResponse>(
        c, json, req, &stub::ListSwitchovers, print_switchovers);
  }
  if (*switchover_cmd) {
    v1::SwitchoverRequest req;
    req.set_service(sw_service);
    req.set_target(sw_target);
    req.set_reason(sw_reason);
    req.set_force(sw_force);
    return run_switchover(c, json, req, &stub::RequestSwitchover, sw_dry_run, sw_yes, sw_timeout,
                          "switchover");
  }
  if (*failover_cmd) {
    v1::SwitchoverRequest req;
    req.set_service(fo_service);
    req.set_target(fo_target);
    req.set_reason(fo_reason);
    req.set_force(fo_force);
    return run_switchover(c, json, req, &stub::RequestFailover, fo_dry_run, fo_yes, fo_timeout,
                          "forced failover");
  }
  if (*maintenance_cmd) {
    v1::MaintenanceRequest req;
    req.set_service(mt_service);
    req.set_instance(mt_instance);
    req.set_enabled(mt_state == "on");
    req.set_reason(mt_reason);
    req.set_duration(mt_duration);
    return run_maintenance(c, json, req, mt_yes);
  }
  if (*events_cmd) {
    v1::WatchEventsRequest req;
    req.set_service(ev_service);
    for (const auto& k : ev_kinds)
      req.add_kinds(k);
    return run_events(c, json, req, ev_follow, ev_linger_ms);
  }
  if (*export_cmd) {
    v1::ExportPlansRequest req;
    req.set_service(ex_service);
    req.set_format(ex_format);
    return run_export(c, req, ex_file);
  }
  if (*reload_cmd)
    return run_reload(c, json, rl_yes);
  if (*avail_cmd) {
    v1::GetAvailabilityRequest req;
    req.set_service(av_service);
    auto print = [av_instances](std::ostream& out, const v1::GetAvailabilityResponse& r) {
      print_availability(out, r, av_instances);
    };
    return run<v1::GetAvailabilityRequest, v1::GetAvailabilityResponse>(
        c, json, req, &stub::GetAvailability, print);
  }
  if (*site_assess_cmd) {
    v1::AssessSiteRequest req;
    req.set_from_site(st_from);
    req.set_to_site(st_to);
    return run<v1::AssessSiteRequest, v1::SiteRecord>(c, json, req, &stub::AssessSite,
                                                      print_site_switchover);
  }
  if (*site_switchover_cmd || *site_failback_cmd) {
    bool failback = site_failback_cmd->parsed();
    v1::SiteSwitchoverRequest req;
    req.set_from_site(st_from);
    req.set_to_site(st_to);
    req.set_reason(st_reason);
    req.set_failback(failback);
    req.set_accept_divergence(failback && st_accept_divergence);
    return run_site_switchover(c, json, req, st_dry_run, st_yes, st_timeout,
                               failback ? "failback" : "switchover");
  }
  if (*site_list_cmd) {
    v1::ListSiteSwitchoversRequest req;
    req.set_limit(st_limit);
    return run<v1::ListSiteSwitchoversRequest, v1::ListSiteSwitchoversResponse>(
        c, json, req, &stub::ListSiteSwitchovers, print_site_switchovers);
  }
  if (*site_show_cmd) {
    v1::GetSiteSwitchoverRequest req;
    req.set_id(st_id);
    return run<v1::GetSiteSwitchoverRequest, v1::SiteRecord>(c, json, req, &stub::GetSiteSwitchover,
                                                             print_site_switchover);
  }
  if (*drill_list_cmd) {
    v1::ListDrillsRequest req;
    req.set_limit(dr_limit);
    return run<v1::ListDrillsRequest, v1::ListDrillsResponse>(c, json, req, &stub::ListDrills,
                                                              print_drills);
  }
  if (*drill_report_cmd) {
    v1::GetDrillReportRequest req;
    req.set_id(dr_id);
    return run_drill_report(c, req, dr_format);
  }
  if (*drill_cmd) {
    v1::DrillRequest req;
    req.set_site(dr_site);
    req.set_no_failback(dr_no_failback);
    req.set_restore_backups(dr_restore_backups);
    req.set_reason(dr_reason);
    return run_drill(c, json, req, dr_yes, dr_timeout);
  }
  if (*backup_policy_show_cmd)
    return run<v1::GetBackupPoliciesRequest, v1::GetBackupPoliciesResponse>(
        c, json, {}, &stub::GetBackupPolicies, print_backup_policies);
  if (*backup_list_cmd) {
    v1::ListBackupsRequest req;
    req.set_service(bk_service);
    return run<v1::ListBackupsRequest, v1::ListBackupsResponse>(c, json, req, &stub::ListBackups,
                                                                print_backups);
  }
  if (*backup_create_cmd) {
    v1::CreateBackupRequest req;
    req.set_service(bk_service);
    req.set_tier(bk_tier);
    req.set_full(bk_full);
    return run_backup_create(c, json, req, bk_timeout);
  }
  if (*backup_verify_cmd) {
    v1::VerifyBackupRequest req;
    if (!bk_what.empty() && bk_what.find_first_not_of("0123456789") == std::string::npos)
      req.set_id(std::stoll(bk_what));
    else
      req.set_service(bk_what);
    return run_backup_verify(c, json, req, bk_timeout);
  }
  if (*backup_restore_cmd) {
    v1::RestoreBackupRequest req;
    req.set_service(bk_service);
    if (!bk_at.empty()) {
      std::int64_t at = 0;
      std::string why;
      auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
      if (!parse_point_in_time(bk_at, now, at, why)) {
        std::cerr << "switchyard: --at: " << why << '\n';
        return exit_usage;
      }
      req.set_at_ms(at);
    }
    for (const auto& t : bk_prefer)
      req.add_prefer(t);
    req.set_target(bk_to);
    req.set_force(bk_force);
    req.set_id(bk_id);
    return run_backup_restore(c, json, req, bk_yes, bk_timeout);
  }
  if (*backup_compliance_cmd) {
    v1::GetBackupComplianceRequest req;
    req.set_service(bk_service);
    return run<v1::GetBackupComplianceRequest, v1::GetBackupComplianceResponse>(
        c, json, req, &stub::GetBackupCompliance, print_backup_compliance);
  }
  if (*audit_cmd) {
    v1::ListAuditRequest req;
    req.set_limit(audit_limit);
    return run<v1::ListAuditRequest, v1::ListAuditResponse>(c, json, req, &stub::ListAudit,
                                                            print_audit);
  }
  return exit_usage;
}

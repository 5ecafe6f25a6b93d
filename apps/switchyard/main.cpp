// switchyard: the operator's command line for switchyardd (gRPC API).
//   switchyard status | services | service NAME | switchovers [ID] | audit
// Common options: --server HOST:PORT, --token T / --token-file F (or
// SWITCHYARD_SERVER, SWITCHYARD_TOKEN, SWITCHYARD_TOKEN_FILE), --output table|json.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "apps/switchyard/client.hpp"
#include "apps/switchyard/render.hpp"

using namespace switchyard::cli;
namespace v1 = switchyard::v1;

namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// The first line of a token file, without surrounding whitespace.
bool read_token_file(const std::string& path, std::string& token) {
  std::ifstream in(path);
  if (!in)
    return false;
  std::getline(in, token);
  auto end = token.find_last_not_of(" \t\r\n");
  token = end == std::string::npos ? std::string{} : token.substr(0, end + 1);
  return true;
}

// Runs one unary call and prints its answer as a table or JSON.
template <class Request, class Response, class Call, class Print>
int run(client& c, bool json, const Request& req, Call call, Print print) {
  Response resp;
  auto ctx = c.context();
  auto status = (c.stub().*call)(ctx.get(), req, &resp);
  if (!status.ok())
    return c.fail(status);
  if (json)
    print_json(std::cout, resp);
  else
    print(std::cout, resp);
  std::cout << std::flush;
  return exit_ok;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"switchyard: operate the Switchyard failover orchestrator"};
  app.require_subcommand(1);
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
  auto* audit_cmd = app.add_subcommand("audit", "the audit trail of API calls (admin)");
  std::uint32_t audit_limit = 100;
  audit_cmd->add_option("--limit", audit_limit, "at most this many")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    auto rc = app.exit(e);
    return rc == 0 ? exit_ok : exit_usage;
  }
  if (!token_file.empty() && !read_token_file(token_file, opts.token)) {
    std::cerr << "switchyard: cannot read token file " << token_file << '\n';
    return exit_usage;
  }
  bool json = output == "json";
  client c{opts};
  using stub = v1::Switchyard::Stub;

  if (*status_cmd)
    return run<v1::GetStatusRequest, v1::Status>(c, json, {}, &stub::GetStatus, print_status);
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
    if (!sw_dry_run && !sw_yes) {
      // Show exactly what would run, then ask.
      req.set_dry_run(true);
      v1::SwitchoverResponse preview;
      auto ctx = c.context();
      if (auto st = c.stub().RequestSwitchover(ctx.get(), req, &preview); !st.ok())
        return c.fail(st);
      print_switchover_result(std::cout, preview);
      if (!isatty(STDIN_FILENO)) {
        std::cerr << "switchyard: not a terminal: add --yes to confirm the switchover\n";
        return exit_usage;
      }
      std::cout << "Proceed with the switchover? [y/N] " << std::flush;
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "y" && answer != "Y" && answer != "yes") {
        std::cerr << "switchyard: aborted; nothing was changed\n";
        return exit_usage;
      }
    }
    req.set_dry_run(sw_dry_run);
    v1::SwitchoverResponse resp;
    auto ctx = c.context(sw_timeout);
    if (auto st = c.stub().RequestSwitchover(ctx.get(), req, &resp); !st.ok())
      return c.fail(st);
    if (json)
      print_json(std::cout, resp);
    else
      print_switchover_result(std::cout, resp);
    return resp.executed() && !resp.success() ? exit_failed : exit_ok;
  }
  if (*audit_cmd) {
    v1::ListAuditRequest req;
    req.set_limit(audit_limit);
    return run<v1::ListAuditRequest, v1::ListAuditResponse>(c, json, req, &stub::ListAudit,
                                                            print_audit);
  }
  return exit_usage;
}

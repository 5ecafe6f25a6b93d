// What the CLI's commands do once the command line is parsed: calls, confirmations, streams.
// Apart from main.cpp so that CLI11 (slow to compile) stays in main.cpp alone.
#pragma once

#include <iostream>
#include <string>

#include "apps/switchyard/client.hpp"
#include "apps/switchyard/render.hpp"

namespace switchyard::cli {

/// The environment variable `name`, or `fallback` when it is unset or empty.
std::string env_or(const char* name, std::string fallback);

/// The first line of a token file, without surrounding whitespace. Regular
/// files of at most 1 MiB only (config/file_read.hpp): not /dev/zero, not a FIFO.
bool read_token_file(const std::string& path, std::string& token, std::string& why);

/// Asks `question` on the terminal; false (and why, on stderr) when not
/// confirmed or when there is no terminal (scripts must say --yes).
bool confirmed(const std::string& question, const std::string& what);

/// Runs one unary call and prints its answer as a table or JSON.
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

using switchover_call = grpc::Status (v1::Switchyard::Stub::*)(grpc::ClientContext*,
                                                               const v1::SwitchoverRequest&,
                                                               v1::SwitchoverResponse*);

/// A planned switchover or a forced failover: unless --yes or --dry-run, shows
/// the exact steps (a dry run) and asks before anything happens.
int run_switchover(client& c, bool json, v1::SwitchoverRequest req, switchover_call call,
                   bool dry_run, bool yes, int timeout_seconds, const char* what);

/// A site switchover or failback: unless --yes or --dry-run, shows the
/// assessment (what would move, blockers) and asks before anything happens.
/// Scripts (no terminal) must say --yes, as for every other mutating command.
int run_site_switchover(client& c, bool json, v1::SiteSwitchoverRequest req, bool dry_run, bool yes,
                        int timeout_seconds, const char* what);

/// Streams events until interrupted (--follow) or until the stream ends.
/// Without --follow, prints what arrives within `linger_ms` and stops.
int run_events(client& c, bool json, const v1::WatchEventsRequest& req, bool follow, int linger_ms);

/// Maintenance on or off: asks first unless `yes`, saying what it puts in or takes out of it.
int run_maintenance(client& c, bool json, const v1::MaintenanceRequest& req, bool yes);

/// Re-reads switchyardd's configuration file: asks first unless `yes`.
int run_reload(client& c, bool json, bool yes);

/// Prints the exported plans, or writes them to `file` when it is not empty.
int run_export(client& c, const v1::ExportPlansRequest& req, const std::string& file);

/// Prints one drill's report as markdown, or as JSON when `format` is "json".
int run_drill_report(client& c, const v1::GetDrillReportRequest& req, const std::string& format);

/// A DR drill: asks first unless `yes`; fails (exit 6) when the drill did not pass.
int run_drill(client& c, bool json, const v1::DrillRequest& req, bool yes, int timeout_seconds);

} // namespace switchyard::cli

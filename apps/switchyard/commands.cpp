// The CLI's commands past the command line (see commands.hpp).
#include "apps/switchyard/commands.hpp"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <unistd.h>

#include "config/file_read.hpp"

namespace switchyard::cli {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

bool read_token_file(const std::string& path, std::string& token, std::string& why) {
  std::string text;
  why = config::read_regular_file(path, config::max_tokens_file_bytes, text);
  if (!why.empty())
    return false;
  token = text.substr(0, text.find('\n'));
  auto end = token.find_last_not_of(" \t\r\n");
  token = end == std::string::npos ? std::string{} : token.substr(0, end + 1);
  return true;
}

// Asks on the terminal; false (and why, on stderr) when not confirmed or
// when there is no terminal to ask on (scripts must say --yes).
bool confirmed(const std::string& question, const std::string& what) {
  if (!isatty(STDIN_FILENO)) {
    std::cerr << "switchyard: not a terminal: add --yes to confirm the " << what << '\n';
    return false;
  }
  std::cout << question << " [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  if (answer == "y" || answer == "Y" || answer == "yes")
    return true;
  std::cerr << "switchyard: aborted; nothing was changed\n";
  return false;
}

int run_switchover(client& c, bool json, v1::SwitchoverRequest req, switchover_call call,
                   bool dry_run, bool yes, int timeout_seconds, const char* what) {
  if (!dry_run && !yes) {
    req.set_dry_run(true);
    v1::SwitchoverResponse preview;
    auto ctx = c.context();
    if (auto st = (c.stub().*call)(ctx.get(), req, &preview); !st.ok())
      return c.fail(st);
    print_switchover_result(std::cout, preview);
    if (!confirmed(std::string("Proceed with the ") + what + "?", what))
      return exit_usage;
  }
  req.set_dry_run(dry_run);
  v1::SwitchoverResponse resp;
  auto ctx = c.context(timeout_seconds);
  if (auto st = (c.stub().*call)(ctx.get(), req, &resp); !st.ok())
    return c.fail(st);
  if (json)
    print_json(std::cout, resp);
  else
    print_switchover_result(std::cout, resp);
  return resp.executed() && !resp.success() ? exit_failed : exit_ok;
}

int run_site_switchover(client& c, bool json, v1::SiteSwitchoverRequest req, bool dry_run, bool yes,
                        int timeout_seconds, const char* what) {
  if (!dry_run && !yes && !isatty(STDIN_FILENO)) {
    std::cerr << "switchyard: not a terminal: add --yes to confirm the site " << what << '\n';
    return exit_usage;
  }
  if (!dry_run && !yes) {
    v1::AssessSiteRequest assess;
    assess.set_from_site(req.from_site());
    assess.set_to_site(req.to_site());
    v1::SiteRecord preview;
    auto ctx = c.context();
    if (auto st = c.stub().AssessSite(ctx.get(), assess, &preview); !st.ok())
      return c.fail(st);
    print_site_switchover(std::cout, preview);
    if (!confirmed(std::string("Proceed with the site ") + what + "?", std::string("site ") + what))
      return exit_usage;
  }
  req.set_dry_run(dry_run);
  v1::SiteRecord resp;
  auto ctx = c.context(timeout_seconds);
  if (auto st = c.stub().SiteSwitchover(ctx.get(), req, &resp); !st.ok())
    return c.fail(st);
  if (json)
    print_json(std::cout, resp);
  else
    print_site_switchover(std::cout, resp);
  return resp.id() != 0 && resp.state() != "completed" ? exit_failed : exit_ok;
}

int run_events(client& c, bool json, const v1::WatchEventsRequest& req, bool follow,
               int linger_ms) {
  grpc::ClientContext ctx;
  c.authorize(ctx);
  if (!follow)
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(linger_ms));
  auto reader = c.stub().WatchEvents(&ctx, req);
  reader->WaitForInitialMetadata();
  // Only a server that subscribed us says so; a failed call ends below with its status.
  if (ctx.GetServerInitialMetadata().count("x-switchyard-watch") > 0)
    std::cerr << "switchyard: watching events" << (req.service().empty() ? "" : " of ")
              << req.service() << (follow ? " (Ctrl-C stops)" : "") << std::endl;
  v1::EventBatch batch;
  while (reader->Read(&batch)) {
    for (const auto& e : batch.events()) {
      if (json)
        print_json_line(std::cout, e);
      else
        print_event(std::cout, e);
    }
    std::cout << std::flush; // as it happens (pipes too)
  }
  auto st = reader->Finish();
  if (!follow && st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
    return exit_ok;
  return st.ok() ? exit_ok : c.fail(st);
}

int run_maintenance(client& c, bool json, const v1::MaintenanceRequest& req, bool yes) {
  auto target = req.instance().empty() ? "service " + req.service()
                                       : "instance " + req.instance() + " of " + req.service();
  auto question = req.enabled()
                      ? "Put " + target + " into maintenance (no automatic failover" +
                            (req.duration().empty() ? std::string{", until turned off"}
                                                    : ", for " + req.duration()) +
                            ")?"
                      : "Take " + target + " out of maintenance (automatic failover resumes)?";
  if (!yes && !confirmed(question, "maintenance change"))
    return exit_usage;
  return run<v1::MaintenanceRequest, v1::MaintenanceResponse>(
      c, json, req, &v1::Switchyard::Stub::SetMaintenance, print_maintenance_result);
}

int run_reload(client& c, bool json, bool yes) {
  if (!yes && !confirmed("Reload switchyardd's configuration file now?", "reload"))
    return exit_usage;
  return run<v1::ReloadRequest, v1::ReloadResponse>(c, json, {}, &v1::Switchyard::Stub::Reload,
                                                    print_reload_result);
}

int run_export(client& c, const v1::ExportPlansRequest& req, const std::string& file) {
  v1::ExportPlansResponse resp;
  auto ctx = c.context();
  if (auto st = c.stub().ExportPlans(ctx.get(), req, &resp); !st.ok())
    return c.fail(st);
  if (file.empty()) {
    std::cout << resp.content() << std::flush;
    return exit_ok;
  }
  std::ofstream out(file, std::ios::trunc);
  out << resp.content();
  out.close();
  if (!out) {
    std::cerr << "switchyard: cannot write " << file << '\n';
    return exit_usage;
  }
  std::cerr << "switchyard: wrote the " << resp.format() << " export to " << file << '\n';
  return exit_ok;
}

int run_drill_report(client& c, const v1::GetDrillReportRequest& req, const std::string& format) {
  v1::DrillReport resp;
  auto ctx = c.context();
  if (auto st = c.stub().GetDrillReport(ctx.get(), req, &resp); !st.ok())
    return c.fail(st);
  std::cout << (format == "json" ? resp.json() + "\n" : resp.markdown()) << std::flush;
  return exit_ok;
}

int run_drill(client& c, bool json, const v1::DrillRequest& req, bool yes, int timeout_seconds) {
  if (req.site().empty()) {
    std::cerr << "switchyard: drill needs --site SITE (or: drill list, drill report ID)\n";
    return exit_usage;
  }
  auto question = "Run a DR drill: switch every service over to site " + req.site() +
                  (req.no_failback() ? std::string{" and stay there"} : std::string{" and back"}) +
                  "?";
  if (!yes && !confirmed(question, "drill"))
    return exit_usage;
  v1::DrillReport resp;
  auto ctx = c.context(timeout_seconds);
  if (auto st = c.stub().Drill(ctx.get(), req, &resp); !st.ok())
    return c.fail(st);
  if (json)
    print_json(std::cout, resp);
  else
    print_drill(std::cout, resp);
  return resp.passed() ? exit_ok : exit_failed;
}

} // namespace switchyard::cli

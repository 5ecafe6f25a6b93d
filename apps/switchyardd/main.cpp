// switchyardd: the Switchyard failover orchestrator daemon.
//   switchyardd --config FILE          run
//   switchyardd --check-config FILE    validate and exit (0 valid, 1 invalid)
//   switchyardd --config FILE --restore-state --from DIR [--at TIME] [--force]
//                                      rebuild the database from state backups, offline
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>

#include <malloc.h>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "apps/switchyardd/daemon.hpp"
#include "apps/switchyardd/restore_state.hpp"
#include "config/loader.hpp"
#include "config/tokens.hpp"

namespace {

spdlog::level::level_enum to_spdlog(switchyard::config::log_level l) {
  using switchyard::config::log_level;
  switch (l) {
  case log_level::trace:
    return spdlog::level::trace;
  case log_level::debug:
    return spdlog::level::debug;
  case log_level::info:
    return spdlog::level::info;
  case log_level::warn:
    return spdlog::level::warn;
  case log_level::error:
    return spdlog::level::err;
  }
  return spdlog::level::info;
}

// Prints every error, one per line, as file:line:column: field: message.
int report_errors(const std::vector<switchyard::config::config_error>& errors) {
  for (const auto& err : errors)
    std::cerr << switchyard::config::to_string(err) << '\n';
  std::cerr << errors.size() << (errors.size() == 1 ? " error" : " errors")
            << " in configuration\n";
  return switchyard::app::exit_bad_config;
}

// Loads the API tokens named by the configuration (none when not configured).
bool load_tokens(const switchyard::config::switchyard_config& cfg,
                 std::vector<switchyard::config::api_token>& out) {
  if (cfg.api.tokens_file.empty())
    return true;
  auto loaded = switchyard::config::load_tokens_file(cfg.api.tokens_file);
  if (!loaded.ok()) {
    report_errors(loaded.errors);
    return false;
  }
  out = std::move(loaded.tokens);
  return true;
}

// "2026-12-07T10:00:00Z" or unix milliseconds.
bool parse_at(const std::string& text, std::int64_t& out) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    out = std::stoll(text);
    return true;
  }
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0')
    return false;
  out = static_cast<std::int64_t>(::timegm(&tm)) * 1000;
  return true;
}

} // namespace

// glibc gives every thread that allocates its own malloc arena (up to 8 per
// core); with CAF's workers, the probe engine and the store all allocating,
// memory freed in one arena is not reused by another and the resident size
// of 10,000 monitored instances wandered between 157 and 204 MB from run to
// run. Two arenas keep it at about 150 MB at no measurable CPU cost
// (docs/benchmarks.md). MALLOC_ARENA_MAX in the environment still decides.
void limit_malloc_arenas() {
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr)
    mallopt(M_ARENA_MAX, 2);
}

int main(int argc, char** argv) {
  limit_malloc_arenas();
  CLI::App cli{"switchyardd: the Switchyard failover orchestrator daemon"};
  std::string config_file;
  std::string check_file;
  std::string level;
  auto* run_opt = cli.add_option("-c,--config", config_file, "configuration file to run with");
  auto* check_opt =
      cli.add_option("--check-config", check_file, "validate a configuration file and exit");
  run_opt->excludes(check_opt);
  cli.add_option("--log-level", level, "override orchestrator.log_level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  bool hash_token = false;
  cli.add_flag("--hash-token", hash_token,
               "read a token on stdin and print its SHA-256, for the tokens file");
  bool restore = false;
  switchyard::app::restore_state_options restore_opts;
  std::string restore_at;
  auto* restore_flag = cli.add_flag(
      "--restore-state", restore,
      "rebuild the database (orchestrator.data_dir) from state backups offline, then exit");
  cli.add_option("--from", restore_opts.from,
                 "with --restore-state: a folder holding state backups (a tier's folder)")
      ->needs(restore_flag);
  cli.add_option("--at", restore_at,
                 "with --restore-state: the newest point at or before 2026-12-07T10:00:00Z "
                 "(UTC) or unix ms")
      ->needs(restore_flag);
  cli.add_flag("--force", restore_opts.force,
               "with --restore-state: replace an existing database (it is kept, renamed)")
      ->needs(restore_flag);
  cli.set_version_flag("--version", "switchyardd 0.1.0");
  CLI11_PARSE(cli, argc, argv);

  if (hash_token) {
    std::string token;
    std::getline(std::cin, token);
    if (token.empty()) {
      std::cerr << "switchyardd --hash-token: no token on stdin\n";
      return switchyard::app::exit_bad_config;
    }
    std::cout << switchyard::config::sha256_hex(token) << '\n';
    return switchyard::app::exit_ok;
  }
  if (!check_file.empty()) {
    auto loaded = switchyard::config::load_config_file(check_file);
    if (!loaded.ok())
      return report_errors(loaded.errors);
    std::vector<switchyard::config::api_token> tokens;
    if (!load_tokens(loaded.config, tokens))
      return switchyard::app::exit_bad_config;
    std::size_t instances = 0;
    for (const auto& s : loaded.config.services)
      instances += s.instances.size();
    std::cout << check_file << ": OK (" << loaded.config.services.size() << " services, "
              << instances << " instances)\n";
    // What an operator should know before it bites: how returning old
    // primaries of services with one writer are treated when not configured.
    for (const auto& s : loaded.config.services)
      if (s.strategy.rejoin_defaulted || s.strategy.rejoin_none)
        std::cout << "  " << s.name << ": rejoin: " << switchyard::config::describe_rejoin(s)
                  << '\n';
    return switchyard::app::exit_ok;
  }
  if (config_file.empty()) {
    std::cerr << "switchyardd: --config FILE is required (or --check-config FILE)\n" << cli.help();
    return switchyard::app::exit_bad_config;
  }
  auto loaded = switchyard::config::load_config_file(config_file);
  if (!loaded.ok())
    return report_errors(loaded.errors);

  if (restore) {
    if (restore_opts.from.empty()) {
      std::cerr << "switchyardd --restore-state: --from FOLDER is required\n";
      return switchyard::app::exit_bad_config;
    }
    if (!restore_at.empty() && !parse_at(restore_at, restore_opts.at_ms)) {
      std::cerr << "switchyardd --restore-state: --at " << restore_at
                << " is neither 2026-12-07T10:00:00Z (UTC) nor unix milliseconds\n";
      return switchyard::app::exit_bad_config;
    }
    return switchyard::app::restore_state(loaded.config, restore_opts, std::cout, std::cerr);
  }

  auto logger = spdlog::stdout_color_mt("switchyardd");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(level.empty() ? to_spdlog(loaded.config.orchestrator.level)
                                  : spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::trace); // operators tail this; never hold lines back

  std::vector<switchyard::config::api_token> tokens;
  if (!load_tokens(loaded.config, tokens))
    return switchyard::app::exit_bad_config;
  auto cfg =
      std::make_shared<const switchyard::config::switchyard_config>(std::move(loaded.config));
  return switchyard::app::run_daemon(cfg, std::move(tokens));
}

// switchyardd: the Switchyard failover orchestrator daemon.
//   switchyardd --config FILE          run
//   switchyardd --check-config FILE    validate and exit (0 valid, 1 invalid)
#include <cstdio>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "apps/switchyardd/daemon.hpp"
#include "config/loader.hpp"

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
int report_errors(const switchyard::config::load_result& loaded) {
  for (const auto& err : loaded.errors)
    std::cerr << switchyard::config::to_string(err) << '\n';
  std::cerr << loaded.errors.size() << (loaded.errors.size() == 1 ? " error" : " errors")
            << " in configuration\n";
  return switchyard::app::exit_bad_config;
}

} // namespace

int main(int argc, char** argv) {
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
  cli.set_version_flag("--version", "switchyardd 0.1.0");
  CLI11_PARSE(cli, argc, argv);

  if (!check_file.empty()) {
    auto loaded = switchyard::config::load_config_file(check_file);
    if (!loaded.ok())
      return report_errors(loaded);
    std::size_t instances = 0;
    for (const auto& s : loaded.config.services)
      instances += s.instances.size();
    std::cout << check_file << ": OK (" << loaded.config.services.size() << " services, "
              << instances << " instances)\n";
    return switchyard::app::exit_ok;
  }
  if (config_file.empty()) {
    std::cerr << "switchyardd: --config FILE is required (or --check-config FILE)\n" << cli.help();
    return switchyard::app::exit_bad_config;
  }
  auto loaded = switchyard::config::load_config_file(config_file);
  if (!loaded.ok())
    return report_errors(loaded);

  auto logger = spdlog::stdout_color_mt("switchyardd");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(level.empty() ? to_spdlog(loaded.config.orchestrator.level)
                                  : spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::trace); // operators tail this; never hold lines back

  auto cfg =
      std::make_shared<const switchyard::config::switchyard_config>(std::move(loaded.config));
  return switchyard::app::run_daemon(cfg);
}

#include "apps/switchyardd/daemon.hpp"

#include <csignal>
#include <filesystem>
#include <system_error>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/api_gateway.hpp"
#include "actors/directory.hpp"
#include "actors/failover_coordinator.hpp"
#include "actors/failover_runner.hpp"
#include "actors/failure_classifier.hpp"
#include "actors/health_checker.hpp"
#include "actors/store.hpp"
#include "actors/supervisor.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"

namespace switchyard::app {

namespace {

using namespace switchyard::actors;
using config_ptr = std::shared_ptr<const config::switchyard_config>;

std::vector<child_spec> subsystems(const config_ptr& cfg) {
  std::vector<child_spec> specs;
  // Start order matters: the store first (everyone journals through it),
  // health checkers last (they produce the first messages).
  specs.push_back({"store", names::store, [cfg](caf::actor_system& sys) {
                     // Detached: SQLite's fsyncs must not stall the cooperative scheduler.
                     return caf::actor_cast<caf::actor>(sys.spawn<caf::detached>(store, cfg));
                   }});
  specs.push_back({"failure_classifier", names::classifier, [](caf::actor_system& sys) {
                     return caf::actor_cast<caf::actor>(sys.spawn(failure_classifier));
                   }});
  specs.push_back({"failover_runner", names::runner, [cfg](caf::actor_system& sys) {
                     return caf::actor_cast<caf::actor>(sys.spawn(failover_runner, cfg));
                   }});
  specs.push_back({"failover_coordinator", names::coordinator, [cfg](caf::actor_system& sys) {
                     return caf::actor_cast<caf::actor>(sys.spawn(failover_coordinator, cfg));
                   }});
  for (const auto& svc : cfg->services) {
    for (const auto& inst : svc.instances) {
      auto name = svc.name + "/" + inst.name;
      specs.push_back(
          {"health_checker " + name, std::nullopt,
           [service = svc.name, inst, check = svc.health_check](caf::actor_system& sys) {
             probe_factory factory = [service, inst, check] {
               return make_probe(service, check, inst);
             };
             // Detached: a probe blocks for up to its timeout.
             return caf::actor_cast<caf::actor>(
                 sys.spawn<caf::detached>(health_checker, service, inst, check, factory));
           }});
    }
  }
  return specs;
}

void log_topology(const config::switchyard_config& cfg) {
  spdlog::info("switchyardd starting: config {}, database {}", cfg.source_file,
               cfg.database_path());
  for (const auto& svc : cfg.services) {
    spdlog::info(
        "service {}: {} check every {} ms (rise {}, fall {}), block period {} ms, RTO {} ms",
        svc.name, config::to_string(svc.health_check.type), svc.health_check.interval.count(),
        svc.health_check.rise, svc.health_check.fall, svc.block_period.count(),
        svc.objective.rto.count());
    for (const auto& inst : svc.instances)
      spdlog::info("  instance {} at {}:{} (site {}, configured {}, priority {})", inst.name,
                   inst.host, inst.port, inst.site, config::to_string(inst.role), inst.priority);
  }
}

} // namespace

int run_daemon(config_ptr cfg, std::vector<config::api_token> tokens) {
  std::error_code ec;
  auto data_dir = std::filesystem::path(cfg->database_path()).parent_path();
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    spdlog::error("cannot create data folder {}: {}", data_dir.string(), ec.message());
    return exit_startup_failed;
  }
  log_topology(*cfg);

  // Signals are taken synchronously by the main thread; block them before
  // CAF starts its threads so they inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  caf::actor_system_config caf_cfg;
  caf_cfg.add_message_types<caf::id_block::switchyard>();
  caf_cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{caf_cfg};

  auto sup = sys.spawn(supervisor, subsystems(cfg), cfg->orchestrator.supervisor);
  if (tokens.empty())
    spdlog::warn("api: no tokens (api.tokens_file): every API call will be refused");
  api_gateway api{sys, cfg, std::move(tokens)};
  auto port = api.start();
  if (!port) {
    spdlog::error("api: {}", describe(port.error()));
    anon_send_exit(sup, caf::exit_reason::user_shutdown);
    return exit_startup_failed;
  }
  spdlog::info("api: listening on {} (port {})", cfg->api.listen, *port);
  int code = exit_ok;
  {
    caf::scoped_actor self{sys};
    self->monitor(sup);
    bool running = true;
    bool stopping = false;
    while (running) {
      timespec tick{0, 100'000'000};
      int sig = sigtimedwait(&signals, nullptr, &tick);
      if (sig == SIGHUP) {
        spdlog::warn("SIGHUP: configuration reload is not supported yet; restart switchyardd");
      } else if (sig > 0 && !stopping) {
        spdlog::info("{} received: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        stopping = true;
        self->send_exit(sup, caf::exit_reason::user_shutdown);
      }
      self->receive(
          [&](caf::down_msg& dm) {
            running = false;
            if (!stopping) {
              spdlog::critical("supervisor escalated: {}; switchyardd exits", describe(dm.reason));
              code = exit_escalated;
            }
          },
          caf::after(std::chrono::milliseconds(0)) >> [] {});
    }
  }
  api.stop();
  spdlog::info("switchyardd stopped");
  return code;
}

} // namespace switchyard::app

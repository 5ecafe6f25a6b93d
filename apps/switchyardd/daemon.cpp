#include "apps/switchyardd/daemon.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/backup_manager.hpp"
#include "actors/config_holder.hpp"
#include "actors/config_reloader.hpp"
#include "actors/event_hub.hpp"
#include "actors/failover_coordinator.hpp"
#include "actors/failover_runner.hpp"
#include "actors/failure_classifier.hpp"
#include "actors/health_checker.hpp"
#include "actors/peers.hpp"
#include "actors/performance_monitor.hpp"
#include "actors/scheduler_settings.hpp"
#include "actors/site_coordinator.hpp"
#include "actors/store.hpp"
#include "actors/supervisor.hpp"
#include "api/api_gateway.hpp"
#include "apps/switchyardd/cluster_member.hpp"
#include "messages/error.hpp"
#include "messages/message_types.hpp"
#include "messages/type_ids.hpp"
#include "observability/event_fanout.hpp"
#include "observability/metrics.hpp"
#include "observability/metrics_server.hpp"

namespace switchyard::app {

namespace {

using namespace switchyard::actors;
using config_ptr = std::shared_ptr<const config::switchyard_config>;

// Every spawn function reads the configuration in force when it runs, so a
// subsystem restarted after a reload starts with the reloaded one. Each one
// gets `peers`, where the supervisor publishes every incarnation's handle.
std::vector<child_spec> subsystems(const std::shared_ptr<config_holder>& current,
                                   const std::shared_ptr<event_fanout>& events,
                                   const peers_ptr& peers) {
  auto publish_as = [peers](peer who) {
    return [peers, who](const caf::actor& handle) { peers->set(who, handle); };
  };
  std::vector<child_spec> specs;
  // Start order matters: the store first (everyone journals through it),
  // health checkers last (they produce the first messages).
  specs.push_back({"store",
                   [current, peers](caf::actor_system& sys) {
                     // Detached: SQLite's fsyncs must not stall the cooperative scheduler.
                     return caf::actor_cast<caf::actor>(
                         sys.spawn<caf::detached>(store, current->get(), peers));
                   },
                   publish_as(peer::store)});
  // The fanout outlives hub restarts: watchers stay subscribed.
  specs.push_back({"event_hub",
                   [events, peers](caf::actor_system& sys) {
                     return caf::actor_cast<caf::actor>(sys.spawn(event_hub, events, peers));
                   },
                   publish_as(peer::events)});
  specs.push_back({"failure_classifier",
                   [current, peers](caf::actor_system& sys) {
                     // Its services and thresholds come first in its mailbox.
                     auto cls = sys.spawn(failure_classifier, peers);
                     caf::anon_send(cls, config_update{current->get()});
                     return caf::actor_cast<caf::actor>(cls);
                   },
                   publish_as(peer::classifier)});
  // Before the health checkers (their probe samples) and the coordinator
  // (its topology reaches the monitor through the classifier).
  specs.push_back({"performance_monitor",
                   [current, peers](caf::actor_system& sys) {
                     // Cooperative: its scrapers, which block, are detached.
                     return caf::actor_cast<caf::actor>(
                         sys.spawn(performance_monitor, current->get(), true, peers));
                   },
                   publish_as(peer::performance)});
  specs.push_back({"failover_runner",
                   [current, peers](caf::actor_system& sys) {
                     return caf::actor_cast<caf::actor>(
                         sys.spawn(failover_runner, current->get(), peers));
                   },
                   publish_as(peer::runner)});
  specs.push_back({"failover_coordinator",
                   [current, peers](caf::actor_system& sys) {
                     return caf::actor_cast<caf::actor>(
                         sys.spawn(failover_coordinator, current->get(), peers));
                   },
                   publish_as(peer::coordinator)});
  // After the coordinator: at start it carries committed site switchovers
  // through (or aborts undecided ones) once the coordinator has its topology.
  specs.push_back({"site_coordinator",
                   [current, peers](caf::actor_system& sys) {
                     return caf::actor_cast<caf::actor>(
                         sys.spawn(site_coordinator, current, peers));
                   },
                   publish_as(peer::site)});
  // Backups: the manager only schedules; its jobs do the I/O in threads of
  // their own. Artifact names carry who took them (replicas share destinations).
  specs.push_back({"backup_manager",
                   [current, peers](caf::actor_system& sys) {
                     auto cfg = current->get();
                     auto node = cfg->cluster ? cfg->cluster->member : std::string{"local"};
                     return caf::actor_cast<caf::actor>(
                         sys.spawn(backup_manager, cfg, peers, node));
                   },
                   publish_as(peer::backups)});
  for (const auto& svc : current->get()->services)
    for (auto& spec : health_checker_specs(svc, peers))
      specs.push_back(std::move(spec));
  return specs;
}

// "" when switchyardd can open (or create) its database for writing and
// create files beside it (SQLite's -wal and -shm); otherwise what stops it,
// naming the path and the OS reason. Checked before anything starts, so a
// read-only data folder is a start-up failure (exit 3), not a store that
// crashes until the supervisor gives up.
std::string check_database_access(const std::string& db) {
  int fd = ::open(db.c_str(), O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0)
    return "cannot create/open database " + db + ": " + std::strerror(errno);
  struct stat st {};
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  ::close(fd);
  if (!regular)
    return "cannot create/open database " + db + ": not a regular file";
  auto folder = std::filesystem::path(db).parent_path().string();
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    return "cannot write in data folder " + folder + " (SQLite keeps " + db +
           "-wal and -shm there): " + std::strerror(errno);
  return {};
}

// Kills the process group of every child of this process (each exec action
// and test redis-server leads its own group): the commands of abandoned
// backup jobs must not outlive switchyardd.
void kill_child_groups() {
  const auto me = ::getpid();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
    auto close = line.rfind(')');
    if (close == std::string::npos)
      continue;
    std::istringstream rest(line.substr(close + 1));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == me)
      ::kill(-static_cast<pid_t>(std::stol(name)), SIGKILL);
  }
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
  if (auto why = check_database_access(cfg->database_path()); !why.empty()) {
    spdlog::error("{}", why);
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

  // What /metrics serves; every actor reports here (through its peer table).
  // Declared before the actor system: it outlives every actor.
  metrics::registry registry;
  caf::actor_system_config caf_cfg;
  switchyard::add_message_types(caf_cfg);
  apply_scheduler_settings(caf_cfg);
  caf::actor_system sys{caf_cfg};

  auto events = std::make_shared<event_fanout>();
  auto current = std::make_shared<config_holder>(cfg);
  // Families every scrape shows from the start, before anything happened
  // (the coordinator shows switchyard_tilt at 0 from its start).
  registry.gauge_for("switchyard_up", "1 while switchyardd runs.").set(1);
  auto peers = std::make_shared<peer_table>(registry);
  // Cluster mode: campaigning starts before anything that could act, and the
  // actors ask this replica's authority before every decision and step.
  std::unique_ptr<cluster_member> member;
  if (cfg->cluster) {
    auto started = cluster_member::start(*cfg, peers);
    if (!started) {
      spdlog::error("{}", describe(started.error()));
      return exit_bad_config;
    }
    member = std::move(*started);
  }
  auto sup = sys.spawn(supervisor, subsystems(current, events, peers), cfg->orchestrator.supervisor,
                       &registry);
  config_reloader reloader{sys, sup, current, peers};
  if (tokens.empty())
    spdlog::warn("api: no tokens (api.tokens_file): every API call will be refused");
  api_gateway api{sys,     peers,
                  current, std::move(tokens),
                  events,  [&reloader](const std::string& who) { return reloader.reload(who); }};
  auto port = api.start();
  if (!port) {
    spdlog::error("api: {}", describe(port.error()));
    anon_send_exit(sup, caf::exit_reason::user_shutdown);
    return exit_startup_failed;
  }
  spdlog::info("api: listening on {} (port {})", cfg->api.listen, *port);
  if (!cfg->api.tls.enabled() && !cfg->api.listens_on_loopback())
    spdlog::warn("api: PLAINTEXT ON THE NETWORK: {} is not a loopback address and api.tls is not "
                 "set, so bearer tokens and every call cross the network unencrypted; configure "
                 "api.tls (cert_file, key_file) or listen on 127.0.0.1",
                 cfg->api.listen);
  registry
      .gauge_for("switchyard_build_info", "Always 1; the version is a label.",
                 {{"version", SWITCHYARD_VERSION}})
      .set(1);
  metrics::http_server metrics_http{cfg->orchestrator.metrics_listen, registry};
  if (cfg->orchestrator.metrics_enabled()) {
    std::string metrics_error;
    auto metrics_port = metrics_http.start(metrics_error);
    // Not fatal: failovers matter more than their metrics.
    if (metrics_port == 0)
      spdlog::error("metrics: {}; GET /metrics is not served", metrics_error);
    else
      spdlog::info("metrics: GET /metrics on {} (port {})", cfg->orchestrator.metrics_listen,
                   metrics_port);
    if (!cfg->orchestrator.metrics_listens_on_loopback())
      spdlog::warn("metrics: {} is not a loopback address: anyone who can reach it can read "
                   "the metrics (no authentication)",
                   cfg->orchestrator.metrics_listen);
  } else {
    spdlog::info("metrics: off (orchestrator.metrics_listen)");
  }
  int code = exit_ok;
  {
    caf::scoped_actor self{sys};
    self->monitor(sup);
    bool running = true;
    bool stopping = false;
    while (running) {
      timespec tick{0, 100'000'000};
      int sig = sigtimedwait(&signals, nullptr, &tick);
      if (member)
        member->tick();
      if (sig == SIGHUP && !stopping) {
        spdlog::info("SIGHUP received: reloading {}", cfg->source_file);
        (void)reloader.reload("SIGHUP"); // logs its outcome, errors included
      } else if (sig > 0 && !stopping) {
        spdlog::info("{} received: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        stopping = true;
        if (member) // another replica takes over now, not after the lease's TTL
          member->resign();
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
  events->close_all(); // ends every WatchEvents stream now, not at the shutdown deadline
  metrics_http.stop();
  api.stop();
  // A backup job in the middle of its I/O (an upload can take hours) is not
  // waited for: leaving now is what kill -9 does to it, and that is handled
  // (its row is marked failed at the next start; nothing partial is listed).
  // The actor system would otherwise join the job's thread on the way out.
  if (int jobs = peers->backup_jobs(); jobs > 0) {
    spdlog::warn("switchyardd stopped; {} backup job(s) abandoned (marked failed at the next "
                 "start)",
                 jobs);
    kill_child_groups();
    spdlog::shutdown();
    std::_Exit(code);
  }
  spdlog::info("switchyardd stopped");
  return code;
}

} // namespace switchyard::app

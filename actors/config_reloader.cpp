#include "actors/config_reloader.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "actors/event_hub.hpp"
#include "actors/health_checker.hpp"
#include "config/loader.hpp"
#include "messages/error.hpp"

namespace switchyard::actors {

namespace {

std::string summary(const config::config_changes& c) {
  std::vector<std::string> parts;
  if (!c.added.empty())
    parts.push_back(fmt::format("added {}", fmt::join(c.added, ", ")));
  if (!c.removed.empty())
    parts.push_back(fmt::format("removed {}", fmt::join(c.removed, ", ")));
  if (!c.changed.empty())
    parts.push_back(fmt::format("changed {}", fmt::join(c.changed, ", ")));
  if (parts.empty())
    parts.emplace_back("no service changed");
  if (!c.need_restart.empty())
    parts.push_back(fmt::format("not applied until restart: {}", fmt::join(c.need_restart, ", ")));
  return fmt::format("{}", fmt::join(parts, "; "));
}

} // namespace

config_reloader::config_reloader(caf::actor_system& sys, caf::actor supervisor,
                                 std::shared_ptr<config_holder> current, peers_ptr peers)
    : sys_(sys), supervisor_(std::move(supervisor)), current_(std::move(current)),
      peers_(std::move(peers)) {}

reload_outcome config_reloader::reload(const std::string& who) {
  std::lock_guard<std::mutex> guard{mutex_};
  reload_outcome out;
  auto before = current_->get();
  auto loaded = config::load_config_file(before->source_file);
  if (!loaded.ok()) {
    out.what = reload_outcome::verdict::invalid;
    for (const auto& e : loaded.errors)
      out.errors.push_back(config::to_string(e));
    out.detail = fmt::format("{} has {} error(s); the running configuration stays",
                             before->source_file, loaded.errors.size());
    spdlog::error("reload by {}: {}:\n  {}", who, out.detail, fmt::join(out.errors, "\n  "));
    return out;
  }
  auto next = std::make_shared<config::switchyard_config>(std::move(loaded.config));
  out.changes = config::diff_configs(*before, *next);
  // The listener, tokens, data folder, supervision and the cluster's election
  // are set up once at start; the running values stay in force (and in the
  // configuration everyone sees).
  next->orchestrator = before->orchestrator;
  next->api = before->api;
  next->cluster = before->cluster;
  // Backup policies apply at the backup manager's next tick; with no service
  // changed there is nothing else to do.
  bool backups_changed = !(before->backups == next->backups);
  if (!out.changes.services_changed() && backups_changed) {
    current_->set(next);
    if (auto backups = peers_->backups())
      caf::anon_send(backups, config_update{next});
    out.what = reload_outcome::verdict::applied;
    out.detail = "backup policies changed";
    spdlog::warn("reload by {}: {}", who, out.detail);
    publish_event(*peers_, {0, 0, event_kind::config, service_id{}, instance_id{}, switchover_id{0},
                            fmt::format("configuration reloaded by {}: {}", who, out.detail)});
    return out;
  }
  if (!out.changes.services_changed()) {
    out.what = reload_outcome::verdict::unchanged;
    out.detail = summary(out.changes);
    spdlog::info("reload by {}: {}", who, out.detail);
    return out;
  }

  auto coordinator = peers_->coordinator();
  if (!coordinator) {
    out.what = reload_outcome::verdict::failed;
    out.detail = "the coordinator is not running (restarting?); nothing reloaded";
    return out;
  }
  caf::scoped_actor self{sys_};
  caf::error failure;
  self->request(coordinator, std::chrono::seconds(30), config_update{next})
      .receive([](caf::ok_atom) {}, [&](caf::error& err) { failure = std::move(err); });
  if (failure) {
    out.what = failure.category() == caf::atom("switchyard") &&
                       static_cast<sy_errc>(failure.code()) == sy_errc::invalid_config
                   ? reload_outcome::verdict::refused
                   : reload_outcome::verdict::failed;
    out.detail = describe(failure);
    spdlog::error("reload by {} not applied: {}", who, out.detail);
    return out;
  }

  // Health checkers: only those of services that were removed or changed go;
  // those of added and changed services start with their new settings.
  supervisor_update update;
  auto restart = [&](const std::vector<std::string>& names, bool stop_old, bool start_new) {
    for (const auto& name : names) {
      if (const auto* svc = before->find_service(name); svc != nullptr && stop_old)
        for (const auto& inst : svc->instances)
          update.stop.push_back(health_checker_name(name, inst.name));
      if (const auto* svc = next->find_service(name); svc != nullptr && start_new)
        for (auto& spec : health_checker_specs(*svc, peers_))
          update.start.push_back(std::move(spec));
    }
  };
  restart(out.changes.removed, true, false);
  restart(out.changes.changed, true, true);
  restart(out.changes.added, false, true);
  caf::anon_send(supervisor_, std::move(update));

  current_->set(next);
  if (auto backups = peers_->backups())
    caf::anon_send(backups, config_update{next});
  out.what = reload_outcome::verdict::applied;
  out.detail = summary(out.changes) + (backups_changed ? "; backup policies changed" : "");
  spdlog::warn("reload by {}: {}", who, out.detail);
  publish_event(*peers_, {0, 0, event_kind::config, service_id{}, instance_id{}, switchover_id{0},
                          fmt::format("configuration reloaded by {}: {}", who, out.detail)});
  return out;
}

} // namespace switchyard::actors

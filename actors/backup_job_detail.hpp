// Internal to actors/backup_job*.cpp: one backup job's context (the
// blocking actor it runs in, the store it catalogues through) and its steps.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/blocking_actor.hpp>
#include <caf/expected.hpp>

#include "actors/backup_manager.hpp"
#include "backups/backup_source.hpp"
#include "backups/destination.hpp"
#include "messages/error.hpp"

namespace switchyard::actors::detail {

struct backup_job {
  caf::blocking_actor* self;
  peers_ptr peers;
  backup_job_spec& spec;
  backup_outcome out;

  template <class R, class Handle, class Msg> caf::expected<R> ask(const Handle& to, Msg msg) {
    if (!to)
      return make_sy_error(sy_errc::unavailable, "that subsystem is not running");
    caf::expected<R> result = make_sy_error(sy_errc::unavailable, "no reply");
    self->request(to, std::chrono::seconds(60), std::move(msg))
        .receive([&](R& r) { result = std::move(r); },
                 [&](caf::error& e) { result = std::move(e); });
    return result;
  }

  const config::backup_policy_settings& policy() const {
    const auto& b = spec.cfg->backups;
    if (spec.service == state_backup_service)
      return *b.find_policy(b.state_policy);
    return *b.find_policy(spec.cfg->find_service(spec.service)->backup->policy);
  }

  const config::backup_tier_settings* tier(const std::string& name) const {
    for (const auto& t : policy().tiers)
      if (t.name == name)
        return &t;
    return nullptr;
  }

  // Healthy standbys first, the primary last (backup_job.cpp).
  std::vector<std::pair<std::string, std::string>> redis_candidates();
  std::unique_ptr<backups::backup_source> source(const std::string& tier_name);
  void event(bool alert, std::string text);
  void line(std::string text);
  void count(const backup_record& b);
  bool take_one(const config::backup_tier_settings& t, bool force_full, std::string& why);
  void retain(const config::backup_tier_settings& t, backups::destination& dest);
  /// Cluster mode: a service backup this leader took, written to etcd.
  void replicate(const backup_record& b);
  void take();
  // backup_job_checks.cpp
  void verify();
  void restore();
};

} // namespace switchyard::actors::detail

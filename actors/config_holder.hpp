// The configuration currently in force, shared by the daemon, the API and the
// supervisor's spawn functions (so a restarted subsystem starts with the
// reloaded configuration, not the one switchyardd started with).
#pragma once

#include <memory>
#include <mutex>

#include "config/model.hpp"

namespace switchyard::actors {

class config_holder {
public:
  using ptr = std::shared_ptr<const config::switchyard_config>;

  explicit config_holder(ptr cfg) : cfg_(std::move(cfg)) {}

  ptr get() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return cfg_;
  }

  void set(ptr cfg) {
    std::lock_guard<std::mutex> guard{mutex_};
    cfg_ = std::move(cfg);
  }

private:
  mutable std::mutex mutex_;
  ptr cfg_;
};

} // namespace switchyard::actors

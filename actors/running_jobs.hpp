// Which services have a failover job executing in this process right now.
// One per switchyardd, in the peer table (actors/peers.hpp): it outlives
// restarts of the coordinator, the store and the runner by their supervisor,
// so a restarted coordinator never takes a switchover that is still running
// here for an interrupted one (and never starts a second one beside it).
#pragma once

#include <map>
#include <mutex>
#include <string>

namespace switchyard::actors {

class running_jobs {
public:
  void started(const std::string& service);
  void ended(const std::string& service);
  bool running(const std::string& service) const;

  /// Marks `service` busy in `jobs` for its lifetime.
  class guard {
  public:
    guard(running_jobs& jobs, std::string service) : jobs_(jobs), service_(std::move(service)) {
      jobs_.started(service_);
    }
    ~guard() { jobs_.ended(service_); }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;

  private:
    running_jobs& jobs_;
    std::string service_;
  };

private:
  mutable std::mutex mu_;
  std::map<std::string, int> jobs_; ///< service -> jobs executing
};

} // namespace switchyard::actors

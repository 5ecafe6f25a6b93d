// Which services have a failover job executing in this process right now.
// Process-wide on purpose: it outlives restarts of the coordinator, the store
// and the runner by their supervisor, so a restarted coordinator never takes
// a switchover that is still running here for an interrupted one (and never
// starts a second one beside it).
#pragma once

#include <string>

namespace switchyard::actors::running_jobs {

void job_started(const std::string& service);
void job_ended(const std::string& service);
bool running(const std::string& service);

/// Marks `service` busy for its lifetime.
class guard {
public:
  explicit guard(std::string service) : service_(std::move(service)) { job_started(service_); }
  ~guard() { job_ended(service_); }
  guard(const guard&) = delete;
  guard& operator=(const guard&) = delete;

private:
  std::string service_;
};

} // namespace switchyard::actors::running_jobs

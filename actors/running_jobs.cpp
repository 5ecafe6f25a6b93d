#include "actors/running_jobs.hpp"

namespace switchyard::actors {

void running_jobs::started(const std::string& service) {
  std::lock_guard<std::mutex> g{mu_};
  ++jobs_[service];
}

void running_jobs::ended(const std::string& service) {
  std::lock_guard<std::mutex> g{mu_};
  if (auto i = jobs_.find(service); i != jobs_.end() && --i->second <= 0)
    jobs_.erase(i);
}

bool running_jobs::running(const std::string& service) const {
  std::lock_guard<std::mutex> g{mu_};
  return jobs_.count(service) > 0;
}

} // namespace switchyard::actors

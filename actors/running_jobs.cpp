#include "actors/running_jobs.hpp"

#include <map>
#include <mutex>

namespace switchyard::actors::running_jobs {

namespace {

std::mutex& lock() {
  static std::mutex m;
  return m;
}

std::map<std::string, int>& jobs() {
  static std::map<std::string, int> j;
  return j;
}

} // namespace

void job_started(const std::string& service) {
  std::lock_guard<std::mutex> g{lock()};
  ++jobs()[service];
}

void job_ended(const std::string& service) {
  std::lock_guard<std::mutex> g{lock()};
  if (auto i = jobs().find(service); i != jobs().end() && --i->second <= 0)
    jobs().erase(i);
}

bool running(const std::string& service) {
  std::lock_guard<std::mutex> g{lock()};
  return jobs().count(service) > 0;
}

} // namespace switchyard::actors::running_jobs

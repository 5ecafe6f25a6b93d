#include "actors/fault_injection.hpp"

#include <csignal>
#include <cstdlib>

#include <spdlog/spdlog.h>

namespace switchyard::actors {

void crash_point(const std::string& point) {
  static const std::string armed = [] {
    const char* v = std::getenv("SWITCHYARD_FAULT_AT");
    return std::string(v == nullptr ? "" : v);
  }();
  if (armed.empty() || armed != point)
    return;
  spdlog::critical("fault injection: SWITCHYARD_FAULT_AT={}: dying now", point);
  spdlog::default_logger()->flush();
  std::raise(SIGKILL);
}

} // namespace switchyard::actors

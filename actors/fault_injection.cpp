#include "actors/fault_injection.hpp"

#include <csignal>
#include <cstdlib>
#include <utility>

#include <spdlog/spdlog.h>

namespace switchyard::actors {

namespace {

journal_point_observer& observer() {
  static journal_point_observer o;
  return o;
}

} // namespace

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

void journal_point(const std::string& service, const std::string& point) {
  if (const auto& o = observer())
    o(service, point);
  crash_point(point);
}

void trace_hop(const std::string& service, const char* hop) {
  if (const auto& o = observer())
    o(service, std::string("hop:") + hop);
}

void observe_journal_points(journal_point_observer o) {
  observer() = std::move(o);
}

} // namespace switchyard::actors

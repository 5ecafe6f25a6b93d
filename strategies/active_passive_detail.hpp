// Inside active_passive: what its planning and execution (active_passive.cpp)
// and its checks and site preparation (active_passive_checks.cpp) share. Not
// for use outside them.
#pragma once

#include <string>

#include <fmt/format.h>

#include "config/model.hpp"

namespace switchyard::strategies::active_passive_detail {

// "host:port" as an action sees it; empty for an instance not configured.
inline std::string address(const config::instance_settings* i) {
  return i == nullptr ? std::string{} : fmt::format("{}:{}", i->host, i->port);
}

} // namespace switchyard::strategies::active_passive_detail

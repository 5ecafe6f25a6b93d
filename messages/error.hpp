// The project's one error enum. Every failure that crosses an actor or module
// boundary is a caf::error made from one of these codes plus a message a
// person can act on.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace switchyard {

enum class sy_errc : std::uint8_t {
  unspecified = 1,
  invalid_config,      ///< the configuration is malformed or inconsistent
  storage_failure,     ///< SQLite refused a read or write
  unknown_service,     ///< a service name that is not configured
  unknown_instance,    ///< an instance name that is not configured
  no_failover_target,  ///< no healthy standby to promote
  failover_blocked,    ///< a safety rule refused the failover
  action_failed,       ///< an action (exec, ...) reported failure
  action_timeout,      ///< an action did not finish in time
  already_in_progress, ///< a switchover for the service is in flight
  unknown_switchover,  ///< no switchover with that id
  unknown_site,        ///< a site name that is not configured
  not_found,           ///< no site switchover or drill with that id
  unavailable,         ///< a subsystem is not running (restarting?) or did not reply
  backup_failed,       ///< a backup, a copy to a destination or a restore did not complete
  corrupt,             ///< an artifact or a chain failed its integrity check
};

const char* to_string(sy_errc code);

/// Renders an error as "code: message" without CAF's internal formatting.
std::string describe(const caf::error& err);

/// Builds an error with a human-readable explanation attached.
caf::error make_sy_error(sy_errc code, std::string message);

} // namespace switchyard

CAF_ERROR_CODE_ENUM(switchyard::sy_errc, "switchyard")

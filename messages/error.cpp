#include "messages/error.hpp"

#include <caf/message.hpp>

namespace switchyard {

const char* to_string(sy_errc code) {
  switch (code) {
  case sy_errc::unspecified:
    return "unspecified";
  case sy_errc::invalid_config:
    return "invalid_config";
  case sy_errc::storage_failure:
    return "storage_failure";
  case sy_errc::unknown_service:
    return "unknown_service";
  case sy_errc::unknown_instance:
    return "unknown_instance";
  case sy_errc::no_failover_target:
    return "no_failover_target";
  case sy_errc::failover_blocked:
    return "failover_blocked";
  case sy_errc::action_failed:
    return "action_failed";
  case sy_errc::action_timeout:
    return "action_timeout";
  case sy_errc::already_in_progress:
    return "already_in_progress";
  case sy_errc::unknown_switchover:
    return "unknown_switchover";
  case sy_errc::unknown_site:
    return "unknown_site";
  case sy_errc::not_found:
    return "not_found";
  case sy_errc::unavailable:
    return "unavailable";
  case sy_errc::backup_failed:
    return "backup_failed";
  case sy_errc::corrupt:
    return "corrupt";
  }
  return "unknown";
}

caf::error make_sy_error(sy_errc code, std::string message) {
  return caf::error{static_cast<std::uint8_t>(code), caf::atom("switchyard"),
                    caf::make_message(std::move(message))};
}

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  std::string result;
  if (err.category() == caf::atom("switchyard"))
    result = to_string(static_cast<sy_errc>(err.code()));
  else
    result = caf::to_string(err);
  const auto& ctx = err.context();
  if (ctx.match_elements<std::string>())
    result += ": " + ctx.get_as<std::string>(0);
  return result;
}

} // namespace switchyard

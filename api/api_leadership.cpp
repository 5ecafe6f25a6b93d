#include "api/api_leadership.hpp"

#include <fmt/format.h>

namespace switchyard::actors {

std::string not_leader_message(const leadership_view& view) {
  if (view.leader_id.empty())
    return fmt::format("no leader: {}; retry shortly",
                       view.reason.empty() ? std::string{"no replica holds the leader key"}
                                           : view.reason);
  const auto self = view.member.empty() ? std::string{} : fmt::format(" ({})", view.member);
  if (view.leader_id == view.member) // it holds the key but its lease is not renewed in time
    return fmt::format("not acting: this replica{} holds the leader key (epoch {}) but may not "
                       "act now: {}; retry shortly",
                       self, view.epoch, view.reason.empty() ? "lease not renewed" : view.reason);
  if (view.leader_address.empty())
    return fmt::format("not the leader: this replica{} does not lead; the leader is {} (epoch {}; "
                       "its API address is unknown); send mutations there",
                       self, view.leader_id, view.epoch);
  return fmt::format("not the leader: this replica{} does not lead; the leader is {} at {} "
                     "(epoch {}); send mutations there",
                     self, view.leader_id, view.leader_address, view.epoch);
}

} // namespace switchyard::actors

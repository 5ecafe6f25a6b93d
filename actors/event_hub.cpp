#include "actors/event_hub.hpp"

#include <chrono>

#include <caf/all.hpp>
#include <fmt/format.h>

namespace switchyard::actors {

events_actor::behavior_type event_hub(events_actor::pointer, std::shared_ptr<event_fanout> fanout,
                                      peers_ptr peers) {
  return {
      [fanout, peers](orchestrator_event& e) {
        // Cluster mode: every event carries the epoch of the leader in force.
        if (e.leader_epoch == 0 && peers)
          e.leader_epoch = peers->authority().epoch();
        fanout->publish(std::move(e));
      },
  };
}

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

orchestrator_event detection_event(const failure_detection& d) {
  return {0,
          0,
          event_kind::detection,
          d.service,
          d.instance,
          switchover_id{0},
          fmt::format("detection #{} [{}/{}{}] {}", d.id.value, to_string(d.type),
                      to_string(d.level), d.affects_primary ? ", primary" : "", d.evidence)};
}

void publish_event(const peer_table& peers, orchestrator_event e) {
  if (e.at_ms == 0)
    e.at_ms = wall_clock_ms();
  if (auto hub = peers.events())
    caf::anon_send(hub, std::move(e));
}

} // namespace switchyard::actors

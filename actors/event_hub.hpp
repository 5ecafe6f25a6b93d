// The event hub: every actor that learns something an operator watching live
// should see sends an orchestrator_event here (fire and forget). The hub
// stamps and numbers it and hands it to the fanout, which feeds the API's
// WatchEvents streams. One mailbox gives every watcher the same global order.
#pragma once

#include <memory>

#include "actors/peers.hpp"
#include "messages/interfaces.hpp"
#include "observability/event_fanout.hpp"

namespace switchyard::actors {

/// Hands every event to the fanout; in cluster mode stamps it with the epoch
/// of the leader in force (`peers`' control authority).
events_actor::behavior_type event_hub(events_actor::pointer self,
                                      std::shared_ptr<event_fanout> fanout, peers_ptr peers);

/// Sends `e` to the event hub of `peers`, if one is running; never waits.
/// `at_ms` is set to now when it is 0.
void publish_event(const peer_table& peers, orchestrator_event e);

/// The `detection` event of a persisted detection (its id set): published
/// by the classifier, or by the store for a detection it hands on to the
/// coordinator (before it does, so watchers see the detection before the
/// decision on it).
orchestrator_event detection_event(const failure_detection& d);

/// The current wall clock in ms since the epoch.
std::int64_t wall_clock_ms();

} // namespace switchyard::actors

// Orchestrator events: what an operator watching switchyardd live sees
// (WatchEvents). Published by the actors that know each fact first, fanned
// out by the event hub; never persisted as such (the journal and the health
// history are the durable record).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <caf/meta/type_name.hpp>

#include "messages/ids.hpp"

namespace switchyard {

enum class event_kind : std::uint8_t {
  health,      ///< an instance crossed its rise/fall threshold
  detection,   ///< a classified failure detection was recorded
  decision,    ///< the coordinator decided on a detection or a request
  switchover,  ///< a switchover/failover opened or closed in the journal
  step,        ///< a journaled step started or ended
  maintenance, ///< maintenance turned on, off, or expired
  config,      ///< the configuration was reloaded
  alert,       ///< an operator must act now (fencing failed, a rejoin failed)
  leadership,  ///< this replica became leader, lost leadership, or may (not) act
  backup,      ///< a backup, verification or restore ended (a 3-2-1/RPO breach is an alert)
};

const char* to_string(event_kind x);
/// The kind named `text` (as to_string prints it), if any.
std::optional<event_kind> parse_event_kind(const std::string& text);

struct orchestrator_event {
  std::uint64_t sequence = 0; ///< assigned by the hub: gap-free, increasing
  std::int64_t at_ms = 0;     ///< wall clock (ms since the epoch) when it happened
  event_kind kind = event_kind::health;
  service_id service;
  instance_id instance;          ///< empty when the event is about the whole service
  switchover_id switchover{0};   ///< for switchover and step events
  std::string summary;           ///< one line for a person
  std::int64_t leader_epoch = 0; ///< cluster mode: the epoch of the leader in force; 0 otherwise
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, orchestrator_event& x) {
  return f(caf::meta::type_name("orchestrator_event"), x.sequence, x.at_ms, x.kind, x.service,
           x.instance, x.switchover, x.summary, x.leader_epoch);
}

} // namespace switchyard

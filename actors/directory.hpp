// Well-known actor names. The supervisor registers every subsystem under its
// name when it (re)spawns it, and senders look the current handle up at send
// time, so a restarted subsystem is reachable without telling anyone.
#pragma once

#include <caf/actor_cast.hpp>
#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

namespace switchyard::actors {

namespace names {
constexpr caf::atom_value store = caf::atom("store");
constexpr caf::atom_value classifier = caf::atom("classifier");
constexpr caf::atom_value coordinator = caf::atom("coord");
constexpr caf::atom_value runner = caf::atom("runner");
constexpr caf::atom_value events = caf::atom("events");
constexpr caf::atom_value performance = caf::atom("perf");
constexpr caf::atom_value site = caf::atom("site");
} // namespace names

/// The currently registered actor named `name`, or an invalid handle.
template <class Handle> Handle lookup(caf::actor_system& sys, caf::atom_value name) {
  return caf::actor_cast<Handle>(sys.registry().get(name));
}

} // namespace switchyard::actors

// Registers Switchyard's message types (the CAF type-ID block in
// messages/type_ids.hpp) with an actor system's configuration.
//
// Compiled once, in message_types.cpp: the registration instantiates every
// message type's serializer and deserializer, which costs each file that
// calls it several seconds of compile time (and the object code with it).
#pragma once

namespace caf {
class actor_system_config;
}

namespace switchyard {

/// Adds every Switchyard message type to `cfg`; returns `cfg`.
caf::actor_system_config& add_message_types(caf::actor_system_config& cfg);

} // namespace switchyard

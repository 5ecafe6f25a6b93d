// A validated new configuration, handed to the actors that hold one during a
// reload. Local only (it carries a pointer), so it is an unsafe message type.
#pragma once

#include <memory>

#include <caf/allowed_unsafe_message_type.hpp>

namespace switchyard {

namespace config {
struct switchyard_config;
}

struct config_update {
  std::shared_ptr<const config::switchyard_config> cfg;
};

} // namespace switchyard

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchyard::config_update)

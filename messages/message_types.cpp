#include "messages/message_types.hpp"

#include <caf/actor_system_config.hpp>

#include "messages/type_ids.hpp"

namespace switchyard {

caf::actor_system_config& add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::switchyard>();
  return cfg;
}

} // namespace switchyard

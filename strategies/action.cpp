// Builds configured actions.
#include "strategies/action.hpp"

#include "strategies/actions/exec_action.hpp"

namespace switchyard::strategies {

std::unique_ptr<action> make_action(const config::action_settings& settings) {
  switch (settings.type) {
  case config::action_type::exec:
    return std::make_unique<exec_action>(settings);
  }
  return nullptr;
}

} // namespace switchyard::strategies

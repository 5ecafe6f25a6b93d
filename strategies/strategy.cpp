// Picks the strategy implementation a service's configuration asks for.
#include "strategies/strategy.hpp"

#include "strategies/active_passive.hpp"

namespace switchyard::strategies {

std::unique_ptr<failover_strategy> make_strategy(const config::service_settings& service) {
  switch (service.strategy.type) {
  case config::strategy_type::active_passive:
    return std::make_unique<active_passive>(service);
  }
  return nullptr;
}

} // namespace switchyard::strategies

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

strategy_set::strategy_set(std::shared_ptr<const config::switchyard_config> cfg)
    : cfg_(std::move(cfg)) {
  by_position_.reserve(cfg_->services.size());
  for (const auto& svc : cfg_->services)
    by_position_.push_back(make_strategy(svc));
}

const config::service_settings* strategy_set::settings(const std::string& service) const {
  return cfg_->find_service(service);
}

failover_strategy* strategy_set::find(const std::string& service) const {
  const auto* svc = cfg_->find_service(service);
  if (svc == nullptr)
    return nullptr;
  return by_position_[static_cast<std::size_t>(svc - cfg_->services.data())].get();
}

} // namespace switchyard::strategies

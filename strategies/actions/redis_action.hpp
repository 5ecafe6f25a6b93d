// The Redis action, on the step's target instance over RESP: promote
// (REPLICAOF NO ONE, then ROLE must say master), follow (REPLICAOF the new
// primary, then ROLE must say replica of it: repoints replicas and demotes a
// returning old primary), pause_writes (CLIENT PAUSE ... WRITE: fences a
// primary that is still up). A password, if any, comes from the action's env
// REDIS_PASSWORD (sent with AUTH first).
#pragma once

#include "strategies/action.hpp"

namespace switchyard::strategies {

class redis_action : public action {
public:
  explicit redis_action(config::action_settings settings);

  action_result run(const action_context& ctx) override;
  std::string kind() const override { return "redis"; }
  std::string describe() const override;

private:
  config::action_settings settings_;
};

} // namespace switchyard::strategies

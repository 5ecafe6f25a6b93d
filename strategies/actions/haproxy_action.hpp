// The HAProxy action: sets a server's state (ready, drain, maint) and
// optionally its weight through HAProxy's runtime API (a stats socket with
// level admin, unix or TCP), then reads the state back to verify it took.
#pragma once

#include "strategies/action.hpp"

namespace switchyard::strategies {

class haproxy_action : public action {
public:
  explicit haproxy_action(config::action_settings settings);

  action_result run(const action_context& ctx) override;
  std::string kind() const override { return "haproxy"; }
  std::string describe() const override;

private:
  config::action_settings settings_;
};

} // namespace switchyard::strategies

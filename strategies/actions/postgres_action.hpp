// PostgreSQL actions through libpq (pg_session): promote, follow, lsn,
// caught_up, fence, stop, rejoin. Blocking, bounded by the action's timeout.
// See config::postgres_operation and docs/postgresql.md.
#pragma once

#include "config/model.hpp"
#include "strategies/action.hpp"

namespace switchyard::strategies {

class postgres_action : public action {
public:
  /// `service`: its `postgres:` settings and instances (data_directory);
  /// nullptr: run() fails saying so.
  postgres_action(config::action_settings settings, const config::service_settings* service);

  action_result run(const action_context& ctx) override;
  std::string kind() const override { return "postgres"; }
  std::string describe() const override;

private:
  config::action_settings settings_;
  const config::service_settings* service_;
};

} // namespace switchyard::strategies

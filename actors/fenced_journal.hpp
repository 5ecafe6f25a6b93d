// The step journal of a failover worker with the control authority in front
// (control_authority.hpp): a step is recorded with the authority (in cluster
// mode: a fenced etcd write under the leader's epoch) before it is journaled
// and run, and its outcome after (before the local journal's: a successor
// goes by etcd's record of the step). When the authority refuses (this replica no
// longer leads) or cannot answer, begin_step fails and the strategy does not
// run the step's action: a deposed leader stops at the next step.
#pragma once

#include <map>
#include <utility>

#include "actors/control_authority.hpp"
#include "strategies/journal.hpp"

namespace switchyard::actors {

class fenced_journal : public strategies::step_journal {
public:
  fenced_journal(strategies::step_journal& inner, control_authority& authority, service_id service)
      : inner_(inner), authority_(authority), service_(std::move(service)) {}

  caf::expected<step_id> begin_step(const step_start& s) override;
  caf::expected<void> finish_step(const step_finish& s) override;

private:
  strategies::step_journal& inner_;
  control_authority& authority_;
  service_id service_;
  /// step id -> (switchover, sequence), for finish_step.
  std::map<std::int64_t, std::pair<switchover_id, std::uint32_t>> steps_;
};

} // namespace switchyard::actors

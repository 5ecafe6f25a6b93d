#include "actors/fenced_journal.hpp"

namespace switchyard::actors {

caf::expected<step_id> fenced_journal::begin_step(const step_start& s) {
  // The authority's refusal as it stands: the strategy names the step.
  if (auto ok = authority_.step(service_, s.switchover, s.step.sequence, step_status::started); !ok)
    return ok.error();
  auto id = inner_.begin_step(s);
  if (id)
    steps_[id->value] = {s.switchover, s.step.sequence};
  return id;
}

caf::expected<void> fenced_journal::finish_step(const step_finish& s) {
  if (auto ok = inner_.finish_step(s); !ok)
    return ok;
  auto i = steps_.find(s.step.value);
  if (i == steps_.end())
    return caf::unit;
  auto [switchover, sequence] = i->second;
  steps_.erase(i);
  return authority_.step(service_, switchover, sequence,
                         s.ok ? step_status::done : step_status::failed);
}

} // namespace switchyard::actors

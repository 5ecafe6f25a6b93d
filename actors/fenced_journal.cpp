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
  auto i = steps_.find(s.step.value);
  if (i == steps_.end())
    return inner_.finish_step(s);
  auto [switchover, sequence] = i->second;
  steps_.erase(i);
  // The outcome goes to etcd first: a successor trusts etcd's record of the
  // step, so a step done here is not run again by the next leader even if
  // this process dies before its own journal says so. The local journal
  // keeps the outcome either way; the first error stops the switchover.
  auto fenced = authority_.step(service_, switchover, sequence,
                                s.ok ? step_status::done : step_status::failed);
  if (auto local = inner_.finish_step(s); !local)
    return local;
  return fenced;
}

} // namespace switchyard::actors

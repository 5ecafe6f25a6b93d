// The strategy's view of the switchover journal. Every step is begun in the
// journal before its action runs and finished after; if the journal cannot
// be written, the action does not run.
#pragma once

#include <caf/expected.hpp>

#include "messages/switchover.hpp"

namespace switchyard::strategies {

class step_journal {
public:
  virtual ~step_journal() = default;
  [[nodiscard]] virtual caf::expected<step_id> begin_step(const step_start& s) = 0;
  [[nodiscard]] virtual caf::expected<void> finish_step(const step_finish& s) = 0;
};

} // namespace switchyard::strategies

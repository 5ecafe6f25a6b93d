// The code of an error as its name ("corrupt", "backup_failed"), for the backup suites' checks.
#pragma once

#include <string>

#include <caf/error.hpp>

#include "messages/error.hpp"

namespace switchyard::testing {

inline std::string code_of(const caf::error& e) {
  return e.category() == caf::atom("switchyard") ? to_string(static_cast<sy_errc>(e.code()))
                                                 : caf::to_string(e);
}

} // namespace switchyard::testing

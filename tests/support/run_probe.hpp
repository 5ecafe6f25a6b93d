// Runs checks of an async_probe and waits for their outcome (bounded), for
// the probe tests.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <optional>

#include "probes/probe.hpp"
#include "tests/support/process.hpp"

namespace switchyard::testing {

/// One check of `p`, waited for at most `limit`; nullopt when it did not end.
inline std::optional<probe_outcome>
run_once(actors::async_probe& p,
         std::chrono::steady_clock::duration limit = std::chrono::seconds(5)) {
  auto promise = std::make_shared<std::promise<probe_outcome>>();
  auto result = promise->get_future();
  p.start([promise](probe_outcome out) { promise->set_value(std::move(out)); });
  if (result.wait_for(limit) != std::future_status::ready)
    return std::nullopt;
  return result.get();
}

/// Checks `p` until a check succeeds, for at most `limit`.
inline bool wait_probe_ok(actors::async_probe& p,
                          std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  return wait_until(
      [&] {
        auto out = run_once(p);
        return out && out->ok;
      },
      limit);
}

} // namespace switchyard::testing

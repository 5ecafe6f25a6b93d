// Probes check one instance. Health checkers use the asynchronous interface
// (`async_probe`): the probe engine (probe_engine.hpp) runs the check on its
// own few threads and calls back with the outcome. `probe` is the blocking
// interface: the exec and grpc probes implement it and the engine runs them on
// its small worker pool; tests script outcomes with it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "config/model.hpp"
#include "messages/probe_result.hpp"

namespace switchyard::actors {

using ::switchyard::probe_outcome;

/// Starts checks and reports their outcome through a callback.
class async_probe {
public:
  /// Called exactly once per start(), on any thread; it must be short (send a message).
  using completion = std::function<void(probe_outcome)>;
  /// Called on any thread when the connection the probe holds open between
  /// checks (fast detection) is closed by the peer; short, like `completion`.
  using lost_callback = std::function<void()>;

  virtual ~async_probe() = default;
  /// Starts one check. Starting another before the first one completed
  /// abandons the first: its completion may still be called, or not.
  virtual void start(completion done) = 0;
  /// Set once, before the first start().
  virtual void on_connection_lost(lost_callback) {}

  /// When periodic checks run: every `interval` plus a random share of
  /// `jitter`; `seed` spreads probes started together.
  struct periodic_settings {
    std::chrono::milliseconds interval{1000};
    std::chrono::milliseconds jitter{0};
    unsigned seed = 0;
  };
  /// Runs a check now and then periodically on the probe's own timer, calling
  /// `each` with every outcome (on any thread, short like `completion`), so
  /// that the caller needs no timer, and no message, per check. A beat that
  /// finds a check still in flight is skipped; start() still runs an extra
  /// check, or takes over the periodic one in flight (its outcome then goes
  /// to start()'s completion, not to `each`). Call at most once. Returns
  /// false, doing nothing, when the probe cannot: the caller then times
  /// start() itself.
  virtual bool run_periodically(const periodic_settings&, completion /*each*/) { return false; }
};

/// A blocking probe: check() returns within its timeout. As an async_probe it
/// runs inline in start() (for tests and scripted probes); the engine runs the
/// real blocking probes (exec, grpc) on its worker pool instead.
class probe : public async_probe {
public:
  [[nodiscard]] virtual probe_outcome check() = 0;

  void start(completion done) override { done(check()); }
};

class probe_engine;

/// The probe configured by the service's health check for `instance`, run
/// by `engine` (the process-wide engine by default).
std::unique_ptr<async_probe> make_probe(const std::string& service,
                                        const config::health_check_settings& check,
                                        const config::instance_settings& instance);
std::unique_ptr<async_probe> make_probe(probe_engine& engine, const std::string& service,
                                        const config::health_check_settings& check,
                                        const config::instance_settings& instance);

} // namespace switchyard::actors

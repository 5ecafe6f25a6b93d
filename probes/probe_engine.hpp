// The probe engine: one per process, runs every health check without a
// thread per instance and without blocking an actor.
//
// tcp, http and redis probes are asynchronous state machines on standalone
// asio: a few io threads (one by default), each running its own io_context;
// a probe stays on the io_context it was given at creation, so its state is
// only ever touched by one thread. Every check has a steady timer for its
// timeout. What differs between the three kinds (what is sent, what the
// answer means, what a held connection is good for) is one type per kind in
// check_kinds.hpp. Their periodic checks run on the probe's own steady timer
// there too (`run_periodically`): a periodic check costs no message to the
// engine and no timer of the health checker's, only its outcome. Outcomes are handed
// to their completions in bursts (at most one a millisecond while busy). A
// connection held between checks (fast detection) is watched by a pending
// read: when the peer closes or resets it, the probe's lost-callback is
// called at once.
//
// exec, grpc and postgres probes are blocking (`probe`); they run on a small
// fixed worker pool (two threads by default). A postgres probe's session kept
// between checks is watched on a lane like a held net connection.
//
// Callbacks (completion, connection lost) run on the engine's threads and must
// be short: the health checker sends itself a message to a weak handle, so a
// checker that quits never keeps a probe, or the engine, from going on.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "probes/probe.hpp"

namespace switchyard::actors {

class probe_engine {
public:
  struct options {
    std::size_t io_threads = 1;   ///< tcp, http, redis
    std::size_t pool_threads = 2; ///< exec, grpc (blocking)
  };

  probe_engine();
  explicit probe_engine(options opts);
  /// Stops and joins every thread; checks still running never complete.
  /// Destroy every probe made by the engine first.
  ~probe_engine();
  probe_engine(const probe_engine&) = delete;
  probe_engine& operator=(const probe_engine&) = delete;

  /// The engine the daemon's health checkers share (destroyed at exit).
  static probe_engine& process_wide();

  /// Threads the engine runs: fixed at construction.
  [[nodiscard]] std::size_t thread_count() const;

  /// Healthy when a connection is accepted within the timeout. With `hold`
  /// the connection is kept open and, while the peer has not closed it, is the
  /// next check's success ("connection held").
  std::unique_ptr<async_probe> tcp(std::string host, std::uint16_t port,
                                   std::chrono::milliseconds timeout, bool hold = false);
  /// HTTP/1.1 GET `path`: healthy when the status is `expected_status`.
  std::unique_ptr<async_probe> http(std::string host, std::uint16_t port, std::string path,
                                    int expected_status, std::chrono::milliseconds timeout);
  /// PING must answer PONG; ROLE names the instance's role in the detail
  /// ("PONG, master"). With `hold` the connection is reused by the next check.
  std::unique_ptr<async_probe> redis(std::string host, std::uint16_t port,
                                     std::chrono::milliseconds timeout, bool hold = false);
  /// The postgres probe (pg_probe) on the worker pool. With `hold`, the
  /// session it keeps between checks is watched on an io thread: the server
  /// closing it (a backend exits at once when its postmaster dies) calls the
  /// lost-callback, as for a held tcp or redis connection.
  std::unique_ptr<async_probe> postgres(std::string host, std::uint16_t port,
                                        std::string libpq_options,
                                        std::chrono::milliseconds timeout, bool hold = false);
  /// A blocking probe run on the worker pool (one check of it at a time).
  std::unique_ptr<async_probe> pooled(std::unique_ptr<probe> blocking);

  /// Connections held open and watched right now (for tests).
  [[nodiscard]] std::size_t held_connections() const;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace switchyard::actors

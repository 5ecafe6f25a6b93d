// One health checker per instance: probes on a CAF timer (interval plus
// random jitter), applies rise/fall, and reports transitions to the
// classifier. Probes block for up to their timeout, so the daemon spawns
// health checkers detached. A connection the probe holds open (fast
// detection) is handed to the connection watch; when the peer drops it the
// checker probes at once, and a failure then is unhealthy without `fall`.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "actors/health_tracker.hpp"
#include "actors/phi_accrual.hpp"
#include "actors/probes/connection_watch.hpp"
#include "actors/probes/probe.hpp"
#include "config/model.hpp"
#include "messages/interfaces.hpp"
#include "messages/supervision.hpp"

namespace switchyard::actors {

using probe_factory = std::function<std::unique_ptr<probe>()>;

struct health_checker_state {
  health_checker_state() = default;
  /// Stops watching the held connection before the probe (its owner) closes it.
  ~health_checker_state();
  health_checker_state(const health_checker_state&) = delete;
  health_checker_state& operator=(const health_checker_state&) = delete;
  static inline const char* const name = "health_checker";

  service_id service;
  instance_id instance;
  config::health_check_settings check;
  std::unique_ptr<probe> prober;
  std::optional<health_tracker> tracker;
  /// phi-accrual over the successful probes, when health_check.phi_threshold is set.
  std::optional<phi_accrual> phi;
  std::minstd_rand rng;
  connection_watch* watch = &connection_watch::process_wide();
  /// Tells this checker that its held connection is gone (set at spawn).
  connection_watch::callback on_connection_lost;
  std::optional<watched_connection> held; ///< the probe's held connection, while watched
  /// Immediate confirmations in the current window (one interval long).
  caf::actor_clock::time_point confirm_window{};
  int confirmations = 0;
  /// A lost connection left to the next periodic probe to confirm.
  bool loss_unconfirmed = false;

  /// At most this many probes at once per interval: a server that closes every
  /// connection as soon as it is made must not make the checker spin.
  static constexpr int max_confirmations_per_interval = 3;

  /// phi-accrual keeps this many intervals between successful probes; its
  /// standard deviation is at least the interval divided by `phi_std_dev_divisor`.
  static constexpr std::size_t phi_window = 100;
  static constexpr int phi_std_dev_divisor = 4;

  /// Interval plus a uniformly random share of the jitter.
  caf::timespan next_delay();

  /// Whether a lost connection is probed at once (true), or left to the next
  /// periodic probe because this interval's confirmations are used up.
  bool confirm_at_once(caf::actor_clock::time_point now);

  struct probe_result {
    probe_outcome outcome;
    std::optional<health_transition> transition; ///< to report, if the status changed
  };

  /// Why a probe runs. After a lost held connection it is a confirmation: a
  /// failure is unhealthy at once (the transition is `fast`).
  enum class probe_cause {
    timer,
    connection_lost,        ///< probed at once
    connection_lost_earlier ///< the periodic probe, with a loss left to it
  };

  /// Runs the probe once at `now`, watches the connection it holds and applies
  /// the outcome: rise/fall, and phi-accrual when configured (whichever says
  /// unhealthy first).
  probe_result probe_once(probe_cause cause, caf::actor_clock::time_point now);
};

/// `factory` makes the instance's probe (make_probe in the daemon, a fake in tests).
health_checker_actor::behavior_type
health_checker(health_checker_actor::stateful_pointer<health_checker_state> self,
               std::string service, config::instance_settings instance,
               config::health_check_settings check, probe_factory factory);

/// The supervisor's name for the health checker of `service`/`instance`.
std::string health_checker_name(const std::string& service, const std::string& instance);

/// One supervised health checker per instance of `service`, with real probes.
std::vector<child_spec> health_checker_specs(const config::service_settings& service);

} // namespace switchyard::actors

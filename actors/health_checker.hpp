// One health checker per instance: probes every interval (plus random
// jitter), applies rise/fall, and reports transitions to the classifier. The
// probe runs in the probe engine (probes/probe_engine.*) and its
// outcome comes back as a `probe_result` message, so a checker never blocks
// and is an ordinary cooperative actor. tcp, http and redis probes run their
// periodic checks on the engine's own timers (`run_periodically`): at 10,000
// instances a CAF timer and a message to the engine per check were a third of
// the daemon's CPU. Other probes (exec, grpc, and tests' scripted ones) are
// started by the checker on a CAF timer. One probe is in flight at a time; a
// result whose sequence number is not the one in flight is stale and ignored.
// A connection the probe holds open (fast detection) is watched by the
// engine; when the peer drops it the checker probes at once, and a failure
// then is unhealthy without `fall`. A healthy instance's periodic successes
// do not reach the checker at all while nothing would come of them: the
// engine's thread counts them and drops them (quiet_gate.hpp).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/peers.hpp"
#include "actors/quiet_gate.hpp"
#include "config/model.hpp"
#include "messages/interfaces.hpp"
#include "messages/supervision.hpp"
#include "observability/metrics.hpp"
#include "probes/probe.hpp"
#include "probes/probe_schedule.hpp"
#include "rules/health_tracker.hpp"
#include "rules/phi_accrual.hpp"

namespace switchyard::actors {

using probe_factory = std::function<std::unique_ptr<async_probe>()>;

struct health_checker_state {
  health_checker_state() = default;
  health_checker_state(const health_checker_state&) = delete;
  health_checker_state& operator=(const health_checker_state&) = delete;
  static inline const char* const name = "health_checker";

  peers_ptr peers; ///< the classifier (transitions) and performance monitor (every outcome)
  /// Every outcome goes to the performance monitor as a probe_sample (the
  /// service has `performance:` settings; a reload that changes them restarts
  /// the checkers).
  bool report_samples = false;
  service_id service;
  instance_id instance;
  config::health_check_settings check;
  std::unique_ptr<async_probe> prober;
  std::optional<health_tracker> tracker;
  /// phi-accrual over the successful probes, when health_check.phi_threshold is set.
  std::optional<phi_accrual> phi;
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

  /// The probe runs its periodic checks itself (run_periodically); otherwise
  /// the checker starts them on a CAF timer following `schedule`.
  bool engine_timed = false;
  std::optional<probe_schedule> schedule;

  /// Whether a lost connection is probed at once (true), or left to the next
  /// periodic probe because this interval's confirmations are used up.
  bool confirm_at_once(caf::actor_clock::time_point now);

  struct verdict {
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

  /// The probe in flight: its number, why it runs and since when. `seq` is the
  /// number of the last probe started.
  std::uint64_t seq = 0;
  std::optional<probe_cause> in_flight;
  caf::actor_clock::time_point started{};
  /// The held connection was lost while a probe was in flight: handled when it ends.
  bool lost_while_busy = false;

  /// A probe not back after its timeout plus this is given up on (failed):
  /// the engine always answers within the timeout, this only guards the checker.
  static constexpr caf::timespan overdue_grace = std::chrono::seconds(1);

  /// Lets the engine's thread count a success and drop it, instead of sending
  /// it, while nothing would come of it (quiet_gate.hpp). Only for probes the
  /// engine times, without phi-accrual or samples (those need every outcome).
  std::shared_ptr<quiet_gate> gate;
  /// Failures and lost connections received from the engine: each disarmed the gate.
  std::uint64_t disarms_handled = 0;
  /// Arms the gate when a success would change nothing.
  void settle();

  /// Metrics (the process-wide registry), looked up once at spawn.
  metrics::counter* probes_sent = nullptr;
  metrics::counter* probes_failed = nullptr;
  metrics::histogram* probe_duration = nullptr;
  metrics::gauge* healthy_gauge = nullptr;

  /// Applies the outcome of a probe that ran for `cause`, finished at `now`:
  /// rise/fall, and phi-accrual when configured (whichever says unhealthy first).
  verdict judge(probe_outcome outcome, probe_cause cause, caf::actor_clock::time_point now);
};

/// `factory` makes the instance's probe (make_probe in the daemon, a fake in tests).
/// `report_samples`: the service's performance is monitored (see the state).
health_checker_actor::behavior_type
health_checker(health_checker_actor::stateful_pointer<health_checker_state> self,
               std::string service, config::instance_settings instance,
               config::health_check_settings check, probe_factory factory, peers_ptr peers,
               bool report_samples);

/// The supervisor's name for the health checker of `service`/`instance`.
std::string health_checker_name(const std::string& service, const std::string& instance);

/// One supervised health checker per instance of `service`, with real probes.
std::vector<child_spec> health_checker_specs(const config::service_settings& service,
                                             const peers_ptr& peers);

} // namespace switchyard::actors

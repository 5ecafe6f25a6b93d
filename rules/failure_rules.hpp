// Classification of health transitions into failure detections. Pure logic,
// no actor: the failure_classifier actor feeds it transitions, topology and
// the time, persists what it returns and hands on what it marks `forward`.
// See docs/detection.md for the classes and their thresholds.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/actor_clock.hpp>

#include "config/model.hpp"
#include "messages/detection.hpp"
#include "messages/health.hpp"
#include "rules/dependency_tracker.hpp"

namespace switchyard::actors {

/// One detection to persist, and whether the coordinator is given it.
struct classified {
  failure_detection detection;
  /// Hand it to the coordinator once persisted (it may act on it). False for
  /// what is only recorded: cascading, flapping, site-wide, and unreachable
  /// primaries that a site disaster holds back.
  bool forward = false;
};

/// What one input produced, in the order to persist it.
struct classification {
  std::vector<classified> detections;
  /// A primary's failure is held: call release_due() after this long.
  std::optional<caf::timespan> wake_after;
};

class failure_rules {
public:
  using time_point = caf::actor_clock::time_point;

  /// No dependencies, no sites, the default flapping thresholds.
  failure_rules() = default;
  explicit failure_rules(config::detection_settings settings) : settings_(std::move(settings)) {}

  /// The thresholds (orchestrator.detection), set once at start.
  void set_settings(config::detection_settings settings) { settings_ = std::move(settings); }

  /// The services: dependencies, instances' sites, check intervals. Called at
  /// start and on every reload; what is known about instances still
  /// configured is kept, held failures of removed services are dropped.
  void configure(const std::vector<config::service_settings>& services);

  /// Records who is primary for `service` (severity and cascading depend on it).
  void set_primary(const std::string& service, const std::string& instance, time_point now = {});

  /// Classifies one transition seen at `now`:
  /// - to unhealthy: an `unreachable` detection, critical for the primary,
  ///   warning for a standby; only once until the instance recovers. A
  ///   primary failing while a dependency's primary is down is `cascading`
  ///   instead (not handed on); a primary's failure may be held (cascade
  ///   hold, site-disaster window) and is then persisted when released;
  /// - unhealthy to healthy: a `recovered` detection (info);
  /// - unknown to healthy: nothing (an instance coming up is not news);
  /// - more than `flapping.transitions` within `flapping.window`: one
  ///   `flapping` detection (warning) per window;
  /// - enough of one site's instances failing within the site-disaster
  ///   window: one `site_wide` detection (critical).
  classification classify(const health_transition& t, time_point now);

  /// A transition seen before a restart, at `at` (before `now`): counts
  /// towards flapping as if this process had seen it.
  void remember_transition(const std::string& service, const std::string& instance, time_point at,
                           time_point now);

  /// Releases the held failures that are due at `now`.
  classification release_due(time_point now);

  /// The store persisted `d` as `id` (later evidence refers to it).
  void persisted(const failure_detection& d, detection_id id);

  [[nodiscard]] bool has_open_failure(const std::string& instance) const;
  [[nodiscard]] std::size_t held() const { return held_.size(); }
  [[nodiscard]] bool site_down(const std::string& site) const {
    return down_sites_.count(site) > 0;
  }
  [[nodiscard]] const dependency_tracker& dependencies() const { return deps_; }

private:
  struct instance_info {
    std::string service;
    std::string site; ///< empty: not configured, no site rules
    health_status health = health_status::unknown;
    std::optional<time_point> failed_at;  ///< when it turned unhealthy, while it is
    std::deque<time_point> transitions;   ///< inside the flapping window
    std::optional<time_point> flap_noted; ///< the latest flapping detection
  };
  /// An instance reported unhealthy and not recovered since.
  struct open_failure {
    failure_type type = failure_type::unreachable; ///< or cascading
    bool forwarded = false;  ///< an unreachable detection was handed to the coordinator
    bool suppressed = false; ///< held back by a site disaster
    bool primary = false;    ///< it was the primary when it failed
    detection_id id{0};      ///< as persisted (0: not yet known)
  };
  /// A primary's unreachable detection waiting for its hold to end.
  struct held_failure {
    failure_detection detection;
    time_point due;
    time_point since; ///< when the failure began, about (for the dependency check)
    caf::timespan hold;
    bool site_check = false;
    bool dependency_check = false;
  };

  failure_detection base(const health_transition& t, bool is_primary) const;
  std::string flapping_note(const std::string& instance) const;
  /// Flapping bookkeeping; the flapping detection if one is due.
  std::optional<classified> note_transition(const health_transition& t, time_point now);
  /// Decides on a primary's fresh unreachable detection (not held or released).
  void decide_primary(failure_detection d, time_point since, time_point now, classification& out);
  /// Ends a hold: cascading, or unreachable handed on.
  classified release(held_failure h, time_point now);
  /// Dependents whose primary failed first (since about `since`, when the
  /// root's failure began) are re-classified now that `service` is down.
  void reclassify_dependents(const std::string& service, const failure_detection& root,
                             time_point since, classification& out);
  void check_site(const std::string& site, const health_transition& t, time_point now,
                  classification& out);
  void check_site_recovery(const std::string& site, const health_transition& t,
                           classification& out);
  classified cascading(failure_detection d, const dependency_tracker::root_cause& root,
                       const std::string& note) const;
  [[nodiscard]] std::size_t site_threshold(const std::string& site) const;
  [[nodiscard]] std::vector<std::string> recent_failures(const std::string& site,
                                                         time_point now) const;
  [[nodiscard]] std::size_t unhealthy_in(const std::string& site) const;
  [[nodiscard]] time_point failure_start(const health_transition& t, time_point now) const;

  config::detection_settings settings_;
  dependency_tracker deps_;
  std::map<std::string, instance_info> instances_;
  std::map<std::string, std::vector<std::string>> sites_; ///< site -> its instances
  std::map<std::string, caf::timespan> interval_of_;      ///< service -> probe interval
  std::map<std::string, open_failure> open_;              ///< by instance
  std::vector<held_failure> held_;
  std::set<std::string> down_sites_; ///< declared down by a site_wide detection
};

} // namespace switchyard::actors

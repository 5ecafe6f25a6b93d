// The step journal as seen from a failover worker's thread: synchronous
// requests to the store actor through a scoped actor. A write that fails or
// times out is an error, so the strategy does not run the step's action.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include <caf/scoped_actor.hpp>

#include "actors/peers.hpp"
#include "messages/interfaces.hpp"
#include "strategies/journal.hpp"

namespace switchyard::actors {

class store_journal : public strategies::step_journal {
public:
  store_journal(caf::actor_system& sys, const peer_table& peers, std::string service,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Asks through `self`, made ahead by the caller (making one takes tens of
  /// microseconds, which a failover worker spends before its job arrives).
  store_journal(caf::scoped_actor& self, const peer_table& peers, std::string service,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

  /// Opens the switchover. One with a reserved id (`s.id`) is written with
  /// its first step, in one transaction, or before whatever else this journal
  /// writes first; nothing runs before either, so no action is unjournaled.
  caf::expected<switchover_id> begin_switchover(const switchover_start& s);
  /// A switchover begun with a reserved id that is not written yet (its first
  /// write failed): nothing of it ran.
  [[nodiscard]] bool opening_pending() const { return pending_open_.has_value(); }
  caf::expected<void> finish_switchover(const switchover_finish& s);
  caf::expected<step_id> begin_step(const step_start& s) override;
  caf::expected<void> finish_step(const step_finish& s) override;
  /// Persists a detection raised while acting (fencing failed, a returning
  /// instance), tells watchers, and raises an alert event when `alert`.
  caf::expected<detection_id> record(failure_detection d, bool alert = false);

private:
  template <class Reply, class Msg> caf::expected<Reply> ask(const Msg& msg);
  /// Writes the pending opening on its own, if there is one.
  caf::expected<void> open_pending();
  /// Logs and publishes a switchover just written.
  void opened(const switchover_start& s, switchover_id id);
  /// Tells live watchers what was just journaled (after the write, never instead of it).
  void publish(event_kind kind, switchover_id id, instance_id instance, std::string summary);

  const peer_table& peers_;
  std::optional<caf::scoped_actor> own_; ///< when not given one
  caf::scoped_actor& self_;
  std::string service_;
  std::chrono::milliseconds timeout_;
  std::map<std::int64_t, std::string> step_names_;        ///< step id -> "2 promote-b", for logs
  std::map<std::int64_t, switchover_id> step_switchover_; ///< step id -> its switchover
  std::map<std::int64_t, std::uint32_t> step_sequence_;   ///< step id -> its sequence
  std::optional<switchover_start> pending_open_; ///< begun with a reserved id, not written yet
};

} // namespace switchyard::actors

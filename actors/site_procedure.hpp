// The steps of whole-site work, run by a detached worker of the site
// coordinator: each call waits for the actors it asks (coordinator, runner,
// store) with a bounded timeout, in the order an operator's runbook would.
// Implemented in site_procedure.cpp (phase one and the decision),
// site_commit.cpp (phase two, and recovery at start) and site_drill.cpp.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <caf/blocking_actor.hpp>
#include <caf/expected.hpp>

#include "actors/peers.hpp"
#include "config/model.hpp"
#include "messages/interfaces.hpp"

namespace switchyard::actors {

/// What a leg of a drill adds to a site switchover's assessment (see
/// site_assessment_input): preferred targets, the services it may move, and
/// whether a failback follows.
struct leg_scope {
  std::map<std::string, std::string> preferred{};
  std::set<std::string> only{};
  bool then_failback = false;
};

class site_procedure {
public:
  site_procedure(caf::blocking_actor* self, std::shared_ptr<const config::switchyard_config> cfg,
                 peers_ptr peers)
      : self_(self), cfg_(std::move(cfg)), peers_(std::move(peers)) {}

  /// The impact assessment (dry run): the view's blockers plus each
  /// participant's plan (estimated time) and pre-checks, and position gaps.
  caf::expected<site_record> assess(const site_request& req, const leg_scope& scope = {});

  /// A site switchover or failback: assess, prepare all, decide, commit,
  /// verify. Refused (state aborted, not journaled) when anything blocks it.
  caf::expected<site_record> run(const site_request& req, std::int64_t drill = 0,
                                 const leg_scope& scope = {});

  /// A DR drill: a site switchover to `req.site`, then (by default) back,
  /// moving back only what it moved. Refused before anything moves when the
  /// way back could not run now (an instance on the site left is not healthy).
  caf::expected<drill_report> drill(const drill_request& req);

  /// At start: site switchovers a stopped switchyardd left unfinished.
  /// Committed ones are carried through, undecided ones aborted. (In a
  /// cluster they are closed as interrupted: the leader carries on from etcd.)
  void recover();

  /// Cluster mode: carries on the site switchover a former leader left in
  /// flight (claimed in etcd first, then journaled here as this replica's).
  void take_over(const site_takeover& t);

private:
  /// A moved service's backup checks in a drill (site_drill.cpp).
  void backup_checks(const drill_request& req, drill_service_result& s,
                     std::vector<std::string>& why);
  caf::expected<service_state_list> coordinator_state();
  /// A failback: blocks each participant whose instance on the site returned
  /// to has a `diverged` detection since that site was left.
  void block_on_divergence(site_record& r);
  /// Journals `r` (setting its id); with `replicate`, then in the cluster
  /// too (control_authority::record_site): an error from either is returned.
  caf::expected<std::int64_t> save(site_record& r, bool replicate = true);
  /// Aborts an undecided `r`, carries a committed one through.
  void resume(site_record& r, const std::string& why);
  /// Closes the unfinished drill `r` was a leg of, as interrupted.
  void close_drill(const site_record& r, const std::string& why);
  /// Prepares every participant; true when all are prepared.
  bool prepare(site_record& r);
  /// Rolls back what was prepared and releases every participant.
  void abort(site_record& r, const std::string& why);
  /// Phase two: commits level by level, then verifies; journals as it goes.
  void carry_through(site_record& r);
  /// Commits one participant (its switchover), retrying while the
  /// coordinator is still starting or the service is busy (recovery).
  void commit_one(site_record& r, std::size_t i);
  /// Waits (up to verify_timeout) until the committed participants among
  /// `which` are primary and healthy on the new site; adds their "available"
  /// check. Returns those that never were.
  std::vector<std::size_t> await_available(site_record& r, const std::vector<std::size_t>& which);
  /// The integrity actions of the committed participants among `which`
  /// that have not been checked yet.
  void check_integrity(site_record& r, const std::vector<std::size_t>& which);
  void verify(site_record& r);
  void release(const site_record& r);
  /// Reserves every participant not yet committed; false on refusal.
  bool reserve(site_record& r, bool wait);
  void announce(const site_record& r, const std::string& summary, bool alert = false);

  /// How long a commit is retried while the coordinator refuses it before
  /// anything ran: long at recovery (it is loading its topology, resuming
  /// interrupted switchovers), one prepare_timeout otherwise.
  std::chrono::milliseconds patience() const;

  caf::blocking_actor* self_;
  std::shared_ptr<const config::switchyard_config> cfg_;
  peers_ptr peers_; ///< the coordinator, runner, store and event hub
  bool recovering_ = false;
};

} // namespace switchyard::actors

// Active-passive planning (pure: targets, steps, estimates from config and
// health) and execution (each step journaled before and after its action,
// completed steps rolled back on failure). Checks, ranking, rejoin and site
// preparation are in active_passive_checks.cpp.
#include "strategies/active_passive.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "messages/error.hpp"
#include "strategies/active_passive_detail.hpp"

namespace switchyard::strategies {

using active_passive_detail::address;

namespace {

struct phase_actions {
  step_phase phase;
  const std::vector<config::action_settings>* actions;
};

std::vector<phase_actions> phases(const config::strategy_settings& s) {
  return {{step_phase::demote, &s.demote},
          {step_phase::fence, &s.fence},
          {step_phase::promote, &s.promote},
          {step_phase::reroute, &s.reroute},
          {step_phase::verify, &s.verify}};
}

const config::action_settings* find_action(const config::service_settings& svc, step_phase phase,
                                           const std::string& name) {
  for (const auto& p : phases(svc.strategy))
    if (p.phase == phase)
      for (const auto& a : *p.actions)
        if (a.name == name)
          return &a;
  return nullptr;
}

} // namespace

std::vector<const config::instance_settings*>
promotion_candidates(const config::service_settings& service, const std::string& primary,
                     const std::map<std::string, health_status>& health,
                     const std::set<std::string>& excluded) {
  std::vector<const config::instance_settings*> result;
  for (const auto& inst : service.instances) {
    if (inst.name == primary || excluded.count(inst.name) > 0)
      continue;
    auto h = health.find(inst.name);
    if (h != health.end() && h->second == health_status::healthy)
      result.push_back(&inst);
  }
  std::sort(result.begin(), result.end(), [](const auto* a, const auto* b) {
    return a->priority != b->priority ? a->priority > b->priority : a->name < b->name;
  });
  return result;
}

active_passive::active_passive(const config::service_settings& service, action_factory make)
    : service_(service), make_(std::move(make)) {
  if (!make_)
    make_ = [this](const config::action_settings& a) { return make_action(a, &service_); };
}

caf::expected<failover_plan> active_passive::plan(const planning_input& in) const {
  const auto& svc = in.service != nullptr ? *in.service : service_;
  if (svc.find_instance(in.current_primary) == nullptr)
    return make_sy_error(
        sy_errc::unknown_instance,
        fmt::format("'{}' is not an instance of service '{}'", in.current_primary, svc.name));
  auto candidates = promotion_candidates(svc, in.current_primary, in.health, in.excluded);
  if (!in.preferred_target.empty()) {
    // An operator's choice must be a healthy standby; it goes first.
    const auto* wanted = svc.find_instance(in.preferred_target);
    if (wanted == nullptr)
      return make_sy_error(
          sy_errc::unknown_instance,
          fmt::format("'{}' is not an instance of service '{}'", in.preferred_target, svc.name));
    if (in.preferred_target == in.current_primary)
      return make_sy_error(
          sy_errc::no_failover_target,
          fmt::format("'{}' is already the primary of '{}'", in.preferred_target, svc.name));
    if (in.excluded.count(in.preferred_target) > 0)
      return make_sy_error(sy_errc::no_failover_target,
                           fmt::format("target '{}' is in maintenance", in.preferred_target));
    auto pos = std::find(candidates.begin(), candidates.end(), wanted);
    if (pos == candidates.end()) {
      auto h = in.health.find(in.preferred_target);
      return make_sy_error(
          sy_errc::no_failover_target,
          fmt::format("target '{}' is not healthy ({})", in.preferred_target,
                      to_string(h == in.health.end() ? health_status::unknown : h->second)));
    }
    std::rotate(candidates.begin(), pos, pos + 1);
  }
  if (candidates.empty()) {
    std::string states;
    for (const auto& inst : svc.instances) {
      if (inst.name == in.current_primary)
        continue;
      auto h = in.health.find(inst.name);
      states += fmt::format("{}{}: {}", states.empty() ? "" : ", ", inst.name,
                            to_string(h == in.health.end() ? health_status::unknown : h->second));
    }
    return make_sy_error(sy_errc::no_failover_target,
                         fmt::format("no healthy standby for service '{}' ({})", svc.name, states));
  }
  failover_plan p;
  p.service = service_id{svc.name};
  p.strategy = name();
  p.primary_targets.push_back(instance_id{in.current_primary});
  for (const auto* c : candidates)
    p.secondary_targets.push_back(instance_id{c->name});
  const auto& check = svc.health_check;
  auto what = check.type == config::check_type::http
                  ? fmt::format("http probes of {}", check.path)
                  : fmt::format("{} probes", config::to_string(check.type));
  p.triggers.push_back(fmt::format("primary {} unreachable: {} consecutive failed {} (every {} ms, "
                                   "timeout {} ms)",
                                   in.current_primary, check.fall, what, check.interval.count(),
                                   check.timeout.count()));
  p.triggers.push_back("operator-requested switchover or forced failover");
  p.rollback_criteria.push_back(
      fmt::format("a demote or fence step fails or times out: stop before promoting; {} may still "
                  "be primary",
                  in.current_primary));
  p.rollback_criteria.push_back(
      "a promote, reroute or verify step fails or times out: stop; a planned switchover undoes "
      "the completed steps (their rollback commands, in reverse); an automatic or forced "
      "failover stops where it is and needs an operator");
  auto target = candidates.front()->name;
  std::uint32_t seq = 0;
  caf::timespan steps_time{0};
  for (const auto& ph : phases(svc.strategy)) {
    if (ph.phase == step_phase::demote && !in.old_primary_cooperates)
      continue; // it is gone or must not be trusted: fencing isolates it instead
    for (const auto& a : *ph.actions) {
      auto on_old_primary = ph.phase == step_phase::demote || ph.phase == step_phase::fence;
      std::vector<std::string> targets{on_old_primary ? in.current_primary : target};
      if (a.on_other_standbys && !on_old_primary) {
        targets.clear();
        for (const auto* c : candidates)
          if (c->name != target)
            targets.push_back(c->name);
      }
      // What an operator reads in dry runs, exports and the journal.
      auto act = make_(a);
      for (const auto& t : targets) {
        plan_step st;
        st.sequence = ++seq;
        st.phase = ph.phase;
        st.name = a.name;
        st.action_kind = config::to_string(a.type);
        st.description = act != nullptr ? act->describe() : a.command;
        st.target = instance_id{t};
        st.timeout = a.timeout;
        steps_time += st.timeout;
        p.steps.push_back(std::move(st));
      }
    }
  }
  // An upper bound: the slowest detection (fall probes, the last one timing
  // out) plus every step running to its timeout.
  caf::timespan detection = check.interval * check.fall + check.timeout;
  p.estimated_failover_time = detection + steps_time;
  p.rto = svc.objective.rto;
  p.rpo = svc.objective.rpo;
  return p;
}

namespace {

// What a resumed switchover's journal already holds.
struct journal_so_far {
  std::map<std::uint32_t, step_status> plan_steps; ///< by sequence
  std::map<std::string, journaled_step> rollbacks; ///< "rollback <name>" steps by name
  std::uint32_t last_sequence = 0;
  std::optional<journaled_step> failed; ///< a plan step that had failed

  explicit journal_so_far(const execution_input& in) {
    last_sequence = static_cast<std::uint32_t>(in.plan.steps.size());
    for (const auto& j : in.journaled) {
      last_sequence = std::max(last_sequence, j.sequence);
      if (j.sequence > in.plan.steps.size()) {
        rollbacks[j.name] = j;
        continue;
      }
      plan_steps[j.sequence] = j.status;
      if (j.status == step_status::failed)
        failed = j;
    }
  }
};

// Undoes completed steps in reverse with their `rollback` commands, each
// journaled as its own step ("rollback <name>") after the failed one. Returns
// the text to append to the failure's detail.
template <class RunStep>
std::string roll_back(const journal_so_far& so_far,
                      const std::vector<std::pair<plan_step, const config::action_settings*>>& done,
                      RunStep& run_step, execution_result& result) {
  auto sequence = so_far.last_sequence;
  std::vector<std::string> undone;
  for (auto i = done.rbegin(); i != done.rend(); ++i) {
    const auto& [st, settings] = *i;
    if (settings->rollback.empty())
      continue;
    auto undo = *settings;
    undo.type = config::action_type::exec; // a rollback is a shell command, whatever it undoes
    undo.command = settings->rollback;
    auto step = st;
    step.name = "rollback " + st.name;
    // Undone before a restart: not again. Started before it: again, same row.
    auto before = so_far.rollbacks.find(step.name);
    if (before != so_far.rollbacks.end() && before->second.status == step_status::done) {
      undone.push_back(st.name);
      ++result.steps_rolled_back;
      continue;
    }
    step.sequence = before != so_far.rollbacks.end() ? before->second.sequence : ++sequence;
    step.description = settings->rollback;
    if (auto why = run_step(step, undo); !why.empty())
      return fmt::format("; rollback of {} failed: {} (rolled back before it: {}); the service "
                         "needs an operator",
                         st.name, why,
                         undone.empty() ? "nothing" : fmt::format("{}", fmt::join(undone, ", ")));
    undone.push_back(st.name);
    ++result.steps_rolled_back;
  }
  return undone.empty() ? "; nothing to roll back"
                        : fmt::format("; rolled back: {}", fmt::join(undone, ", "));
}

} // namespace

execution_result active_passive::execute(const execution_input& in, step_journal& journal) {
  const auto& svc = in.service != nullptr ? *in.service : service_;
  const auto* old_primary = svc.find_instance(in.old_primary);
  const auto* new_primary = svc.find_instance(in.new_primary);

  // Set by run_step when its action succeeded but the journal write after it
  // failed: the action's outcome, to say what happened (not "it failed").
  std::optional<std::string> done_unjournaled;
  // Journals `st`, runs `settings` for it, journals the outcome. Empty on
  // success, otherwise why it failed. Nothing runs that is not journaled.
  auto run_step = [&](const plan_step& st, const config::action_settings& settings) -> std::string {
    done_unjournaled.reset();
    auto act = make_(settings);
    if (act == nullptr)
      return fmt::format("cannot build a {} action", config::to_string(settings.type));
    auto id = journal.begin_step(step_start{in.switchover, st, in.run_epoch, in.leader_epoch});
    if (!id)
      return "journal write failed before the action ran: " + describe(id.error());
    action_context ctx;
    ctx.service = svc.name;
    ctx.old_primary = in.old_primary;
    ctx.old_primary_address = address(old_primary);
    ctx.new_primary = in.new_primary;
    ctx.new_primary_address = address(new_primary);
    ctx.target = st.target.value;
    ctx.target_address = address(svc.find_instance(st.target.value));
    ctx.phase = to_string(st.phase);
    ctx.step_name = st.name;
    ctx.switchover = in.switchover.value;
    ctx.epoch = in.run_epoch.value;
    ctx.leader_epoch = in.leader_epoch;
    auto outcome = act->run(ctx);
    if (!outcome.ok && st.phase == step_phase::fence && in.old_primary_dead) {
      // Nothing to isolate: the strategy's rule says it is dead. Journaled
      // as done, saying so, so a resumed failover does not stop here.
      outcome.ok = true;
      outcome.detail =
          fmt::format("failed ({}); passed over: {} is confirmed dead ({})", outcome.detail,
                      in.old_primary, config::to_string(svc.strategy.dead_when));
    }
    auto done = journal.finish_step(step_finish{*id, outcome.ok, outcome.detail});
    if (!done && outcome.ok)
      done_unjournaled = outcome.detail;
    if (!done)
      return fmt::format("action {} ({}), but the journal write after it failed: {}",
                         outcome.ok ? "succeeded" : "failed", outcome.detail,
                         describe(done.error()));
    return outcome.ok ? std::string{} : outcome.detail;
  };

  execution_result result;
  const journal_so_far so_far{in};
  std::vector<std::pair<plan_step, const config::action_settings*>> done;
  for (const auto& st : in.plan.steps) {
    const auto* settings = find_action(svc, st.phase, st.name);
    auto journaled = so_far.plan_steps.find(st.sequence);
    if (journaled != so_far.plan_steps.end() && journaled->second == step_status::done) {
      ++result.steps_done; // done before a restart: not run again
      if (settings != nullptr)
        done.emplace_back(st, settings);
      continue;
    }
    if (so_far.failed) {
      // It had stopped on a failed step: nothing runs forward, the rollback goes on.
      result.failed_step = so_far.failed->name;
      result.detail = fmt::format("step {} ({}) had failed before switchyardd stopped",
                                  so_far.failed->sequence, so_far.failed->name);
    } else {
      std::string why = settings == nullptr
                            ? fmt::format("no {} action named '{}' is configured any more",
                                          to_string(st.phase), st.name)
                            : run_step(st, *settings);
      if (why.empty()) {
        ++result.steps_done;
        done.emplace_back(st, settings);
        continue;
      }
      result.failed_step = st.name;
      result.detail = fmt::format("step {} ({}) failed: {}", st.sequence, st.name, why);
      if (st.phase == step_phase::fence && done_unjournaled)
        result.alert = fmt::format(
            "fencing {} succeeded ({}), but the journal write after it failed, so the failover "
            "stopped there: nothing was promoted and {} is fenced; the service has no primary "
            "until the journal writes again and a failover is forced ({})",
            in.old_primary, *done_unjournaled, in.old_primary, why);
      else if (st.phase == step_phase::fence)
        result.alert = fmt::format(
            "fencing {} failed and it is not confirmed dead: nothing was promoted and it may "
            "still accept writes; isolate it by hand, then force a failover ({})",
            in.old_primary, why);
    }
    if (in.rollback_on_failure)
      result.detail += roll_back(so_far, done, run_step, result);
    return result;
  }
  result.success = true;
  result.detail = fmt::format("{} steps done; {} is primary", result.steps_done, in.new_primary);
  return result;
}

} // namespace switchyard::strategies

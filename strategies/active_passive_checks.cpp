// Active-passive outside a switchover: candidate checks, ranking by
// replication position, readiness, rejoin, site preparation (and its undoing)
// and integrity checks, each an action run in a context of its own.
#include "strategies/active_passive.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "strategies/active_passive_detail.hpp"

namespace switchyard::strategies {

using active_passive_detail::address;

action_context active_passive::context_for(const std::string& old_primary,
                                           const std::string& new_primary,
                                           const std::string& target, const char* phase,
                                           const std::string& step) const {
  action_context ctx;
  ctx.service = service_.name;
  ctx.old_primary = old_primary;
  ctx.old_primary_address = address(service_.find_instance(old_primary));
  ctx.new_primary = new_primary;
  ctx.new_primary_address = address(service_.find_instance(new_primary));
  ctx.target = target;
  ctx.target_address = address(service_.find_instance(target));
  ctx.phase = phase;
  ctx.step_name = step;
  ctx.rpo_ms = static_cast<std::int64_t>(service_.objective.rpo.count());
  return ctx;
}

candidate_check_result active_passive::check_candidate(const std::string& current_primary,
                                                       const std::string& candidate) {
  std::vector<std::string> passed;
  for (const auto& check : service_.strategy.checks) {
    auto act = make_(check);
    if (act == nullptr)
      return {false, fmt::format("check {}: cannot build a {} action", check.name,
                                 config::to_string(check.type))};
    auto r = act->run(context_for(current_primary, candidate, candidate, "check", check.name));
    if (!r.ok) // the detail ends with the check's last line of output: its reason
      return {false, fmt::format("check {} refused {}: {}", check.name, candidate, r.detail)};
    passed.push_back(check.name);
  }
  return {true, passed.empty() ? std::string{"no checks"}
                               : fmt::format("passed {}", fmt::join(passed, ", "))};
}

namespace {

// An exec position action prints the position as its last line of output.
std::optional<std::int64_t> position_of(const action_result& r) {
  if (r.value)
    return r.value;
  auto text = r.output;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  auto line =
      text.substr(text.find_last_of('\n') == std::string::npos ? 0 : text.find_last_of('\n') + 1);
  try {
    std::size_t used = 0;
    auto v = std::stoll(line, &used);
    if (used == line.size())
      return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

} // namespace

std::vector<ranked_candidate>
active_passive::rank_candidates(const std::string& current_primary,
                                const std::vector<std::string>& candidates) {
  std::vector<ranked_candidate> ranked;
  for (const auto& c : candidates)
    ranked.push_back({c, std::nullopt, "no position action"});
  if (service_.strategy.position.empty())
    return ranked;
  const auto& settings = service_.strategy.position.front();
  for (auto& r : ranked) {
    auto act = make_(settings);
    if (act == nullptr) {
      r.detail = fmt::format("cannot build a {} action", config::to_string(settings.type));
      continue;
    }
    auto out =
        act->run(context_for(current_primary, r.instance, r.instance, "position", settings.name));
    r.detail = out.detail;
    if (out.ok)
      r.position = position_of(out);
    if (out.ok && !r.position)
      r.detail += ": no position in its output";
  }
  // Stable: equal positions keep the priority order they came in.
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    if (a.position.has_value() != b.position.has_value())
      return a.position.has_value();
    return a.position.has_value() && *a.position > *b.position;
  });
  return ranked;
}

std::vector<std::string> active_passive::check_readiness(const std::string& current_primary,
                                                         const std::string& candidate) {
  std::vector<std::string> problems;
  for (const auto& settings : service_.strategy.readiness) {
    auto act = make_(settings);
    if (act == nullptr) {
      problems.push_back(fmt::format("readiness {}: cannot build a {} action", settings.name,
                                     config::to_string(settings.type)));
      continue;
    }
    auto out =
        act->run(context_for(current_primary, candidate, candidate, "readiness", settings.name));
    if (!out.ok)
      problems.push_back(fmt::format("readiness {} failed: {}", settings.name, out.detail));
  }
  return problems;
}

rejoin_result active_passive::rejoin(const std::string& primary, const std::string& instance) {
  rejoin_result result;
  std::vector<std::string> done;
  for (const auto& settings : service_.strategy.rejoin) {
    auto act = make_(settings);
    if (act == nullptr) {
      result.ok = false;
      result.detail = fmt::format("{}: cannot build a {} action", settings.name,
                                  config::to_string(settings.type));
      return result;
    }
    // Seen from the action: the returning instance is the old primary, the
    // current primary the new one it must follow.
    auto out = act->run(context_for(instance, primary, instance, "rejoin", settings.name));
    if (!out.divergence.empty())
      result.divergence = out.divergence;
    if (!out.ok) {
      result.ok = false;
      result.detail = fmt::format("{} failed: {}", settings.name, out.detail);
      return result;
    }
    done.push_back(fmt::format("{}: {}", settings.name, out.detail));
  }
  result.detail = done.empty() ? std::string{"no rejoin actions configured"}
                               : fmt::format("{}", fmt::join(done, "; "));
  return result;
}

rejoin_result active_passive::restart_in_place(const std::string& instance) {
  rejoin_result result;
  if (!service_.strategy.restart_in_place) {
    result.ok = false;
    result.detail = "no restart_in_place actions configured";
    return result;
  }
  std::vector<std::string> done;
  for (const auto& settings : service_.strategy.restart_in_place->actions) {
    auto act = make_(settings);
    auto out = act == nullptr
                   ? action_result{}
                   : act->run(context_for(instance, instance, instance, "restart", settings.name));
    if (act == nullptr)
      out.detail = fmt::format("cannot build a {} action", config::to_string(settings.type));
    if (!out.ok) {
      result.ok = false;
      result.detail = fmt::format("{} failed: {}", settings.name, out.detail);
      return result;
    }
    done.push_back(fmt::format("{}: {}", settings.name, out.detail));
  }
  result.detail = fmt::format("{}", fmt::join(done, "; "));
  return result;
}

std::vector<std::string> active_passive::undo(const std::vector<config::action_settings>& actions,
                                              std::size_t count, const std::string& current_primary,
                                              const std::string& target) {
  std::vector<std::string> undone;
  for (std::size_t i = count; i-- > 0;) {
    const auto& settings = actions[i];
    if (settings.rollback.empty())
      continue;
    auto cmd = settings;
    cmd.type = config::action_type::exec; // a rollback is a shell command, whatever it undoes
    cmd.command = settings.rollback;
    auto act = make_(cmd);
    auto out = act == nullptr ? action_result{}
                              : act->run(context_for(current_primary, target, target,
                                                     "prepare_rollback", settings.name));
    undone.push_back(
        fmt::format("rollback {}: {}{}", settings.name, out.ok ? "" : "FAILED ", out.detail));
  }
  return undone;
}

site_prepare_result active_passive::prepare_site(const std::string& current_primary,
                                                 const std::string& target) {
  const auto& actions = service_.strategy.prepare;
  std::vector<std::string> done;
  for (std::size_t i = 0; i < actions.size(); ++i) {
    const auto& settings = actions[i];
    auto act = make_(settings);
    auto out =
        act == nullptr
            ? action_result{false,
                            false,
                            -1,
                            {},
                            {},
                            fmt::format("cannot build a {} action", config::to_string(settings.type))}
            : act->run(context_for(current_primary, target, target, "prepare", settings.name));
    if (!out.ok) {
      auto undone = undo(actions, i, current_primary, target);
      return {false, fmt::format("prepare {} failed: {}{}", settings.name, out.detail,
                                 undone.empty() ? std::string{}
                                                : fmt::format("; {}", fmt::join(undone, "; ")))};
    }
    done.push_back(fmt::format("{}: {}", settings.name, out.detail));
  }
  return {true, done.empty() ? std::string{"no prepare actions"}
                             : fmt::format("{}", fmt::join(done, "; "))};
}

site_prepare_result active_passive::undo_prepare(const std::string& current_primary,
                                                 const std::string& target) {
  const auto& actions = service_.strategy.prepare;
  auto undone = undo(actions, actions.size(), current_primary, target);
  bool ok = std::none_of(undone.begin(), undone.end(), [](const std::string& u) {
    return u.find(": FAILED ") != std::string::npos;
  });
  return {ok, undone.empty() ? std::string{"nothing to roll back"}
                             : fmt::format("{}", fmt::join(undone, "; "))};
}

std::optional<std::int64_t> active_passive::position_gap(const std::string& current_primary,
                                                         const std::string& target) {
  if (service_.strategy.position.empty())
    return std::nullopt;
  // The same action reads both: "position of <instance>" whichever it is.
  auto ranked = rank_candidates(current_primary, {current_primary, target});
  std::optional<std::int64_t> primary_at;
  std::optional<std::int64_t> target_at;
  for (const auto& r : ranked)
    (r.instance == current_primary ? primary_at : target_at) = r.position;
  if (!primary_at || !target_at)
    return std::nullopt;
  return std::max<std::int64_t>(0, *primary_at - *target_at);
}

std::vector<verification_check> active_passive::check_integrity(const std::string& old_primary,
                                                                const std::string& new_primary) {
  std::vector<verification_check> checks;
  for (const auto& settings : service_.strategy.integrity) {
    auto act = make_(settings);
    verification_check c{"integrity:" + settings.name, false, {}};
    if (act == nullptr) {
      c.detail = fmt::format("cannot build a {} action", config::to_string(settings.type));
    } else {
      auto out =
          act->run(context_for(old_primary, new_primary, new_primary, "integrity", settings.name));
      c.ok = out.ok;
      c.detail = out.detail; // ends with the check's last line of output: its evidence
    }
    checks.push_back(std::move(c));
  }
  return checks;
}

} // namespace switchyard::strategies

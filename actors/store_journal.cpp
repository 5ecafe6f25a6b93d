#include "actors/store_journal.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/event_hub.hpp"
#include "actors/fault_injection.hpp"
#include "messages/error.hpp"

namespace switchyard::actors {

store_journal::store_journal(caf::actor_system& sys, const peer_table& peers, std::string service,
                             std::chrono::milliseconds timeout)
    : peers_(peers), own_(std::in_place, sys), self_(*own_), service_(std::move(service)),
      timeout_(timeout) {}

store_journal::store_journal(caf::scoped_actor& self, const peer_table& peers, std::string service,
                             std::chrono::milliseconds timeout)
    : peers_(peers), self_(self), service_(std::move(service)), timeout_(timeout) {}

template <class Reply, class Msg> caf::expected<Reply> store_journal::ask(const Msg& msg) {
  auto store = peers_.store();
  if (!store)
    return make_sy_error(sy_errc::storage_failure, "the store actor is not running");
  caf::expected<Reply> result = make_sy_error(sy_errc::storage_failure, "no reply from the store");
  self_->request(store, timeout_, msg)
      .receive([&](Reply& r) { result = std::move(r); }, [&](caf::error& err) { result = err; });
  return result;
}

caf::expected<switchover_id> store_journal::begin_switchover(const switchover_start& s) {
  if (s.id.value != 0) {
    pending_open_ = s; // written by the first write below
    return s.id;
  }
  auto id = ask<switchover_id>(s);
  if (id)
    opened(s, *id);
  return id;
}

void store_journal::opened(const switchover_start& s, switchover_id id) {
  spdlog::info("{}: switchover #{} started ({} -> {}, epoch {})", service_, id.value, s.from.value,
               s.to.value, s.new_epoch.value);
  publish(event_kind::switchover, id, s.from,
          fmt::format("{} #{} started: {} -> {} (epoch {}): {}", to_string(s.kind), id.value,
                      s.from.value, s.to.value, s.new_epoch.value, s.reason));
  journal_point(service_, "switchover_opened");
}

caf::expected<void> store_journal::open_pending() {
  if (!pending_open_)
    return caf::unit;
  auto id = ask<switchover_id>(*pending_open_);
  if (!id)
    return id.error();
  auto s = std::move(*pending_open_);
  pending_open_.reset();
  opened(s, *id);
  return caf::unit;
}

void store_journal::publish(event_kind kind, switchover_id id, instance_id instance,
                            std::string summary) {
  publish_event(peers_,
                {0, 0, kind, service_id{service_}, std::move(instance), id, std::move(summary)});
}

caf::expected<detection_id> store_journal::record(failure_detection d, bool alert) {
  // A detection about a switchover names it: written first. The detection is
  // recorded even if that fails (it may be why an operator is needed).
  if (auto o = open_pending(); !o)
    spdlog::error("{}: switchover #{} could not be journaled: {}", service_,
                  pending_open_->id.value, describe(o.error()));
  d.at = caf::make_timestamp();
  auto id = ask<detection_id>(d);
  if (!id) {
    spdlog::error("{}: detection [{}] could not be persisted ({}): {}", service_, to_string(d.type),
                  describe(id.error()), d.evidence);
    return id;
  }
  auto text = fmt::format("detection #{} [{}/{}] {}", id->value, to_string(d.type),
                          to_string(d.level), d.evidence);
  spdlog::log(d.level == severity::critical ? spdlog::level::err : spdlog::level::warn, "{}: {}",
              service_, text);
  publish(event_kind::detection, switchover_id{0}, d.instance, text);
  if (alert)
    publish(event_kind::alert, switchover_id{0}, d.instance, "ALERT: " + d.evidence);
  return id;
}

caf::expected<void> store_journal::finish_switchover(const switchover_finish& s) {
  if (auto o = open_pending(); !o)
    return o.error();
  auto r = ask<caf::ok_atom>(s);
  if (!r)
    return r.error();
  spdlog::info("{}: switchover #{} {}: {}", service_, s.switchover.value, to_string(s.status),
               s.detail);
  publish(event_kind::switchover, s.switchover, s.new_primary,
          fmt::format("switchover #{} {}: {} is primary (epoch {}): {}", s.switchover.value,
                      to_string(s.status), s.new_primary.value, s.new_epoch.value, s.detail));
  journal_point(service_, "switchover_closed");
  return caf::unit;
}

caf::expected<step_id> store_journal::begin_step(const step_start& s) {
  // A switchover begun with a reserved id is written with its first step: one commit.
  trace_hop(service_, "worker_asks");
  auto r = pending_open_ ? ask<step_id>(switchover_opening{*pending_open_, s}) : ask<step_id>(s);
  if (!r)
    return r;
  if (pending_open_) {
    auto open = std::move(*pending_open_);
    pending_open_.reset();
    opened(open, open.id);
  }
  // The point first: an observer hears of it before any watcher of the event.
  journal_point(service_, fmt::format("step_started:{}", s.step.sequence));
  step_names_[r->value] = fmt::format("{} {}", s.step.sequence, s.step.name);
  step_switchover_[r->value] = s.switchover;
  step_sequence_[r->value] = s.step.sequence;
  spdlog::info("{}: step {} {} [{}] on {}: journaled, running", service_, s.step.sequence,
               s.step.name, to_string(s.step.phase), s.step.target.value);
  publish(event_kind::step, s.switchover, s.step.target,
          fmt::format("step {} {} [{}] on {}: started", s.step.sequence, s.step.name,
                      to_string(s.step.phase), s.step.target.value));
  return r;
}

caf::expected<void> store_journal::finish_step(const step_finish& s) {
  if (auto o = open_pending(); !o)
    return o.error();
  auto r = ask<caf::ok_atom>(s);
  if (!r)
    return r.error();
  const auto& name = step_names_[s.step.value];
  if (s.ok)
    spdlog::info("{}: step {} done: {}", service_, name, s.detail);
  else
    spdlog::error("{}: step {} failed: {}", service_, name, s.detail);
  publish(event_kind::step, step_switchover_[s.step.value], instance_id{},
          fmt::format("step {}: {}: {}", name, s.ok ? "done" : "failed", s.detail));
  journal_point(service_, fmt::format("step_done:{}", step_sequence_[s.step.value]));
  return caf::unit;
}

} // namespace switchyard::actors

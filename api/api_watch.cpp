#include "api/api_watch.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <grpcpp/alarm.h>
#include <grpcpp/server_context.h>
#include <spdlog/spdlog.h>

namespace switchyard::actors {

namespace pb = switchyard::v1;

namespace {

// The most events one WatchEvents message carries: large enough that a burst
// costs a few writes per watcher, small enough to keep a message under ~64 KiB.
constexpr std::size_t max_events_per_message = 256;

// How long a WatchEvents stream holds a small batch during a burst for more
// events to join it (only within 5x this of its previous message).
constexpr auto burst_linger = std::chrono::milliseconds(10);

void fill(pb::Event& out, const orchestrator_event& e) {
  out.set_sequence(e.sequence);
  out.set_at_ms(e.at_ms);
  out.set_kind(to_string(e.kind));
  out.set_service(e.service.value);
  out.set_instance(e.instance.value);
  out.set_switchover_id(e.switchover.value);
  out.set_summary(e.summary);
  out.set_leader_epoch(e.leader_epoch);
}

class refused_watch final : public watch_reactor_base {
public:
  explicit refused_watch(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

class watch_reactor;

// How the fanout and the linger alarms reach a reactor: never directly, so
// that OnDone can cut them off (waiting for one under way) before the
// reactor is deleted. They hold this link, not the reactor.
class watch_link {
public:
  explicit watch_link(watch_reactor* reactor) : reactor_(reactor) {}

  template <class F> void with(F&& f) {
    std::lock_guard<std::mutex> guard{mutex_};
    if (reactor_ != nullptr)
      f(*reactor_);
  }

  void cut() {
    std::lock_guard<std::mutex> guard{mutex_};
    reactor_ = nullptr;
  }

private:
  std::mutex mutex_;
  watch_reactor* reactor_;
};

// One stream. Everything it does runs on the thread that woke it (the
// publisher, a gRPC callback thread, an alarm) under `mutex_`, and never
// blocks: StartWrite and Finish only start operations, whose completions
// (OnWriteDone, OnDone) gRPC runs later on its own threads.
class watch_reactor final : public watch_reactor_base {
public:
  watch_reactor(grpc::CallbackServerContext* ctx, event_fanout& events, event_filter filter,
                std::string who, concurrency_limit::slot slot)
      : link_(std::make_shared<watch_link>(this)), who_(std::move(who)), peer_(ctx->peer()),
        slot_(std::move(slot)) {
    auto watcher = events.subscribe(
        std::move(filter), [link = link_] { link->with([](watch_reactor& r) { r.wake(); }); });
    // Tells the client it is subscribed: events from now on reach it.
    ctx->AddInitialMetadata("x-switchyard-watch", "subscribed");
    std::lock_guard<std::mutex> guard{mutex_};
    watcher_ = std::move(watcher);
    StartSendInitialMetadata();
    pump(false); // anything published while it was being subscribed
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> guard{mutex_};
    writing_ = false;
    if (!ok) {
      finish_locked({grpc::StatusCode::CANCELLED, "the watcher went away"});
      return;
    }
    last_write_ = std::chrono::steady_clock::now();
    pump(false);
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> guard{mutex_};
    finish_locked({grpc::StatusCode::CANCELLED, "the watcher went away"});
  }

  void OnDone() override {
    link_->cut(); // from now on no wake or alarm reaches it
    delete this;  // gives its slot back, unsubscribes, cancels a pending alarm
  }

private:
  // The fanout: the queue turned non-empty, overflowed or was closed.
  void wake() {
    std::lock_guard<std::mutex> guard{mutex_};
    pump(false);
  }

  void linger_over() {
    std::lock_guard<std::mutex> guard{mutex_};
    lingering_ = false;
    pump(true);
  }

  // Under mutex_: writes what is queued, lingers for more, or ends the
  // stream; does nothing while a write or a linger is under way (their end
  // calls it again).
  void pump(bool after_linger) {
    if (finished_ || writing_ || !watcher_)
      return;
    if (finish_wanted_) {
      finish_locked(*finish_wanted_);
      return;
    }
    if (lingering_)
      return;
    // In a burst (the last message went out moments ago) a few events are
    // worth holding for a moment so that more join them, like Nagle's
    // algorithm: a single event when things are quiet goes out at once.
    auto queued = watcher_->queued();
    if (!after_linger && queued > 0 && queued < max_events_per_message / 4 &&
        std::chrono::steady_clock::now() - last_write_ < burst_linger * 5) {
      lingering_ = true;
      alarm_ = std::make_unique<grpc::Alarm>(); // a spent one is let go
      alarm_->Set(std::chrono::system_clock::now() + burst_linger, [link = link_](bool fired) {
        if (fired)
          link->with([](watch_reactor& r) { r.linger_over(); });
      });
      return;
    }
    switch (watcher_->take_batch(taken_, max_events_per_message)) {
    case event_watcher::wait_result::event:
      // What piled up while the last message was being written goes out as
      // one message: during a burst, one write per event and watcher would
      // cost more CPU than the orchestrator itself.
      batch_.Clear();
      for (const auto& e : taken_)
        fill(*batch_.add_events(), *e);
      taken_.clear();
      writing_ = true;
      StartWrite(&batch_);
      return;
    case event_watcher::wait_result::timeout:
      return; // nothing queued: the fanout wakes it
    case event_watcher::wait_result::overflowed:
      spdlog::warn("api: watcher {} ({}) fell {} events behind and was dropped", who_, peer_,
                   watcher_->dropped());
      finish_locked({grpc::StatusCode::RESOURCE_EXHAUSTED,
                     fmt::format("this watcher fell behind by more than {} events and was "
                                 "dropped ({} events lost); reconnect and re-read the state",
                                 watcher_->capacity(), watcher_->dropped())});
      return;
    case event_watcher::wait_result::closed:
      finish_locked({grpc::StatusCode::UNAVAILABLE, "switchyardd is shutting down"});
      return;
    }
  }

  // Under mutex_: ends the stream once, after the write under way if any.
  void finish_locked(grpc::Status status) {
    if (finished_)
      return;
    if (writing_) {
      if (!finish_wanted_)
        finish_wanted_ = std::move(status);
      return;
    }
    finished_ = true;
    Finish(std::move(status));
  }

  std::shared_ptr<watch_link> link_;
  const std::string who_;
  const std::string peer_;
  concurrency_limit::slot slot_;
  std::mutex mutex_;
  std::shared_ptr<event_watcher> watcher_;
  std::vector<std::shared_ptr<const orchestrator_event>> taken_;
  pb::EventBatch batch_; ///< the message being written (gRPC reads it until OnWriteDone)
  std::unique_ptr<grpc::Alarm> alarm_;
  std::chrono::steady_clock::time_point last_write_{};
  std::optional<grpc::Status> finish_wanted_;
  bool writing_ = false;
  bool lingering_ = false;
  bool finished_ = false;
};

} // namespace

watch_reactor_base* serve_watch(grpc::CallbackServerContext* ctx, event_fanout& events,
                                event_filter filter, std::string who,
                                concurrency_limit::slot slot) {
  return new watch_reactor(ctx, events, std::move(filter), std::move(who), std::move(slot));
}

watch_reactor_base* refuse_watch(grpc::Status status) {
  return new refused_watch(std::move(status));
}

} // namespace switchyard::actors

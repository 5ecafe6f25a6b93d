// The watch of a key or prefix: one bidirectional stream at a time on a
// thread of its own, reopened with a bounded backoff whenever it breaks (a
// member died, lost its leader, or the stream was never opened), resuming at
// the revision after the last change delivered.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cluster/etcd_detail.hpp"
#include "messages/error.hpp"

namespace switchyard::cluster {

struct etcd_watch::state {
  std::shared_ptr<etcd_client::impl> client;
  std::string key;
  watch_options options;

  std::mutex mtx;
  std::condition_variable wake;
  bool stopping = false;                   // guarded by mtx
  grpc::ClientContext* active = nullptr;   // guarded by mtx: the stream stop() cancels
  std::atomic<bool> established{false};    // etcd confirmed the current stream
  std::atomic<std::int64_t> next_revision; // where a reopened stream resumes (0: now)
  std::thread thread;

  void run();
  /// One stream, until it breaks or is cancelled: whether it was established,
  /// and why it ended.
  bool run_stream(std::string& why);
  void emit(const watch_event& event) const {
    if (options.on_event)
      options.on_event(event);
  }
  bool stopped() {
    std::lock_guard<std::mutex> guard{mtx};
    return stopping;
  }
};

void etcd_watch::state::run() {
  auto backoff = options.backoff_min;
  while (!stopped()) {
    std::string why;
    bool was_established = run_stream(why);
    established = false;
    if (stopped())
      return;
    if (was_established)
      backoff = options.backoff_min; // it worked until now: reopen quickly
    if (options.on_error)
      options.on_error(why + "; reopening in " + std::to_string(backoff.count()) + " ms");
    std::unique_lock<std::mutex> lock{mtx};
    if (wake.wait_for(lock, backoff, [this] { return stopping; }))
      return;
    backoff = std::min(backoff * 2, options.backoff_max);
  }
}

bool etcd_watch::state::run_stream(std::string& why) {
  grpc::ClientContext ctx;
  etcd_client::impl::require_leader(ctx);
  {
    std::lock_guard<std::mutex> guard{mtx};
    if (stopping)
      return false;
    active = &ctx;
  }
  bool was_established = false;
  grpc::Status status;
  {
    auto stream = client->watch->Watch(&ctx);
    etcdserverpb::WatchRequest req;
    auto* create = req.mutable_create_request();
    create->set_key(key);
    if (options.prefix)
      create->set_range_end(prefix_end(key));
    create->set_start_revision(next_revision.load());
    etcdserverpb::WatchResponse resp;
    if (stream->Write(req)) {
      while (stream->Read(&resp)) {
        if (resp.created()) {
          established = was_established = true;
          // Watching "from now": a reopened stream must resume right after this.
          if (next_revision.load() == 0)
            next_revision = resp.header().revision() + 1;
        }
        if (resp.canceled()) {
          if (resp.compact_revision() > 0) {
            // History before compact_revision is gone: resume at the oldest
            // revision etcd still has, and tell the consumer to re-read.
            next_revision = resp.compact_revision();
            emit({watch_event::kind::reset, {key, {}, 0, 0, 0, 0}});
          }
          ctx.TryCancel();
          why = "etcd watch \"" + key + "\" via " + client->endpoints_text +
                ": cancelled by etcd: " + resp.cancel_reason();
          break;
        }
        for (const auto& ev : resp.events()) {
          watch_event event;
          event.what =
              ev.type() == mvccpb::Event::PUT ? watch_event::kind::put : watch_event::kind::erase;
          event.kv = from_proto(ev.kv());
          next_revision = std::max(next_revision.load(), ev.kv().mod_revision() + 1);
          emit(event);
        }
      }
    }
    status = stream->Finish();
  }
  {
    std::lock_guard<std::mutex> guard{mtx};
    active = nullptr;
  }
  if (why.empty())
    why = describe(client->failure(
        "watch \"" + key + "\"",
        status.ok() ? grpc::Status(grpc::StatusCode::UNKNOWN, "the stream ended") : status));
  return was_established;
}

etcd_watch::etcd_watch(std::shared_ptr<state> s) : state_(std::move(s)) {
  // The thread shares the state: stop() from a callback detaches it instead of
  // joining itself, and the state lives until the thread is done with it.
  state_->thread = std::thread([st = state_] { st->run(); });
}

etcd_watch::~etcd_watch() {
  stop();
}

bool etcd_watch::established() const {
  return state_->established;
}

std::int64_t etcd_watch::next_revision() const {
  return state_->next_revision;
}

void etcd_watch::stop() {
  {
    std::lock_guard<std::mutex> guard{state_->mtx};
    state_->stopping = true;
    if (state_->active != nullptr)
      state_->active->TryCancel(); // unblocks the stream's Read
  }
  state_->wake.notify_all();
  if (!state_->thread.joinable())
    return;
  if (state_->thread.get_id() == std::this_thread::get_id())
    state_->thread.detach(); // called from a callback: the thread ends when it returns
  else
    state_->thread.join();
}

std::unique_ptr<etcd_watch> etcd_client::watch(const std::string& key,
                                               watch_options options) const {
  auto s = std::make_shared<etcd_watch::state>();
  s->client = self_;
  s->key = key;
  s->next_revision = options.start_revision;
  s->options = std::move(options);
  return std::make_unique<etcd_watch>(std::move(s));
}

} // namespace switchyard::cluster

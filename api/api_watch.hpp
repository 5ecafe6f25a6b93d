// WatchEvents without a thread per stream: a gRPC callback reactor that the
// event fanout wakes when the stream's queue turns non-empty (instead of a
// thread waiting on it). Its behaviour is the one the streams always had:
// the client is told it is subscribed (initial metadata
// `x-switchyard-watch: subscribed`), what piled up goes out as one message
// of at most max_events_per_message events, a burst lingers briefly so more
// events join a small message, a watcher that falls behind by a full queue
// is ended with RESOURCE_EXHAUSTED, and shutdown ends it with UNAVAILABLE.
#pragma once

#include <string>

#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include "api/api_concurrency.hpp"
#include "observability/event_fanout.hpp"
#include "switchyard/v1/switchyard.pb.h"

namespace grpc {
class CallbackServerContext;
}

namespace switchyard::actors {

using watch_reactor_base = grpc::ServerWriteReactor<switchyard::v1::EventBatch>;

/// Serves one authorized stream: subscribes `filter` to `events` and writes
/// what arrives until the client goes away, it falls behind or `events` is
/// closed. `slot` (its place under the stream limits) is given back when the
/// stream is done. gRPC owns the returned reactor.
watch_reactor_base* serve_watch(grpc::CallbackServerContext* ctx, event_fanout& events,
                                event_filter filter, std::string who, concurrency_limit::slot slot);

/// A stream refused before it began: it ends at once with `status`.
watch_reactor_base* refuse_watch(grpc::Status status);

} // namespace switchyard::actors

#include "cluster/etcd_client.hpp"

#include <numeric>

#include "cluster/etcd_detail.hpp"
#include "messages/error.hpp"
#include "messages/grpc_status_name.hpp"

namespace switchyard::cluster {

namespace {

// round_robin keeps a connection to every member and sends each call over a
// ready one: a dead member is passed over as soon as its connection drops
// (pick_first would stay on it until a call failed). Reads and lease lookups
// are retried on another member when one answers UNAVAILABLE; writes are not:
// UNAVAILABLE after sending may mean applied, and the caller must decide.
constexpr const char* service_config = R"json({
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [{"service": "etcdserverpb.KV", "method": "Range"},
             {"service": "etcdserverpb.Lease", "method": "LeaseTimeToLive"},
             {"service": "etcdserverpb.Lease", "method": "LeaseRevoke"}],
    "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.02s", "maxBackoff": "0.2s",
                    "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
  }]
})json";

int millis(std::chrono::milliseconds d) {
  return static_cast<int>(d.count());
}

std::string quoted(const std::string& key) {
  return "\"" + key + "\"";
}

etcdserverpb::Compare_CompareResult to_proto(compare::result r) {
  switch (r) {
  case compare::result::equal:
    return etcdserverpb::Compare::EQUAL;
  case compare::result::not_equal:
    return etcdserverpb::Compare::NOT_EQUAL;
  case compare::result::greater:
    return etcdserverpb::Compare::GREATER;
  case compare::result::less:
    return etcdserverpb::Compare::LESS;
  }
  return etcdserverpb::Compare::EQUAL;
}

void to_proto(const compare& c, etcdserverpb::Compare& out) {
  out.set_key(c.key);
  out.set_result(to_proto(c.op));
  switch (c.what) {
  case compare::target::version:
    out.set_target(etcdserverpb::Compare::VERSION);
    out.set_version(c.number);
    break;
  case compare::target::create_revision:
    out.set_target(etcdserverpb::Compare::CREATE);
    out.set_create_revision(c.number);
    break;
  case compare::target::mod_revision:
    out.set_target(etcdserverpb::Compare::MOD);
    out.set_mod_revision(c.number);
    break;
  case compare::target::value:
    out.set_target(etcdserverpb::Compare::VALUE);
    out.set_value(c.text);
    break;
  case compare::target::lease:
    out.set_target(etcdserverpb::Compare::LEASE);
    out.set_lease(c.number);
    break;
  }
}

void to_proto(const txn_op& op, etcdserverpb::RequestOp& out) {
  switch (op.what) {
  case txn_op::kind::put: {
    auto* put = out.mutable_request_put();
    put->set_key(op.key);
    put->set_value(op.value);
    put->set_lease(op.lease);
    break;
  }
  case txn_op::kind::erase: {
    auto* erase = out.mutable_request_delete_range();
    erase->set_key(op.key);
    if (op.prefix)
      erase->set_range_end(prefix_end(op.key));
    break;
  }
  case txn_op::kind::get: {
    auto* get = out.mutable_request_range();
    get->set_key(op.key);
    if (op.prefix)
      get->set_range_end(prefix_end(op.key));
    break;
  }
  }
}

std::vector<key_value> all_of(const etcdserverpb::RangeResponse& resp) {
  std::vector<key_value> out;
  out.reserve(static_cast<std::size_t>(resp.kvs_size()));
  for (const auto& kv : resp.kvs())
    out.push_back(from_proto(kv));
  return out;
}

} // namespace

key_value from_proto(const mvccpb::KeyValue& kv) {
  return {kv.key(), kv.value(), kv.create_revision(), kv.mod_revision(), kv.version(), kv.lease()};
}

void etcd_client::impl::require_leader(grpc::ClientContext& ctx) {
  ctx.AddMetadata("hasleader", "true");
}

void etcd_client::impl::prepare(grpc::ClientContext& ctx) const {
  require_leader(ctx);
  ctx.set_deadline(std::chrono::system_clock::now() + settings.request_timeout);
  // Wait (within the deadline) for a member to be connected rather than fail
  // at once when none is at this instant: after a member dies, round_robin
  // may briefly report every connection failing while it rebuilds its list,
  // and a restarted member takes a reconnect to be used again. etcd's own Go
  // client waits the same way.
  ctx.set_wait_for_ready(true);
}

namespace {

const char* state_name(grpc_connectivity_state state) {
  switch (state) {
  case GRPC_CHANNEL_IDLE:
    return "IDLE";
  case GRPC_CHANNEL_CONNECTING:
    return "CONNECTING";
  case GRPC_CHANNEL_READY:
    return "READY";
  case GRPC_CHANNEL_TRANSIENT_FAILURE:
    return "TRANSIENT_FAILURE";
  case GRPC_CHANNEL_SHUTDOWN:
    return "SHUTDOWN";
  }
  return "?";
}

} // namespace

caf::error etcd_client::impl::failure(std::string_view what, const grpc::Status& status) const {
  std::string text = "etcd " + std::string(what) + " via " + endpoints_text + ": " +
                     actors::grpc_status_name(status.error_code());
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    text += " (no answer within " + std::to_string(settings.request_timeout.count()) + " ms";
    // Waiting for a connection that never came reads differently from a
    // member that took the request and did not answer (no quorum).
    auto state = channel->GetState(false);
    if (state != GRPC_CHANNEL_READY)
      text += std::string("; no member connected: channel ") + state_name(state);
    text += ")";
  }
  if (!status.error_message().empty())
    text += ": " + status.error_message();
  return make_sy_error(sy_errc::unavailable, std::move(text));
}

caf::expected<etcd_client> etcd_client::create(client_settings settings) {
  auto target = channel_target(settings.endpoints);
  if (!target)
    return target.error();
  if (settings.request_timeout <= std::chrono::milliseconds(0))
    return make_sy_error(sy_errc::invalid_config, "etcd request_timeout: must be positive");
  auto self = std::make_shared<impl>();
  self->endpoints_text = std::accumulate(
      std::next(settings.endpoints.begin()), settings.endpoints.end(), settings.endpoints.front(),
      [](std::string acc, const std::string& e) { return acc + "," + e; });
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(service_config);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  // etcd members are reached directly: an http_proxy set for the web must not
  // carry the control plane (gRPC honors it even for 127.0.0.1).
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  // Connections of its own, not shared through gRPC's global subchannel pool
  // with another client of the same members in this process.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, millis(settings.transport_keepalive));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, millis(settings.transport_keepalive_timeout));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0); // etcd refuses those by default
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, millis(settings.reconnect_backoff_min));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, millis(settings.reconnect_backoff_min));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, millis(settings.reconnect_backoff_max));
  self->channel = grpc::CreateCustomChannel(*target, grpc::InsecureChannelCredentials(), args);
  self->kv = etcdserverpb::KV::NewStub(self->channel);
  self->lease = etcdserverpb::Lease::NewStub(self->channel);
  self->watch = etcdserverpb::Watch::NewStub(self->channel);
  self->settings = std::move(settings);
  return etcd_client{std::move(self)};
}

const std::string& etcd_client::endpoints() const {
  return self_->endpoints_text;
}

std::chrono::milliseconds etcd_client::request_timeout() const {
  return self_->settings.request_timeout;
}

caf::expected<std::optional<key_value>> etcd_client::get(const std::string& key) const {
  etcdserverpb::RangeRequest req;
  req.set_key(key);
  etcdserverpb::RangeResponse resp;
  grpc::ClientContext ctx;
  self_->prepare(ctx);
  if (auto st = self_->kv->Range(&ctx, req, &resp); !st.ok())
    return self_->failure("get " + quoted(key), st);
  if (resp.kvs_size() == 0)
    return std::optional<key_value>{};
  return std::optional<key_value>{from_proto(resp.kvs(0))};
}

caf::expected<std::vector<key_value>> etcd_client::get_prefix(const std::string& prefix) const {
  etcdserverpb::RangeRequest req;
  req.set_key(prefix);
  req.set_range_end(prefix_end(prefix));
  etcdserverpb::RangeResponse resp;
  grpc::ClientContext ctx;
  self_->prepare(ctx);
  if (auto st = self_->kv->Range(&ctx, req, &resp); !st.ok())
    return self_->failure("get prefix " + quoted(prefix), st);
  return all_of(resp);
}

caf::expected<std::int64_t> etcd_client::put(const std::string& key, const std::string& value,
                                             std::int64_t lease) const {
  etcdserverpb::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  req.set_lease(lease);
  etcdserverpb::PutResponse resp;
  grpc::ClientContext ctx;
  self_->prepare(ctx);
  if (auto st = self_->kv->Put(&ctx, req, &resp); !st.ok())
    return self_->failure("put " + quoted(key), st);
  return resp.header().revision();
}

caf::expected<std::int64_t> etcd_client::erase(const std::string& key) const {
  etcdserverpb::DeleteRangeRequest req;
  req.set_key(key);
  etcdserverpb::DeleteRangeResponse resp;
  grpc::ClientContext ctx;
  self_->prepare(ctx);
  if (auto st = self_->kv->DeleteRange(&ctx, req, &resp); !st.ok())
    return self_->failure("delete " + quoted(key), st);
  return resp.deleted();
}

caf::expected<std::int64_t> etcd_client::erase_prefix(const std::string& prefix) const {
  etcdserverpb::DeleteRangeRequest req;
  req.set_key(prefix);
  req.set_range_end(prefix_end(prefix));
  etcdserverpb::DeleteRangeResponse resp;
  grpc::ClientContext ctx;
  self_->prepare(ctx);
  if (auto st = self_->kv->DeleteRange(&ctx, req, &resp); !st.ok())
    return self_->failure("delete prefix " + quoted(prefix), st);
  return resp.deleted();
}

caf::expected<txn_result> etcd_client::txn(const std::vector<compare>& compares,
                                           const std::vector<txn_op>& success,
                                           const std::vector<txn_op>& failure) const {
  etcdserverpb::TxnRequest req;
  for (const auto& c : compares)
    to_proto(c, *req.add_compare());
  for (const auto& op : success)
    to_proto(op, *req.add_success());
  for (const auto& op : failure)
    to_proto(op, *req.add_failure());
  etcdserverpb::TxnResponse resp;
  grpc::ClientContext ctx;
  self_->prepare(ctx);
  if (auto st = self_->kv->Txn(&ctx, req, &resp); !st.ok()) {
    auto what =
        "txn on " + (compares.empty() ? std::string("(no compare)") : quoted(compares[0].key));
    return self_->failure(what, st);
  }
  txn_result out;
  out.succeeded = resp.succeeded();
  out.revision = resp.header().revision();
  for (const auto& r : resp.responses())
    if (r.has_response_range())
      out.reads.push_back(all_of(r.response_range()));
  return out;
}

caf::expected<lease_grant> etcd_client::grant_lease(std::chrono::seconds ttl) const {
  etcdserverpb::LeaseGrantRequest req;
  req.set_ttl(ttl.count());
  etcdserverpb::LeaseGrantResponse resp;
  grpc::ClientContext ctx;
  self_->prepare(ctx);
  auto what = "lease grant (ttl " + std::to_string(ttl.count()) + " s)";
  if (auto st = self_->lease->LeaseGrant(&ctx, req, &resp); !st.ok())
    return self_->failure(what, st);
  if (!resp.error().empty())
    return self_->failure(what, grpc::Status(grpc::StatusCode::UNKNOWN, resp.error()));
  return lease_grant{resp.id(), std::chrono::seconds(resp.ttl())};
}

caf::expected<std::chrono::seconds> etcd_client::keep_alive_once(std::int64_t lease) const {
  // LeaseKeepAlive is a stream meant to stay open; one request and one answer
  // on a fresh stream gives each renewal its own deadline and needs no
  // stream state to recover after a member dies.
  grpc::ClientContext ctx;
  self_->prepare(ctx);
  auto what = "lease keep-alive " + std::to_string(lease);
  auto stream = self_->lease->LeaseKeepAlive(&ctx);
  etcdserverpb::LeaseKeepAliveRequest req;
  req.set_id(lease);
  etcdserverpb::LeaseKeepAliveResponse resp;
  bool answered = stream->Write(req) && stream->WritesDone() && stream->Read(&resp);
  if (!answered) {
    auto st = stream->Finish();
    return self_->failure(what, st.ok() ? grpc::Status(grpc::StatusCode::UNKNOWN,
                                                       "the stream closed without an answer")
                                        : st);
  }
  ctx.TryCancel(); // nothing more to read: don't wait for etcd to close its side
  (void)stream->Finish();
  return std::chrono::seconds(std::max<std::int64_t>(resp.ttl(), 0));
}

caf::expected<bool> etcd_client::revoke_lease(std::int64_t lease) const {
  etcdserverpb::LeaseRevokeRequest req;
  req.set_id(lease);
  etcdserverpb::LeaseRevokeResponse resp;
  grpc::ClientContext ctx;
  self_->prepare(ctx);
  auto st = self_->lease->LeaseRevoke(&ctx, req, &resp);
  if (st.error_code() == grpc::StatusCode::NOT_FOUND)
    return false; // "etcdserver: requested lease not found": expired or revoked already
  if (!st.ok())
    return self_->failure("lease revoke " + std::to_string(lease), st);
  return true;
}

caf::expected<std::optional<std::chrono::seconds>>
etcd_client::lease_time_to_live(std::int64_t lease) const {
  etcdserverpb::LeaseTimeToLiveRequest req;
  req.set_id(lease);
  etcdserverpb::LeaseTimeToLiveResponse resp;
  grpc::ClientContext ctx;
  self_->prepare(ctx);
  if (auto st = self_->lease->LeaseTimeToLive(&ctx, req, &resp); !st.ok())
    return self_->failure("lease time-to-live " + std::to_string(lease), st);
  if (resp.ttl() < 0) // -1: no such lease
    return std::optional<std::chrono::seconds>{};
  return std::optional<std::chrono::seconds>{std::chrono::seconds(resp.ttl())};
}

} // namespace switchyard::cluster

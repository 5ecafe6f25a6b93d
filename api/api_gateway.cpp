// The API gateway's server (start, stop) and its event stream, WatchEvents;
// the other calls are in api_reads.cpp, api_mutations.cpp and api_sites.cpp.
#include "api/api_gateway.hpp"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/config_reloader.hpp"
#include "api/api_credentials.hpp"
#include "api/api_limits.hpp"
#include "api/api_service.hpp"
#include "api/api_watch.hpp"
#include "messages/error.hpp"
#include "observability/event_fanout.hpp"

namespace switchyard::actors {

api_gateway::service::service(caf::actor_system& sys, std::shared_ptr<peer_table> peers,
                              std::shared_ptr<config_holder> config,
                              std::vector<config::api_token> tokens,
                              std::shared_ptr<event_fanout> events, reload_fn reload)
    : core_(sys, std::move(peers), std::move(config), std::move(tokens)),
      events_(std::move(events)), watch_streams_(watch_stream_limit(core_.config()->api)),
      long_calls_(long_call_limit(core_.config()->api)), reload_(std::move(reload)),
      started_(std::chrono::steady_clock::now()) {}

grpc::ServerWriteReactor<pb::EventBatch>*
api_gateway::service::WatchEvents(grpc::CallbackServerContext* ctx,
                                  const pb::WatchEventsRequest* req) {
  api_call call{core_, *ctx, "WatchEvents", config::api_role::viewer};
  if (auto st = call.authorize(); !st.ok())
    return refuse_watch(st);
  event_filter filter;
  if (auto st = check_service_filter(call.config(), req->service()); !st.ok())
    return refuse_watch(call.refuse(st));
  filter.service = req->service();
  for (const auto& k : req->kinds()) {
    auto kind = parse_event_kind(k);
    if (!kind)
      return refuse_watch(call.refuse(
          {grpc::StatusCode::INVALID_ARGUMENT,
           fmt::format("unknown event kind '{}' (health, detection, decision, switchover, "
                       "step, maintenance, config, alert)",
                       quote(k))}));
    filter.kinds.insert(*kind);
  }
  auto slot = watch_streams_.acquire(call.who().name);
  if (!slot.held()) {
    spdlog::warn("api: WatchEvents by {} ({}) refused: {}", call.who().name, ctx->peer(),
                 slot.refusal());
    return refuse_watch(call.refuse({grpc::StatusCode::RESOURCE_EXHAUSTED, slot.refusal()}));
  }
  spdlog::info("api: {} watches events (from {})", call.who().name, ctx->peer());
  return serve_watch(ctx, *events_, std::move(filter), call.who().name, std::move(slot));
}

api_gateway::api_gateway(caf::actor_system& sys, std::shared_ptr<peer_table> peers,
                         std::shared_ptr<config_holder> config,
                         std::vector<config::api_token> tokens,
                         std::shared_ptr<event_fanout> events, reload_fn reload)
    : listen_(config->get()->api.listen), api_(config->get()->api) {
  service_ = std::make_unique<service>(sys, std::move(peers), std::move(config), std::move(tokens),
                                       std::move(events), std::move(reload));
}

api_gateway::~api_gateway() {
  stop();
}

caf::expected<int> api_gateway::start() {
  std::string error;
  auto credentials = make_server_credentials(api_, error);
  if (!credentials)
    return make_sy_error(sy_errc::invalid_config, error);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen_, credentials, &port);
  builder.RegisterService(service_.get());
  // Each synchronous call holds a thread until it answers: without a cap,
  // gRPC grows one per concurrent call. Long calls are capped below this
  // (api.max_long_calls), WatchEvents holds none (a callback reactor).
  grpc::ResourceQuota threads{"switchyard-api"};
  threads.SetMaxThreads(sync_server_threads(api_));
  builder.SetResourceQuota(threads);
  // Bigger requests are refused by gRPC before they are parsed; each method
  // has its own, smaller or equal, cap (api_limits.hpp, checked by the guard).
  builder.SetMaxReceiveMessageSize(static_cast<int>(max_request_bytes));
  builder.experimental().SetInterceptorCreators(service_->guard().interceptors());
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0)
    return make_sy_error(sy_errc::invalid_config,
                         fmt::format("cannot listen on {} ({})", listen_,
                                     api_.tls.enabled()
                                         ? "in use, not a local address, or is api.tls.key_file "
                                           "not the private key of api.tls.cert_file?"
                                         : "in use, or not a local address?"));
  server_->GetHealthCheckService()->SetServingStatus(true);
  if (api_.tls.enabled())
    spdlog::info("api: TLS with {} and {}{}", api_.tls.cert_file, api_.tls.key_file,
                 api_.tls.client_ca_file.empty()
                     ? std::string{}
                     : "; clients must present a certificate signed by " + api_.tls.client_ca_file);
  return port;
}

void api_gateway::stop() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
    server_.reset();
  }
}

} // namespace switchyard::actors

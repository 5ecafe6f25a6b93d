#include "actors/api_gateway.hpp"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/directory.hpp"
#include "messages/error.hpp"
#include "messages/interfaces.hpp"
#include "switchyard/v1/switchyard.grpc.pb.h"

namespace switchyard::actors {

namespace pb = switchyard::v1;

namespace {

constexpr auto actor_timeout = std::chrono::seconds(5);
// A switchover runs all its steps before it answers; each step is bounded by its timeout.
constexpr auto switchover_timeout = std::chrono::seconds(600);

const char* status_name(grpc::StatusCode code) {
  switch (code) {
  case grpc::StatusCode::OK:
    return "OK";
  case grpc::StatusCode::INVALID_ARGUMENT:
    return "INVALID_ARGUMENT";
  case grpc::StatusCode::NOT_FOUND:
    return "NOT_FOUND";
  case grpc::StatusCode::PERMISSION_DENIED:
    return "PERMISSION_DENIED";
  case grpc::StatusCode::UNAUTHENTICATED:
    return "UNAUTHENTICATED";
  case grpc::StatusCode::FAILED_PRECONDITION:
    return "FAILED_PRECONDITION";
  case grpc::StatusCode::UNAVAILABLE:
    return "UNAVAILABLE";
  default:
    return "ERROR";
  }
}
constexpr const char* version = "0.1.0";

struct principal {
  std::string name;
  config::api_role role = config::api_role::viewer;
};

// Maps an actor-side error to the gRPC status an operator can act on.
grpc::Status to_status(const caf::error& err) {
  auto text = describe(err);
  if (err.category() == caf::atom("switchyard")) {
    switch (static_cast<sy_errc>(err.code())) {
    case sy_errc::unknown_service:
    case sy_errc::unknown_instance:
    case sy_errc::unknown_switchover:
      return {grpc::StatusCode::NOT_FOUND, text};
    case sy_errc::invalid_config:
      return {grpc::StatusCode::INVALID_ARGUMENT, text};
    default:
      break;
    }
  }
  return {grpc::StatusCode::UNAVAILABLE, "switchyardd could not answer: " + text};
}

void fill(pb::Instance& out, const config::instance_settings& in, health_status health,
          bool primary) {
  out.set_name(in.name);
  out.set_address(fmt::format("{}:{}", in.host, in.port));
  out.set_site(in.site);
  out.set_configured_role(config::to_string(in.role));
  out.set_priority(in.priority);
  out.set_health(to_string(health));
  out.set_primary(primary);
}

void fill(pb::Service& out, const service_state& s, const config::service_settings* settings) {
  out.set_name(s.service.value);
  out.set_primary(s.primary.value);
  out.set_epoch(s.current_epoch.value);
  out.set_failover_in_flight(s.failover_in_flight);
  out.set_in_block_period(s.in_block_period);
  out.set_last_decision(s.last_decision);
  if (settings == nullptr)
    return;
  for (const auto& inst : settings->instances) {
    auto health = health_status::unknown;
    for (const auto& h : s.instances)
      if (h.instance.value == inst.name)
        health = h.status;
    fill(*out.add_instances(), inst, health, inst.name == s.primary.value);
  }
}

void fill(pb::Detection& out, const detection_record& d) {
  out.set_id(d.id.value);
  out.set_service(d.service.value);
  out.set_instance(d.instance.value);
  out.set_type(to_string(d.type));
  out.set_severity(to_string(d.level));
  out.set_affects_primary(d.affects_primary);
  out.set_evidence(d.evidence);
  out.set_at_ms(d.at_ms);
}

void fill(pb::Switchover& out, const switchover_record& s) {
  out.set_id(s.id.value);
  out.set_service(s.service.value);
  out.set_kind(to_string(s.kind));
  out.set_status(to_string(s.status));
  out.set_from_instance(s.from.value);
  out.set_to_instance(s.to.value);
  out.set_detection_id(s.detection.value);
  out.set_plan_version(s.plan_version);
  out.set_epoch(s.run_epoch.value);
  out.set_reason(s.reason);
  out.set_detail(s.detail);
  out.set_started_at_ms(s.started_at_ms);
  out.set_finished_at_ms(s.finished_at_ms);
}

void fill(pb::Step& out, const step_record& s) {
  out.set_id(s.id.value);
  out.set_sequence(s.sequence);
  out.set_phase(to_string(s.phase));
  out.set_name(s.name);
  out.set_action_kind(s.action_kind);
  out.set_target(s.target.value);
  out.set_epoch(s.run_epoch.value);
  out.set_status(to_string(s.status));
  out.set_detail(s.detail);
  out.set_started_at_ms(s.started_at_ms);
  out.set_finished_at_ms(s.finished_at_ms);
}

} // namespace

class api_gateway::service final : public pb::Switchyard::Service {
public:
  service(caf::actor_system& sys, std::shared_ptr<const config::switchyard_config> cfg,
          std::vector<config::api_token> tokens)
      : sys_(sys), cfg_(std::move(cfg)), tokens_(std::move(tokens)),
        started_(std::chrono::steady_clock::now()) {}

  grpc::Status GetStatus(grpc::ServerContext* ctx, const pb::GetStatusRequest*,
                         pb::Status* out) override {
    principal who;
    if (auto st = authorize(ctx, config::api_role::viewer, "GetStatus", who); !st.ok())
      return st;
    auto states = ask<service_state_list>(names::coordinator, get_state_atom::value);
    if (!states)
      return to_status(states.error());
    out->set_version(version);
    out->set_uptime_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started_)
                           .count());
    out->set_role("leader");
    out->set_database_path(cfg_->database_path());
    out->set_config_file(cfg_->source_file);
    out->set_services(static_cast<std::int32_t>(states->size()));
    std::int32_t instances = 0;
    std::int32_t healthy = 0;
    std::int32_t in_flight = 0;
    for (const auto& s : *states) {
      in_flight += s.failover_in_flight ? 1 : 0;
      for (const auto& i : s.instances) {
        ++instances;
        healthy += i.status == health_status::healthy ? 1 : 0;
      }
    }
    out->set_instances(instances);
    out->set_healthy_instances(healthy);
    out->set_failovers_in_flight(in_flight);
    return grpc::Status::OK;
  }

  grpc::Status ListServices(grpc::ServerContext* ctx, const pb::ListServicesRequest*,
                            pb::ListServicesResponse* out) override {
    principal who;
    if (auto st = authorize(ctx, config::api_role::viewer, "ListServices", who); !st.ok())
      return st;
    auto states = ask<service_state_list>(names::coordinator, get_state_atom::value);
    if (!states)
      return to_status(states.error());
    for (const auto& s : *states)
      fill(*out->add_services(), s, cfg_->find_service(s.service.value));
    return grpc::Status::OK;
  }

  grpc::Status GetService(grpc::ServerContext* ctx, const pb::GetServiceRequest* req,
                          pb::ServiceDetail* out) override {
    principal who;
    if (auto st = authorize(ctx, config::api_role::viewer, "GetService", who); !st.ok())
      return st;
    if (req->name().empty())
      return {grpc::StatusCode::INVALID_ARGUMENT, "name is required"};
    const auto* settings = cfg_->find_service(req->name());
    if (settings == nullptr)
      return {grpc::StatusCode::NOT_FOUND, unknown_service_message(req->name())};
    auto states = ask<service_state_list>(names::coordinator, get_state_atom::value);
    if (!states)
      return to_status(states.error());
    for (const auto& s : *states)
      if (s.service.value == req->name())
        fill(*out->mutable_service(), s, settings);
    auto detections = ask<detection_record_list>(names::store, detections_query{req->name(), 10});
    if (!detections)
      return to_status(detections.error());
    for (const auto& d : *detections)
      fill(*out->add_recent_detections(), d);
    auto plan = ask<plan_record>(names::store, plan_atom::value, service_id{req->name()});
    if (!plan)
      return to_status(plan.error());
    out->set_plan_version(plan->version);
    out->set_plan_json(plan->json);
    return grpc::Status::OK;
  }

  grpc::Status ListSwitchovers(grpc::ServerContext* ctx, const pb::ListSwitchoversRequest* req,
                               pb::ListSwitchoversResponse* out) override {
    principal who;
    if (auto st = authorize(ctx, config::api_role::viewer, "ListSwitchovers", who); !st.ok())
      return st;
    if (!req->service().empty() && cfg_->find_service(req->service()) == nullptr)
      return {grpc::StatusCode::NOT_FOUND, unknown_service_message(req->service())};
    auto rows = ask<switchover_record_list>(
        names::store, switchovers_query{req->service(), req->limit() == 0 ? 50 : req->limit()});
    if (!rows)
      return to_status(rows.error());
    for (const auto& r : *rows)
      fill(*out->add_switchovers(), r);
    return grpc::Status::OK;
  }

  grpc::Status GetSwitchover(grpc::ServerContext* ctx, const pb::GetSwitchoverRequest* req,
                             pb::Switchover* out) override {
    principal who;
    if (auto st = authorize(ctx, config::api_role::viewer, "GetSwitchover", who); !st.ok())
      return st;
    if (req->id() <= 0)
      return {grpc::StatusCode::INVALID_ARGUMENT, "id must be a positive switchover id"};
    auto detail = ask<switchover_detail>(names::store, switchover_id{req->id()});
    if (!detail)
      return to_status(detail.error());
    fill(*out, detail->switchover);
    for (const auto& s : detail->steps)
      fill(*out->add_steps(), s);
    return grpc::Status::OK;
  }

  grpc::Status ListAudit(grpc::ServerContext* ctx, const pb::ListAuditRequest* req,
                         pb::ListAuditResponse* out) override {
    principal who;
    if (auto st = authorize(ctx, config::api_role::admin, "ListAudit", who); !st.ok())
      return st;
    auto rows =
        ask<audit_record_list>(names::store, audit_query{req->limit() == 0 ? 100 : req->limit()});
    if (!rows)
      return to_status(rows.error());
    for (const auto& a : *rows) {
      auto* e = out->add_entries();
      e->set_id(a.id);
      e->set_principal(a.principal);
      e->set_role(a.role);
      e->set_call(a.call);
      e->set_arguments(a.arguments);
      e->set_result(a.result);
      e->set_at_ms(a.at_ms);
    }
    return grpc::Status::OK;
  }

  grpc::Status RequestSwitchover(grpc::ServerContext* ctx, const pb::SwitchoverRequest* req,
                                 pb::SwitchoverResponse* out) override {
    nlohmann::json args{{"service", req->service()},
                        {"target", req->target()},
                        {"reason", req->reason()},
                        {"dry_run", req->dry_run()},
                        {"force", req->force()}};
    audited_call call{*this, "RequestSwitchover", args.dump()};
    principal who;
    if (auto st = authorize(ctx, config::api_role::operator_, "RequestSwitchover", who); !st.ok())
      return call.refuse(who, st);
    if (req->service().empty())
      return call.refuse(who, {grpc::StatusCode::INVALID_ARGUMENT, "service is required"});
    const auto* settings = cfg_->find_service(req->service());
    if (settings == nullptr)
      return call.refuse(who,
                         {grpc::StatusCode::NOT_FOUND, unknown_service_message(req->service())});
    if (!req->target().empty()) {
      bool known = false;
      for (const auto& i : settings->instances)
        known = known || i.name == req->target();
      if (!known)
        return call.refuse(
            who, {grpc::StatusCode::NOT_FOUND,
                  fmt::format("service '{}' has no instance '{}'", req->service(), req->target())});
    }
    if (!req->dry_run() && req->reason().empty())
      return call.refuse(who, {grpc::StatusCode::INVALID_ARGUMENT,
                               "reason is required: say why, it goes into the journal and audit"});
    // Written before anything happens: no audit, no switchover.
    if (auto st = call.record(who, req->dry_run() ? "dry run requested" : "requested"); !st.ok())
      return st;
    switchover_request msg{service_id{req->service()},
                           instance_id{req->target()},
                           req->reason(),
                           who.name,
                           req->dry_run(),
                           req->force()};
    auto reply =
        ask_within<switchover_reply>(names::coordinator, switchover_timeout, std::move(msg));
    if (!reply)
      return call.finish(who, to_status(reply.error()));
    const auto& plan = reply->plan;
    out->set_executed(reply->executed);
    out->set_success(reply->success);
    out->set_switchover_id(reply->switchover.value);
    if (!plan.primary_targets.empty())
      out->set_from_instance(plan.primary_targets.front().value);
    if (!plan.secondary_targets.empty())
      out->set_to_instance(plan.secondary_targets.front().value);
    for (const auto& st : plan.steps) {
      auto* p = out->add_steps();
      p->set_sequence(st.sequence);
      p->set_phase(to_string(st.phase));
      p->set_name(st.name);
      p->set_target(st.target.value);
      p->set_description(st.description);
      p->set_timeout_ms(std::chrono::duration_cast<std::chrono::milliseconds>(st.timeout).count());
    }
    out->set_estimated_ms(
        std::chrono::duration_cast<std::chrono::milliseconds>(plan.estimated_failover_time)
            .count());
    out->set_detail(reply->detail);
    if (!reply->accepted)
      return call.finish(who, {grpc::StatusCode::FAILED_PRECONDITION, reply->detail});
    auto outcome =
        !reply->executed ? std::string{"dry run: "} + reply->detail
        : reply->success
            ? fmt::format("completed: switchover #{}", reply->switchover.value)
            : fmt::format("failed: switchover #{}: {}", reply->switchover.value, reply->detail);
    // It already happened: a lost outcome row cannot undo it, but must be seen.
    if (auto written = call.record(who, outcome); !written.ok())
      spdlog::error("api: audit row for the outcome of RequestSwitchover by {} lost: {}", who.name,
                    written.error_message());
    return grpc::Status::OK;
  }

private:
  // The audit trail of one mutating call: every refusal and every outcome is
  // written; the call is refused when the trail cannot be written.
  class audited_call {
  public:
    audited_call(service& svc, std::string name, std::string arguments)
        : svc_(svc), name_(std::move(name)), arguments_(std::move(arguments)) {}

    grpc::Status record(const principal& who, const std::string& result) {
      audit_record a{0,
                     who.name.empty() ? "(anonymous)" : who.name,
                     who.name.empty() ? "" : config::to_string(who.role),
                     name_,
                     arguments_,
                     result,
                     0};
      auto id = svc_.ask<std::int64_t>(names::store, std::move(a));
      if (!id)
        return {grpc::StatusCode::UNAVAILABLE,
                "the audit trail cannot be written, so nothing was done: " + describe(id.error())};
      return grpc::Status::OK;
    }

    /// Records a refusal and returns it (or the audit failure).
    grpc::Status refuse(const principal& who, const grpc::Status& st) { return finish(who, st); }

    grpc::Status finish(const principal& who, const grpc::Status& st) {
      auto text = fmt::format("{}: {}", status_name(st.error_code()), st.error_message());
      if (auto written = record(who, text); !written.ok())
        return written;
      return st;
    }

  private:
    service& svc_;
    std::string name_;
    std::string arguments_;
  };

  std::string unknown_service_message(const std::string& name) const {
    std::string known;
    for (const auto& s : cfg_->services)
      known += (known.empty() ? "" : ", ") + s.name;
    return fmt::format("no service named '{}' (configured: {})", name, known);
  }

  // Checks the bearer token and the role. The token itself is never logged.
  grpc::Status authorize(grpc::ServerContext* ctx, config::api_role needed, const char* call,
                         principal& who) const {
    auto range = ctx->client_metadata().equal_range("authorization");
    if (range.first == range.second)
      return {grpc::StatusCode::UNAUTHENTICATED,
              "missing bearer token: send 'authorization: Bearer <token>' "
              "(switchyard --token, SWITCHYARD_TOKEN or --token-file)"};
    std::string value(range.first->second.data(), range.first->second.size());
    constexpr std::string_view scheme = "Bearer ";
    if (value.rfind(scheme, 0) != 0)
      return {grpc::StatusCode::UNAUTHENTICATED, "authorization must be 'Bearer <token>'"};
    auto token = config::find_token(tokens_, value.substr(scheme.size()));
    if (!token) {
      spdlog::warn("api: {} refused: unknown token from {}", call, ctx->peer());
      return {grpc::StatusCode::UNAUTHENTICATED, "invalid token"};
    }
    who = principal{token->name, token->role};
    if (token->role < needed)
      return {grpc::StatusCode::PERMISSION_DENIED,
              fmt::format("'{}' has role {}; {} needs {}", token->name,
                          config::to_string(token->role), call, config::to_string(needed))};
    spdlog::debug("api: {} by {} ({})", call, who.name, config::to_string(who.role));
    return grpc::Status::OK;
  }

  template <class Reply, class... Ts> caf::expected<Reply> ask(caf::atom_value name, Ts&&... xs) {
    return ask_within<Reply>(name, actor_timeout, std::forward<Ts>(xs)...);
  }

  template <class Reply, class... Ts>
  caf::expected<Reply> ask_within(caf::atom_value name, std::chrono::seconds timeout, Ts&&... xs) {
    auto dest = caf::actor_cast<caf::actor>(sys_.registry().get(name));
    if (!dest)
      return make_sy_error(sy_errc::unspecified,
                           fmt::format("{} is not running (restarting?)", caf::to_string(name)));
    caf::scoped_actor self{sys_};
    caf::expected<Reply> result = make_sy_error(sy_errc::unspecified, "no reply");
    self->request(dest, timeout, std::forward<Ts>(xs)...)
        .receive([&](Reply& r) { result = std::move(r); }, [&](caf::error& e) { result = e; });
    return result;
  }

  caf::actor_system& sys_;
  std::shared_ptr<const config::switchyard_config> cfg_;
  std::vector<config::api_token> tokens_;
  std::chrono::steady_clock::time_point started_;
};

api_gateway::api_gateway(caf::actor_system& sys,
                         std::shared_ptr<const config::switchyard_config> cfg,
                         std::vector<config::api_token> tokens)
    : listen_(cfg->api.listen) {
  service_ = std::make_unique<service>(sys, std::move(cfg), std::move(tokens));
}

api_gateway::~api_gateway() {
  stop();
}

caf::expected<int> api_gateway::start() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  // TLS is not implemented yet: the listener is plaintext, so keep it on loopback.
  builder.AddListeningPort(listen_, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0)
    return make_sy_error(
        sy_errc::invalid_config,
        fmt::format("cannot listen on {} (in use, or not a local address?)", listen_));
  server_->GetHealthCheckService()->SetServingStatus(true);
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

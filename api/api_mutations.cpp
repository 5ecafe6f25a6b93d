// The mutations of services and of the configuration: a planned switchover,
// a forced failover, maintenance (operator) and Reload (admin). Each is
// audited: refusals, the request before anything happens, the outcome.
#include <caf/all.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "actors/config_reloader.hpp"
#include "api/api_limits.hpp"
#include "api/api_service.hpp"
#include "config/loader.hpp"
#include "messages/interfaces.hpp"

namespace switchyard::actors {

namespace {

// A switchover runs all its steps before it answers; each step is bounded by its timeout.
constexpr auto switchover_timeout = std::chrono::seconds(600);

void fill(pb::SwitchoverResponse& out, const switchover_reply& reply) {
  const auto& plan = reply.plan;
  out.set_executed(reply.executed);
  out.set_success(reply.success);
  out.set_switchover_id(reply.switchover.value);
  if (!plan.primary_targets.empty())
    out.set_from_instance(plan.primary_targets.front().value);
  if (!plan.secondary_targets.empty())
    out.set_to_instance(plan.secondary_targets.front().value);
  for (const auto& st : plan.steps) {
    auto* p = out.add_steps();
    p->set_sequence(st.sequence);
    p->set_phase(to_string(st.phase));
    p->set_name(st.name);
    p->set_target(st.target.value);
    p->set_description(st.description);
    p->set_timeout_ms(std::chrono::duration_cast<std::chrono::milliseconds>(st.timeout).count());
  }
  out.set_estimated_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(plan.estimated_failover_time).count());
  out.set_detail(reply.detail);
}

} // namespace

grpc::Status api_gateway::service::RequestSwitchover(grpc::ServerContext* ctx,
                                                     const pb::SwitchoverRequest* req,
                                                     pb::SwitchoverResponse* out) {
  return switchover(ctx, req, out, switchover_kind::planned_switchover, "RequestSwitchover");
}

grpc::Status api_gateway::service::RequestFailover(grpc::ServerContext* ctx,
                                                   const pb::SwitchoverRequest* req,
                                                   pb::SwitchoverResponse* out) {
  return switchover(ctx, req, out, switchover_kind::forced_failover, "RequestFailover");
}

grpc::Status api_gateway::service::switchover(grpc::ServerContext* ctx,
                                              const pb::SwitchoverRequest* req,
                                              pb::SwitchoverResponse* out, switchover_kind kind,
                                              const char* name) {
  nlohmann::json args{{"service", req->service()},
                      {"target", req->target()},
                      {"reason", req->reason()},
                      {"dry_run", req->dry_run()},
                      {"force", req->force()}};
  api_call call{core_, *ctx, name, config::api_role::operator_, args};
  if (auto st = call.authorize(); !st.ok())
    return st;
  concurrency_limit::slot long_call;
  if (auto st = call.hold(long_calls_, long_call); !st.ok()) // api.max_long_calls
    return st;
  if (auto st = check_target(call.config(), req->service(), req->target()); !st.ok())
    return call.refuse(st);
  if (!req->dry_run() && req->reason().empty())
    return call.refuse({grpc::StatusCode::INVALID_ARGUMENT,
                        "reason is required: say why, it goes into the journal and audit"});
  // Written before anything happens: no audit, no switchover.
  if (auto st = call.requested(req->dry_run() ? "dry run requested" : "requested"); !st.ok())
    return st;
  switchover_request msg{service_id{req->service()},
                         instance_id{req->target()},
                         req->reason(),
                         call.who().name,
                         req->dry_run(),
                         req->force(),
                         kind};
  auto reply =
      call.ask_within<switchover_reply>(peer::coordinator, switchover_timeout, std::move(msg));
  if (!reply)
    return call.fail(reply.error());
  fill(*out, *reply);
  if (!reply->accepted)
    return call.finish({grpc::StatusCode::FAILED_PRECONDITION, reply->detail});
  // It already happened: a lost outcome row cannot undo it, but must be seen.
  call.outcome(!reply->executed ? std::string{"dry run: "} + reply->detail
               : reply->success ? fmt::format("completed: switchover #{}", reply->switchover.value)
                                : fmt::format("failed: switchover #{}: {}", reply->switchover.value,
                                              reply->detail));
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::SetMaintenance(grpc::ServerContext* ctx,
                                                  const pb::MaintenanceRequest* req,
                                                  pb::MaintenanceResponse* out) {
  nlohmann::json args{{"service", req->service()},
                      {"instance", req->instance()},
                      {"enabled", req->enabled()},
                      {"reason", req->reason()},
                      {"duration", req->duration()}};
  api_call call{core_, *ctx, "SetMaintenance", config::api_role::operator_, args};
  if (auto st = call.authorize(); !st.ok())
    return st;
  if (auto st = check_target(call.config(), req->service(), req->instance()); !st.ok())
    return call.refuse(st);
  config::milliseconds duration{0};
  if (!req->duration().empty()) {
    if (!req->enabled())
      return call.refuse({grpc::StatusCode::INVALID_ARGUMENT,
                          "duration only applies when turning maintenance on"});
    if (!config::parse_duration(req->duration(), duration) || duration.count() <= 0)
      return call.refuse(
          {grpc::StatusCode::INVALID_ARGUMENT,
           fmt::format("duration '{}' is not a positive duration (e.g. 90s, 30m, 2h)",
                       quote(req->duration()))});
  }
  if (req->enabled() && req->reason().empty())
    return call.refuse({grpc::StatusCode::INVALID_ARGUMENT,
                        "reason is required to turn maintenance on: say why, it is "
                        "shown to everyone who looks at the service"});
  if (auto st = call.requested("requested"); !st.ok())
    return st;
  maintenance_request msg{service_id{req->service()},
                          instance_id{req->instance()},
                          req->enabled(),
                          req->reason(),
                          call.who().name,
                          duration.count()};
  auto reply = call.ask<maintenance_reply>(peer::coordinator, std::move(msg));
  if (!reply)
    return call.fail(reply.error());
  out->set_changed(reply->changed);
  out->set_detail(reply->detail);
  out->set_until_ms(reply->until_ms);
  call.outcome(reply->detail);
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::Reload(grpc::ServerContext* ctx, const pb::ReloadRequest*,
                                          pb::ReloadResponse* out) {
  api_call call{core_, *ctx, "Reload", config::api_role::admin, nlohmann::json::object()};
  if (auto st = call.authorize(); !st.ok())
    return st;
  if (auto st = call.requested("requested"); !st.ok())
    return st;
  auto outcome = reload_(call.who().name);
  using verdict = reload_outcome::verdict;
  switch (outcome.what) {
  case verdict::invalid: {
    std::string text = outcome.detail;
    for (const auto& e : outcome.errors)
      text += "\n" + e;
    return call.finish({grpc::StatusCode::INVALID_ARGUMENT, text});
  }
  case verdict::refused:
    return call.finish({grpc::StatusCode::FAILED_PRECONDITION, outcome.detail});
  case verdict::failed:
    return call.finish({grpc::StatusCode::UNAVAILABLE, outcome.detail});
  case verdict::applied:
  case verdict::unchanged:
    break;
  }
  out->set_applied(outcome.what == verdict::applied);
  for (const auto& s : outcome.changes.added)
    out->add_added(s);
  for (const auto& s : outcome.changes.removed)
    out->add_removed(s);
  for (const auto& s : outcome.changes.changed)
    out->add_changed(s);
  for (const auto& s : outcome.changes.need_restart)
    out->add_needs_restart(s);
  out->set_detail(outcome.detail);
  call.outcome((out->applied() ? "applied: " : "") + outcome.detail);
  return grpc::Status::OK;
}

} // namespace switchyard::actors

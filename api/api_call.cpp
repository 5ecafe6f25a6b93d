#include "api/api_call.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_registry.hpp>
#include <fmt/format.h>
#include <grpcpp/server_context.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/api_leadership.hpp"
#include "api/api_limits.hpp"
#include "messages/grpc_status_name.hpp"
#include "messages/interfaces.hpp"
#include "observability/metrics.hpp"

namespace switchyard::actors {

grpc::Status to_status(const caf::error& err) {
  auto text = describe(err);
  if (err.category() == caf::atom("switchyard")) {
    switch (static_cast<sy_errc>(err.code())) {
    case sy_errc::unknown_service:
    case sy_errc::unknown_instance:
    case sy_errc::unknown_switchover:
    case sy_errc::not_found:
      return {grpc::StatusCode::NOT_FOUND, text};
    case sy_errc::already_in_progress:
      return {grpc::StatusCode::FAILED_PRECONDITION, text};
    case sy_errc::invalid_config:
    case sy_errc::unknown_site:
      return {grpc::StatusCode::INVALID_ARGUMENT, text};
    case sy_errc::storage_failure:
      return {grpc::StatusCode::UNAVAILABLE, "nothing was changed: " + text};
    case sy_errc::backup_failed:
      return {grpc::StatusCode::ABORTED, text};
    case sy_errc::corrupt:
      return {grpc::StatusCode::DATA_LOSS, text};
    default: // unavailable (not running, no reply) and the rest
      break;
    }
  }
  return {grpc::StatusCode::UNAVAILABLE, "switchyardd could not answer: " + text};
}

api_core::api_core(caf::actor_system& sys, peers_ptr peers, std::shared_ptr<config_holder> config,
                   std::vector<config::api_token> tokens)
    : sys_(sys), peers_(std::move(peers)), config_(std::move(config)), tokens_(std::move(tokens)),
      guard_([this](const grpc::ServerContextBase& ctx, const api_method& method) {
        return refuse_malformed(ctx, method);
      }),
      audit_left_out_(peers_->metrics().counter_for(
          "switchyard_api_audit_rows_left_out_total",
          "Audit rows of refused API calls not written: the caller's address was over its "
          "rate.")) {}

grpc::Status api_core::authenticate(const grpc::ServerContextBase& ctx, std::string_view call,
                                    principal& who) const {
  auto range = ctx.client_metadata().equal_range("authorization");
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
    spdlog::warn("api: {} refused: unknown token from {}", call, ctx.peer());
    return {grpc::StatusCode::UNAUTHENTICATED, "invalid token"};
  }
  who = principal{token->name, token->role};
  return grpc::Status::OK;
}

grpc::Status api_core::authorize(const grpc::ServerContextBase& ctx, config::api_role needed,
                                 std::string_view call, principal& who) const {
  if (auto st = authenticate(ctx, call, who); !st.ok())
    return st;
  if (who.role < needed)
    return {grpc::StatusCode::PERMISSION_DENIED,
            fmt::format("'{}' has role {}; {} needs {}", who.name, config::to_string(who.role),
                        call, config::to_string(needed))};
  if (auto st = guard_.check(ctx); !st.ok())
    return st;
  spdlog::debug("api: {} by {} ({})", call, who.name, config::to_string(who.role));
  return grpc::Status::OK;
}

caf::expected<caf::actor> api_core::find(peer who) const {
  auto dest = peers_->actor(who);
  if (!dest)
    return make_sy_error(sy_errc::unavailable,
                         fmt::format("the {} is not running (restarting?)", to_string(who)));
  return dest;
}

grpc::Status api_core::refuse_malformed(const grpc::ServerContextBase& ctx,
                                        const api_method& method) {
  api_call call{*this, ctx, method.name, config::api_role::viewer, nlohmann::json::object()};
  auto st = authenticate(ctx, method.name, call.who_);
  if (st.ok())
    st = {grpc::StatusCode::INVALID_ARGUMENT,
          fmt::format("malformed request: not a valid {} (truncated or not protobuf, or a "
                      "string field that is not UTF-8)",
                      method.request_type)};
  if (!method.audited)
    return st;
  return call.refuse(st);
}

api_call::api_call(api_core& core, const grpc::ServerContextBase& ctx, std::string name,
                   config::api_role role)
    : core_(core), ctx_(ctx), name_(std::move(name)), role_(role), audited_(false),
      config_(core.config()) {}

api_call::api_call(api_core& core, const grpc::ServerContextBase& ctx, std::string name,
                   config::api_role role, const nlohmann::json& arguments)
    : core_(core), ctx_(ctx), name_(std::move(name)), role_(role), audited_(true),
      arguments_(audit_arguments(arguments)), config_(core.config()) {}

grpc::Status api_call::authorize() {
  if (auto st = core_.authorize(ctx_, role_, name_, who_); !st.ok())
    return refuse(st);
  // Cluster mode: only the replica that may act changes anything. Reload is
  // each replica's own (it re-reads its own file); reads are never refused.
  if (audited_ && name_ != "Reload" && !replica_local_) {
    const auto& authority = core_.authority();
    if (!authority.may_act())
      return refuse({grpc::StatusCode::UNAVAILABLE, not_leader_message(authority.view())});
  }
  return grpc::Status::OK;
}

grpc::Status api_call::record(const std::string& result) {
  const bool anonymous = who_.name.empty();
  audit_record a{
      0,     anonymous ? "(anonymous)" : who_.name,  anonymous ? "" : config::to_string(who_.role),
      name_, anonymous ? std::string{} : arguments_, clip(result, audit_result_bytes),
      0};
  auto id = ask<std::int64_t>(peer::store, std::move(a));
  if (!id)
    return {grpc::StatusCode::UNAVAILABLE,
            "the audit trail cannot be written, so nothing was done: " + describe(id.error())};
  return grpc::Status::OK;
}

grpc::Status api_call::refuse(const grpc::Status& st) {
  if (!audited_)
    return st;
  auto address = peer_address(ctx_.peer());
  auto admitted = core_.refusals_.admit(address, refusal_limiter::clock::now());
  if (!admitted.record) {
    core_.audit_left_out_.inc();
    if (admitted.first_left_out)
      spdlog::warn("api: too many refused calls from {}: their audit rows are counted, not "
                   "written, until the rate falls",
                   address);
    return st;
  }
  // Clipped here so that the notes after it survive the row's own clip.
  auto text = fmt::format("{}: {}", grpc_status_name(st.error_code()),
                          clip(st.error_message(), audit_result_bytes / 2));
  if (who_.name.empty())
    text += fmt::format(" (from {})", address);
  if (admitted.left_out > 0)
    text += fmt::format(" [{} earlier refused calls from {} not recorded: rate limit]",
                        admitted.left_out, address);
  if (auto written = record(text); !written.ok())
    return written;
  return st;
}

grpc::Status api_call::hold(concurrency_limit& limit, concurrency_limit::slot& slot) {
  slot = limit.acquire(who_.name);
  if (!slot.held())
    return refuse({grpc::StatusCode::RESOURCE_EXHAUSTED, slot.refusal()});
  return grpc::Status::OK;
}

grpc::Status api_call::requested(const std::string& what) {
  return audited_ ? record(what) : grpc::Status::OK;
}

grpc::Status api_call::finish(const grpc::Status& st) {
  if (!audited_)
    return st;
  auto text = fmt::format("{}: {}", grpc_status_name(st.error_code()), st.error_message());
  if (auto written = record(text); !written.ok())
    return written;
  return st;
}

void api_call::outcome(const std::string& text) {
  if (!audited_)
    return;
  if (auto written = record(text); !written.ok())
    spdlog::error("api: audit row for the outcome of {} by {} lost: {}", name_, who_.name,
                  written.error_message());
}

std::string unknown_service_message(const config::switchyard_config& cfg, const std::string& name) {
  std::string known;
  for (const auto& s : cfg.services)
    known += (known.empty() ? "" : ", ") + s.name;
  return fmt::format("no service named '{}' (configured: {})", quote(name), known);
}

grpc::Status check_site(const config::switchyard_config& cfg, const char* field,
                        const std::string& site) {
  if (site.empty())
    return {grpc::StatusCode::INVALID_ARGUMENT, fmt::format("{} is required", field)};
  std::string known;
  for (const auto& s : cfg.sites) {
    if (s.name == site)
      return grpc::Status::OK;
    known += (known.empty() ? "" : ", ") + s.name;
  }
  return {grpc::StatusCode::INVALID_ARGUMENT,
          fmt::format("no site named '{}' (configured: {})", quote(site),
                      known.empty() ? std::string{"none"} : known)};
}

grpc::Status check_sites(const config::switchyard_config& cfg, const std::string& from,
                         const std::string& to) {
  if (auto st = check_site(cfg, "from_site", from); !st.ok())
    return st;
  if (auto st = check_site(cfg, "to_site", to); !st.ok())
    return st;
  if (from == to)
    return {
        grpc::StatusCode::INVALID_ARGUMENT,
        fmt::format("from_site and to_site are both '{}': name two different sites", quote(from))};
  return grpc::Status::OK;
}

grpc::Status check_service_filter(const config::switchyard_config& cfg, const std::string& svc) {
  if (svc.empty() || cfg.find_service(svc) != nullptr)
    return grpc::Status::OK;
  return {grpc::StatusCode::NOT_FOUND, unknown_service_message(cfg, svc)};
}

grpc::Status check_target(const config::switchyard_config& cfg, const std::string& svc,
                          const std::string& instance) {
  if (svc.empty())
    return {grpc::StatusCode::INVALID_ARGUMENT, "service is required"};
  const auto* settings = cfg.find_service(svc);
  if (settings == nullptr)
    return {grpc::StatusCode::NOT_FOUND, unknown_service_message(cfg, svc)};
  if (instance.empty())
    return grpc::Status::OK;
  std::string known;
  for (const auto& i : settings->instances) {
    if (i.name == instance)
      return grpc::Status::OK;
    known += (known.empty() ? "" : ", ") + i.name;
  }
  return {grpc::StatusCode::NOT_FOUND,
          fmt::format("service '{}' has no instance '{}' (instances: {})", quote(svc),
                      quote(instance), known)};
}

} // namespace switchyard::actors

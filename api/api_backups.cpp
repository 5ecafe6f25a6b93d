// Backups over the API: the policies and the catalog (viewer), a backup, a
// verification and a restore now (operator, audited, each one a long call),
// and 3-2-1/RPO compliance.
#include <caf/all.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/api_limits.hpp"
#include "api/api_service.hpp"
#include "messages/interfaces.hpp"

namespace switchyard::actors {

namespace {

// A backup or a restore takes as long as its I/O; a terabyte takes a while.
constexpr auto backup_timeout = std::chrono::seconds(6 * 3600);

void fill(pb::Backup& out, const backup_record& b) {
  out.set_id(b.id);
  out.set_service(b.service);
  out.set_policy(b.policy);
  out.set_tier(b.tier);
  out.set_destination(b.destination);
  out.set_site(b.site);
  out.set_medium(b.medium);
  out.set_kind(to_string(b.kind));
  out.set_parent(b.parent);
  out.set_artifact(b.artifact);
  out.set_status(to_string(b.status));
  out.set_error(b.error);
  out.set_source(b.source);
  out.set_trigger(b.trigger);
  out.set_raw_bytes(b.raw_bytes);
  out.set_stored_bytes(b.stored_bytes);
  out.set_sha256(b.sha256);
  out.set_started_ms(b.started_ms);
  out.set_finished_ms(b.finished_ms);
  out.set_point_ms(b.point_ms);
  out.set_verified_ms(b.verified_ms);
  out.set_leader_epoch(b.leader_epoch);
  out.set_origin(b.origin);
}

void fill(pb::BackupOutcome& out, const backup_outcome& o) {
  out.set_ok(o.ok);
  out.set_detail(o.detail);
  out.set_tier(o.tier);
  for (const auto& b : o.used)
    fill(*out.add_used(), b);
  for (const auto& l : o.lines)
    out.add_lines(l);
}

// A service with a policy, or switchyardd's own state.
grpc::Status check_backed_up(const config::switchyard_config& cfg, const std::string& service) {
  if (service.empty())
    return {grpc::StatusCode::INVALID_ARGUMENT,
            fmt::format("service is required (or {} for switchyardd's own state)",
                        state_backup_service)};
  if (service == state_backup_service)
    return cfg.backups.state_policy.empty()
               ? grpc::Status{grpc::StatusCode::FAILED_PRECONDITION,
                              "switchyardd's state has no backup policy (backups.state.policy)"}
               : grpc::Status::OK;
  if (auto st = check_target(cfg, service, ""); !st.ok())
    return st;
  if (!cfg.find_service(service)->backup)
    return {grpc::StatusCode::FAILED_PRECONDITION,
            fmt::format("service '{}' has no backup policy (services[].backup)", service)};
  return grpc::Status::OK;
}

// The answer of a verification or a restore: its outcome, audited; one that
// ran but did not succeed ends with `failure` and its detail.
grpc::Status answer(api_call& call, caf::expected<backup_outcome> outcome, pb::BackupOutcome& out,
                    grpc::StatusCode failure) {
  if (!outcome)
    return call.fail(outcome.error());
  fill(out, *outcome);
  if (!outcome->ok)
    return call.finish({failure, outcome->detail});
  call.outcome(outcome->detail);
  return grpc::Status::OK;
}

// The start every backup mutation shares: switchyardd's own state is each
// replica's (any replica may back it up), then the token and role, then a
// place among the long calls (api.max_long_calls).
grpc::Status admit(api_call& call, const std::string& service, concurrency_limit& long_calls,
                   concurrency_limit::slot& slot) {
  if (service == state_backup_service)
    call.on_this_replica();
  if (auto st = call.authorize(); !st.ok())
    return st;
  return call.hold(long_calls, slot);
}

} // namespace

grpc::Status api_gateway::service::GetBackupPolicies(grpc::ServerContext* ctx,
                                                     const pb::GetBackupPoliciesRequest*,
                                                     pb::GetBackupPoliciesResponse* out) {
  api_call call{core_, *ctx, "GetBackupPolicies", config::api_role::viewer};
  if (auto st = call.authorize(); !st.ok())
    return st;
  const auto& cfg = call.config();
  for (const auto& p : cfg.backups.policies) {
    auto* policy = out->add_policies();
    policy->set_name(p.name);
    policy->set_compression_level(p.compression_level);
    policy->set_verify_every_ms(p.verify_every.count());
    for (const auto& t : p.tiers) {
      auto* tier = policy->add_tiers();
      tier->set_name(t.name);
      tier->set_destination(t.destination.is_directory() ? "dir " + t.destination.path : "exec");
      tier->set_site(t.site);
      tier->set_medium(t.medium);
      tier->set_every_ms(t.every.count());
      tier->set_full_every(t.full_every);
      tier->set_keep(t.keep);
      tier->set_keep_for_ms(t.keep_for.count());
    }
    if (cfg.backups.state_policy == p.name)
      policy->add_used_by(state_backup_service);
    for (const auto& svc : cfg.services)
      if (svc.backup && svc.backup->policy == p.name)
        policy->add_used_by(svc.name);
  }
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::ListBackups(grpc::ServerContext* ctx,
                                               const pb::ListBackupsRequest* req,
                                               pb::ListBackupsResponse* out) {
  api_call call{core_, *ctx, "ListBackups", config::api_role::viewer};
  if (auto st = call.authorize(); !st.ok())
    return st;
  if (req->service() != state_backup_service)
    if (auto st = check_service_filter(call.config(), req->service()); !st.ok())
      return st;
  auto rows = call.ask<backup_list>(peer::store, backups_query{req->service(), req->id()});
  if (!rows)
    return call.fail(rows.error());
  if (req->id() > 0 && rows->empty())
    return {grpc::StatusCode::NOT_FOUND, fmt::format("no backup #{}", req->id())};
  for (const auto& b : *rows)
    fill(*out->add_backups(), b);
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::CreateBackup(grpc::ServerContext* ctx,
                                                const pb::CreateBackupRequest* req,
                                                pb::ListBackupsResponse* out) {
  nlohmann::json args{{"service", req->service()}, {"tier", req->tier()}, {"full", req->full()}};
  api_call call{core_, *ctx, "CreateBackup", config::api_role::operator_, args};
  concurrency_limit::slot long_call;
  if (auto st = admit(call, req->service(), long_calls_, long_call); !st.ok())
    return st;
  if (auto st = check_backed_up(call.config(), req->service()); !st.ok())
    return call.refuse(st);
  if (auto st = call.requested("requested"); !st.ok())
    return st;
  auto taken = call.ask_within<backup_list>(
      peer::backups, backup_timeout,
      backup_create_request{req->service(), req->tier(), req->full(), call.who().name});
  if (!taken)
    return call.fail(taken.error());
  std::string summary;
  bool all = true;
  for (const auto& b : *taken) {
    fill(*out->add_backups(), b);
    all = all && b.status == backup_status::complete;
    summary += fmt::format("{}#{} {} {} {}", summary.empty() ? "" : ", ", b.id, b.tier,
                           to_string(b.kind), to_string(b.status));
  }
  if (!all)
    return call.finish({grpc::StatusCode::ABORTED, "not every backup was taken: " + summary});
  call.outcome("taken: " + summary);
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::VerifyBackup(grpc::ServerContext* ctx,
                                                const pb::VerifyBackupRequest* req,
                                                pb::BackupOutcome* out) {
  nlohmann::json args{{"service", req->service()}, {"id", req->id()}};
  api_call call{core_, *ctx, "VerifyBackup", config::api_role::operator_, args};
  concurrency_limit::slot long_call;
  if (auto st = admit(call, req->service(), long_calls_, long_call); !st.ok())
    return st;
  if (req->id() == 0)
    if (auto st = check_backed_up(call.config(), req->service()); !st.ok())
      return call.refuse(st);
  if (auto st = call.requested("requested"); !st.ok())
    return st;
  return answer(call,
                call.ask_within<backup_outcome>(
                    peer::backups, backup_timeout,
                    backup_verify_request{req->service(), req->id(), call.who().name}),
                *out, grpc::StatusCode::DATA_LOSS);
}

grpc::Status api_gateway::service::RestoreBackup(grpc::ServerContext* ctx,
                                                 const pb::RestoreBackupRequest* req,
                                                 pb::BackupOutcome* out) {
  nlohmann::json prefer = nlohmann::json::array();
  for (const auto& p : req->prefer())
    prefer.push_back(p);
  nlohmann::json args{{"service", req->service()}, {"at_ms", req->at_ms()}, {"prefer", prefer},
                      {"target", req->target()},   {"force", req->force()}, {"id", req->id()}};
  api_call call{core_, *ctx, "RestoreBackup", config::api_role::operator_, args};
  concurrency_limit::slot long_call;
  if (auto st = admit(call, req->service(), long_calls_, long_call); !st.ok())
    return st;
  if (auto st = check_backed_up(call.config(), req->service()); !st.ok())
    return call.refuse(st);
  if (req->target().empty() || req->target().front() != '/')
    return call.refuse({grpc::StatusCode::INVALID_ARGUMENT,
                        "target must be an absolute path on switchyardd's host"});
  if (auto st = call.requested("requested"); !st.ok())
    return st;
  backup_restore_request msg;
  msg.service = req->service();
  msg.at_ms = req->at_ms();
  msg.prefer.assign(req->prefer().begin(), req->prefer().end());
  msg.target = req->target();
  msg.force = req->force();
  msg.id = req->id();
  msg.principal = call.who().name;
  return answer(call,
                call.ask_within<backup_outcome>(peer::backups, backup_timeout, std::move(msg)),
                *out, grpc::StatusCode::FAILED_PRECONDITION);
}

grpc::Status api_gateway::service::GetBackupCompliance(grpc::ServerContext* ctx,
                                                       const pb::GetBackupComplianceRequest* req,
                                                       pb::GetBackupComplianceResponse* out) {
  api_call call{core_, *ctx, "GetBackupCompliance", config::api_role::viewer};
  if (auto st = call.authorize(); !st.ok())
    return st;
  if (!req->service().empty())
    if (auto st = check_backed_up(call.config(), req->service()); !st.ok())
      return st;
  auto rows =
      call.ask<backup_compliance_list>(peer::backups, backup_compliance_query{req->service()});
  if (!rows)
    return call.fail(rows.error());
  for (const auto& r : *rows) {
    auto* c = out->add_services();
    c->set_service(r.service);
    c->set_policy(r.policy);
    c->set_copies(r.copies);
    c->set_media(r.media);
    c->set_offsite(r.offsite);
    c->set_meets_3_2_1(r.meets_3_2_1);
    c->set_newest_verified_ms(r.newest_verified_ms);
    c->set_age_ms(r.age_ms);
    c->set_rpo_ms(r.rpo_ms);
    c->set_rpo_met(r.rpo_met);
    for (const auto& g : r.gaps)
      c->add_gaps(g);
  }
  return grpc::Status::OK;
}

} // namespace switchyard::actors

// Sites and drills: an assessment and the list of site switchovers and
// drills (viewer), a site switchover and a drill (operator, audited).
#include <caf/all.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/api_service.hpp"
#include "messages/interfaces.hpp"
#include "persistence/sqlite_store.hpp"
#include "renderers/site_report.hpp"

namespace switchyard::actors {

namespace {

// A site switchover runs every level's switchovers one after the other, then
// verifies; a drill does that twice (there and back).
constexpr auto site_timeout = std::chrono::seconds(3600);
constexpr auto drill_timeout = std::chrono::seconds(7200);
// An assessment reads every participant's replication position (actions).
constexpr auto assess_timeout = std::chrono::seconds(120);

// How long the last drill of every service is served from memory. A drill
// run through this API is shown at once; one finished otherwise (a drill
// resumed after a restart) within this long.
constexpr auto drill_cache_ttl = std::chrono::seconds(2);

void fill(pb::VerificationCheck& out, const verification_check& c) {
  out.set_name(c.name);
  out.set_ok(c.ok);
  out.set_detail(c.detail);
}

void fill(pb::SiteRecord& out, const site_record& r) {
  out.set_id(r.id);
  out.set_operation(to_string(r.operation));
  out.set_from_site(r.from_site);
  out.set_to_site(r.to_site);
  out.set_state(to_string(r.state));
  out.set_principal(r.principal);
  out.set_reason(r.reason);
  out.set_drill_id(r.drill);
  out.set_started_ms(r.started_ms);
  out.set_decided_ms(r.decided_ms);
  out.set_finished_ms(r.finished_ms);
  out.set_parallelism(r.parallelism);
  out.set_estimated_rto_ms(r.estimated_rto_ms);
  for (const auto& b : r.blockers)
    out.add_blockers(b);
  for (const auto& u : r.untouched)
    out.add_untouched(u);
  out.set_detail(r.detail);
  for (const auto& p : r.participants) {
    auto* o = out.add_participants();
    o->set_service(p.service.value);
    o->set_from_instance(p.from.value);
    o->set_to_instance(p.to.value);
    o->set_level(p.level);
    o->set_state(to_string(p.state));
    o->set_switchover_id(p.switchover.value);
    o->set_estimated_ms(p.estimated_ms);
    o->set_rto_ms(p.rto_ms);
    o->set_rpo_ms(p.rpo_ms);
    o->set_gap(p.gap);
    o->set_blocker(p.blocker);
    o->set_detail(p.detail);
    o->set_prepared_ms(p.prepared_ms);
    o->set_commit_started_ms(p.commit_started_ms);
    o->set_commit_finished_ms(p.commit_finished_ms);
    o->set_verified_ms(p.verified_ms);
    o->set_verified(p.verified);
    for (const auto& c : p.checks)
      fill(*o->add_checks(), c);
  }
  out.set_text(renderers::site_record_text(r));
}

// `full`: also the Markdown and JSON renderings (one report, not a list).
void fill(pb::DrillReport& out, const drill_report& r, bool full) {
  out.set_id(r.id);
  out.set_from_site(r.from_site);
  out.set_to_site(r.to_site);
  out.set_principal(r.principal);
  out.set_failback(r.failback);
  out.set_passed(r.passed);
  out.set_started_ms(r.started_ms);
  out.set_finished_ms(r.finished_ms);
  out.set_rto_ms(r.rto_ms);
  out.set_switchover_id(r.switchover);
  out.set_failback_switchover_id(r.failback_switchover);
  out.set_topology_restored(r.topology_restored);
  out.set_detail(r.detail);
  for (const auto& s : r.services) {
    auto* o = out.add_services();
    o->set_service(s.service.value);
    o->set_passed(s.passed);
    o->set_rto_ms(s.rto_ms);
    o->set_rto_objective_ms(s.rto_objective_ms);
    o->set_rpo(s.rpo);
    o->set_rpo_objective_ms(s.rpo_objective_ms);
    o->set_detail(s.detail);
    for (const auto& st : s.steps) {
      auto* step = o->add_steps();
      step->set_name(st.name);
      step->set_phase(st.phase);
      step->set_ok(st.ok);
      step->set_duration_ms(st.duration_ms);
    }
    for (const auto& c : s.checks)
      fill(*o->add_checks(), c);
  }
  if (full) {
    out.set_markdown(renderers::drill_report_markdown(r));
    out.set_json(persistence::drill_report_to_json(r));
  }
}

} // namespace

grpc::Status api_gateway::service::AssessSite(grpc::ServerContext* ctx,
                                              const pb::AssessSiteRequest* req,
                                              pb::SiteRecord* out) {
  api_call call{core_, *ctx, "AssessSite", config::api_role::viewer};
  if (auto st = call.authorize(); !st.ok())
    return st;
  if (auto st = check_sites(call.config(), req->from_site(), req->to_site()); !st.ok())
    return call.refuse(st);
  site_request msg{req->from_site(),          req->to_site(), call.who().name, "", true,
                   site_operation::switchover};
  auto reply = call.ask_within<site_record>(peer::site, assess_timeout, std::move(msg));
  if (!reply)
    return call.fail(reply.error());
  fill(*out, *reply);
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::SiteSwitchover(grpc::ServerContext* ctx,
                                                  const pb::SiteSwitchoverRequest* req,
                                                  pb::SiteRecord* out) {
  nlohmann::json args{
      {"from_site", req->from_site()}, {"to_site", req->to_site()},
      {"reason", req->reason()},       {"dry_run", req->dry_run()},
      {"failback", req->failback()},   {"accept_divergence", req->accept_divergence()}};
  api_call call{core_, *ctx, "SiteSwitchover", config::api_role::operator_, args};
  if (auto st = call.authorize(); !st.ok())
    return st;
  concurrency_limit::slot long_call;
  if (auto st = call.hold(long_calls_, long_call); !st.ok()) // api.max_long_calls
    return st;
  if (auto st = check_sites(call.config(), req->from_site(), req->to_site()); !st.ok())
    return call.refuse(st);
  // Written before anything happens: no audit, no site switchover.
  if (auto st = call.requested(req->dry_run() ? "dry run requested" : "requested"); !st.ok())
    return st;
  site_request msg{req->from_site(),
                   req->to_site(),
                   call.who().name,
                   req->reason(),
                   req->dry_run(),
                   req->failback() ? site_operation::failback : site_operation::switchover,
                   req->accept_divergence()};
  auto reply = call.ask_within<site_record>(
      peer::site, req->dry_run() ? assess_timeout : site_timeout, std::move(msg));
  if (!reply)
    return call.fail(reply.error());
  fill(*out, *reply);
  if (!req->dry_run() && reply->id == 0) {
    // Refused before it began (blockers): nothing was changed.
    // The detail already lists the blockers when the procedure refused it.
    std::string why = reply->detail;
    if (why.empty())
      for (const auto& b : reply->blockers)
        why += (why.empty() ? "" : "; ") + b;
    return call.finish({grpc::StatusCode::FAILED_PRECONDITION,
                        "the site switchover cannot run now: " +
                            (why.empty() ? std::string{"no reason given"} : why)});
  }
  // It already happened: a lost outcome row cannot undo it, but must be seen.
  call.outcome(req->dry_run()
                   ? fmt::format("dry run: {} services, {} blockers", reply->participants.size(),
                                 reply->blockers.size())
                   : fmt::format("{}: site switchover #{}{}", to_string(reply->state), reply->id,
                                 reply->detail.empty() ? "" : ": " + reply->detail));
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::ListSiteSwitchovers(grpc::ServerContext* ctx,
                                                       const pb::ListSiteSwitchoversRequest* req,
                                                       pb::ListSiteSwitchoversResponse* out) {
  api_call call{core_, *ctx, "ListSiteSwitchovers", config::api_role::viewer};
  if (auto st = call.authorize(); !st.ok())
    return st;
  auto rows = call.ask<site_record_list>(
      peer::store, site_query{0, req->limit() == 0 ? 20 : req->limit(), false});
  if (!rows)
    return call.fail(rows.error());
  for (const auto& r : *rows)
    fill(*out->add_site_switchovers(), r);
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::GetSiteSwitchover(grpc::ServerContext* ctx,
                                                     const pb::GetSiteSwitchoverRequest* req,
                                                     pb::SiteRecord* out) {
  api_call call{core_, *ctx, "GetSiteSwitchover", config::api_role::viewer};
  if (auto st = call.authorize(); !st.ok())
    return st;
  if (req->id() <= 0)
    return call.refuse(
        {grpc::StatusCode::INVALID_ARGUMENT, "id must be a positive site switchover id"});
  auto rows = call.ask<site_record_list>(peer::store, site_query{req->id(), 1, false});
  if (!rows)
    return call.fail(rows.error());
  if (rows->empty() || rows->front().id != req->id())
    return call.refuse(
        {grpc::StatusCode::NOT_FOUND, fmt::format("no site switchover #{}", req->id())});
  fill(*out, rows->front());
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::Drill(grpc::ServerContext* ctx, const pb::DrillRequest* req,
                                         pb::DrillReport* out) {
  nlohmann::json args{{"site", req->site()},
                      {"no_failback", req->no_failback()},
                      {"reason", req->reason()},
                      {"restore_backups", req->restore_backups()}};
  api_call call{core_, *ctx, "Drill", config::api_role::operator_, args};
  if (auto st = call.authorize(); !st.ok())
    return st;
  concurrency_limit::slot long_call;
  if (auto st = call.hold(long_calls_, long_call); !st.ok()) // api.max_long_calls
    return st;
  if (auto st = check_site(call.config(), "site", req->site()); !st.ok())
    return call.refuse(st);
  if (auto st = call.requested("requested"); !st.ok())
    return st;
  drill_request msg{req->site(), !req->no_failback(), call.who().name, req->reason(),
                    req->restore_backups()};
  auto reply = call.ask_within<drill_report>(peer::site, drill_timeout, std::move(msg));
  forget_drills(); // LAST DRILL shows this one at once
  if (!reply)
    return call.fail(reply.error());
  fill(*out, *reply, true);
  call.outcome(reply->id == 0
                   ? "not run: " + reply->detail
                   : fmt::format("{}: drill #{}{}", reply->passed ? "passed" : "failed", reply->id,
                                 reply->detail.empty() ? "" : ": " + reply->detail));
  if (reply->id == 0)
    return {grpc::StatusCode::FAILED_PRECONDITION,
            "the drill cannot run now: " +
                (reply->detail.empty() ? std::string{"no reason given"} : reply->detail)};
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::ListDrills(grpc::ServerContext* ctx,
                                              const pb::ListDrillsRequest* req,
                                              pb::ListDrillsResponse* out) {
  api_call call{core_, *ctx, "ListDrills", config::api_role::viewer};
  if (auto st = call.authorize(); !st.ok())
    return st;
  auto rows = call.ask<drill_report_list>(peer::store,
                                          drill_query{0, req->limit() == 0 ? 20 : req->limit()});
  if (!rows)
    return call.fail(rows.error());
  for (const auto& r : *rows)
    fill(*out->add_drills(), r, false);
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::GetDrillReport(grpc::ServerContext* ctx,
                                                  const pb::GetDrillReportRequest* req,
                                                  pb::DrillReport* out) {
  api_call call{core_, *ctx, "GetDrillReport", config::api_role::viewer};
  if (auto st = call.authorize(); !st.ok())
    return st;
  if (req->id() <= 0)
    return call.refuse({grpc::StatusCode::INVALID_ARGUMENT, "id must be a positive drill id"});
  auto rows = call.ask<drill_report_list>(peer::store, drill_query{req->id(), 1});
  if (!rows)
    return call.fail(rows.error());
  if (rows->empty() || rows->front().id != req->id())
    return call.refuse({grpc::StatusCode::NOT_FOUND, fmt::format("no drill #{}", req->id())});
  fill(*out, rows->front(), true);
  return grpc::Status::OK;
}

std::shared_ptr<const drill_index> api_gateway::service::last_drills() {
  auto now = std::chrono::steady_clock::now();
  std::uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> guard{drills_mutex_};
    if (drills_ && now - drills_loaded_ < drill_cache_ttl)
      return drills_;
    generation = drills_generation_;
  }
  auto drills = core_.ask_within<service_drill_list>(peer::store, actor_timeout, drill_atom::value);
  if (!drills) {
    spdlog::warn("api: last drills unavailable: {}", describe(drills.error()));
    return nullptr;
  }
  auto index = std::make_shared<drill_index>();
  for (auto& d : *drills)
    (*index)[d.service.value] = std::move(d);
  std::lock_guard<std::mutex> guard{drills_mutex_};
  // A drill that ended while the store was being read makes this answer
  // old news: use it for this call, do not keep it.
  if (generation == drills_generation_) {
    drills_ = index;
    drills_loaded_ = now;
  }
  return index;
}

void api_gateway::service::forget_drills() {
  std::lock_guard<std::mutex> guard{drills_mutex_};
  drills_.reset();
  ++drills_generation_;
}

} // namespace switchyard::actors

// The reads of the API (viewer; ListAudit: admin): status, cluster, services,
// switchovers, the audit trail, plans and availability.
#include <ctime>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/event_hub.hpp"
#include "api/api_limits.hpp"
#include "api/api_service.hpp"
#include "messages/interfaces.hpp"
#include "renderers/plan_export.hpp"

namespace switchyard::actors {

namespace {

constexpr const char* version = "0.1.0";

// ISO-8601 UTC, second precision: the export's "generated at".
std::string utc_now() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void fill(pb::Instance& out, const config::instance_settings& in, health_status health,
          bool primary, bool in_maintenance) {
  out.set_name(in.name);
  out.set_address(fmt::format("{}:{}", in.host, in.port));
  out.set_site(in.site);
  out.set_configured_role(config::to_string(in.role));
  out.set_priority(in.priority);
  out.set_health(to_string(health));
  out.set_primary(primary);
  out.set_in_maintenance(in_maintenance);
}

void fill(pb::Service& out, const service_state& s, const config::service_settings* settings) {
  out.set_name(s.service.value);
  out.set_primary(s.primary.value);
  out.set_epoch(s.current_epoch.value);
  out.set_failover_in_flight(s.failover_in_flight);
  out.set_in_block_period(s.in_block_period);
  out.set_last_decision(s.last_decision);
  out.set_shadow(s.shadow);
  out.set_tilt(s.tilt);
  out.set_ready(s.ready);
  for (const auto& why : s.not_ready)
    out.add_not_ready(why);
  out.set_readiness_checked_ms(s.readiness_checked_ms);
  for (const auto& m : s.maintenance) {
    auto* w = out.add_maintenance();
    w->set_instance(m.instance.value);
    w->set_reason(m.reason);
    w->set_principal(m.principal);
    w->set_since_ms(m.since_ms);
    w->set_until_ms(m.until_ms);
  }
  if (settings == nullptr)
    return;
  out.set_rejoin(config::describe_rejoin(*settings));
  for (const auto& inst : settings->instances) {
    auto health = health_status::unknown;
    for (const auto& h : s.instances)
      if (h.instance.value == inst.name)
        health = h.status;
    bool in_maintenance = false;
    for (const auto& m : s.maintenance)
      in_maintenance = in_maintenance || m.instance.value == inst.name;
    fill(*out.add_instances(), inst, health, inst.name == s.primary.value, in_maintenance);
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
  out.set_leader_epoch(s.leader_epoch);
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
  out.set_leader_epoch(s.leader_epoch);
}

// A service's last drill (null: never drilled) and whether one is due.
struct drill_status {
  const service_drill* last = nullptr;
  bool overdue = true;
};

drill_status drill_status_of(const drill_index& drills, const std::string& service,
                             std::int64_t interval_ms, std::int64_t now_ms) {
  drill_status st;
  if (auto d = drills.find(service); d != drills.end() && d->second.drill != 0) {
    st.last = &d->second;
    st.overdue = now_ms - d->second.finished_ms > interval_ms;
  }
  return st;
}

// The service's last drill and whether one is due.
void fill_drill(pb::Service& out, const drill_index& drills, std::int64_t interval_ms,
                std::int64_t now_ms) {
  auto st = drill_status_of(drills, out.name(), interval_ms, now_ms);
  if (st.last != nullptr) {
    out.set_last_drill_id(st.last->drill);
    out.set_last_drill_ms(st.last->finished_ms);
    out.set_last_drill_passed(st.last->passed);
  }
  out.set_drill_overdue(st.overdue);
}

} // namespace

grpc::Status api_gateway::service::GetStatus(grpc::ServerContext* ctx, const pb::GetStatusRequest*,
                                             pb::Status* out) {
  api_call call{core_, *ctx, "GetStatus", config::api_role::viewer};
  if (auto st = call.authorize(); !st.ok())
    return st;
  const auto& cfg = call.config();
  // Counts only: the full service_state_list would cost the coordinator
  // (the core) readiness checks and copies of every service on each call.
  auto summary = call.ask<fleet_summary>(peer::coordinator, summary_atom::value);
  if (!summary)
    return call.fail(summary.error());
  out->set_version(version);
  out->set_uptime_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - started_)
                         .count());
  // A single switchyardd always leads; a replica of a cluster as it last confirmed (GetCluster).
  out->set_role(core_.authority().view().leader ? "leader" : "follower");
  out->set_database_path(cfg.database_path());
  out->set_config_file(cfg.source_file);
  out->set_services(summary->services);
  out->set_instances(summary->instances);
  out->set_healthy_instances(summary->healthy_instances);
  out->set_failovers_in_flight(summary->failovers_in_flight);
  for (const auto& u : summary->unjournaled)
    out->add_unjournaled_failures(u);
  if (auto drills = last_drills()) {
    std::int32_t overdue = 0;
    const auto interval = cfg.orchestrator.site_switchover.drill_interval.count();
    const auto now = wall_clock_ms();
    for (const auto& settings : cfg.services) {
      auto st = drill_status_of(*drills, settings.name, interval, now);
      overdue += st.overdue ? 1 : 0;
      if (st.last != nullptr && st.last->finished_ms > out->last_drill_ms()) {
        out->set_last_drill_id(st.last->drill);
        out->set_last_drill_ms(st.last->finished_ms);
      }
    }
    out->set_drills_overdue(overdue);
  }
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::GetCluster(grpc::ServerContext* ctx,
                                              const pb::GetClusterRequest*,
                                              pb::ClusterStatus* out) {
  api_call call{core_, *ctx, "GetCluster", config::api_role::viewer};
  if (auto st = call.authorize(); !st.ok())
    return st;
  const auto view = core_.authority().view(); // cheap: no actor asked
  out->set_clustered(view.clustered);
  out->set_member(view.member);
  for (const auto& m : view.members)
    out->add_members(m);
  for (const auto& e : view.endpoints)
    out->add_endpoints(e);
  out->set_leader(view.leader);
  out->set_may_act(view.may_act);
  out->set_leader_id(view.leader_id);
  out->set_leader_address(view.leader_address);
  out->set_epoch(view.epoch);
  out->set_lease_remaining_ms(view.lease_remaining_ms);
  out->set_lease_ttl_ms(view.lease_ttl_ms);
  out->set_quorum(static_cast<std::uint32_t>(view.quorum));
  out->set_reason(view.reason);
  for (const auto& v : view.votes) {
    auto* vote = out->add_votes();
    vote->set_member(v.member);
    vote->set_service(v.service);
    vote->set_primary(v.primary);
    vote->set_down(v.down);
    vote->set_at_ms(v.at_ms);
  }
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::ListServices(grpc::ServerContext* ctx,
                                                const pb::ListServicesRequest*,
                                                pb::ListServicesResponse* out) {
  api_call call{core_, *ctx, "ListServices", config::api_role::viewer};
  if (auto st = call.authorize(); !st.ok())
    return st;
  const auto& cfg = call.config();
  auto states = call.ask<service_state_list>(peer::coordinator, get_state_atom::value);
  if (!states)
    return call.fail(states.error());
  auto drills = last_drills();
  for (const auto& s : *states) {
    auto* svc = out->add_services();
    fill(*svc, s, cfg.find_service(s.service.value));
    if (drills)
      fill_drill(*svc, *drills, cfg.orchestrator.site_switchover.drill_interval.count(),
                 wall_clock_ms());
  }
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::GetService(grpc::ServerContext* ctx,
                                              const pb::GetServiceRequest* req,
                                              pb::ServiceDetail* out) {
  api_call call{core_, *ctx, "GetService", config::api_role::viewer};
  if (auto st = call.authorize(); !st.ok())
    return st;
  const auto& cfg = call.config();
  if (req->name().empty())
    return call.refuse({grpc::StatusCode::INVALID_ARGUMENT, "name is required"});
  const auto* settings = cfg.find_service(req->name());
  if (settings == nullptr)
    return call.refuse({grpc::StatusCode::NOT_FOUND, unknown_service_message(cfg, req->name())});
  auto states = call.ask<service_state_list>(peer::coordinator, get_state_atom::value);
  if (!states)
    return call.fail(states.error());
  auto drills = last_drills();
  for (const auto& s : *states)
    if (s.service.value == req->name()) {
      fill(*out->mutable_service(), s, settings);
      if (drills)
        fill_drill(*out->mutable_service(), *drills,
                   cfg.orchestrator.site_switchover.drill_interval.count(), wall_clock_ms());
    }
  auto detections = call.ask<detection_record_list>(peer::store, detections_query{req->name(), 10});
  if (!detections)
    return call.fail(detections.error());
  for (const auto& d : *detections)
    fill(*out->add_recent_detections(), d);
  auto plan = call.ask<plan_record>(peer::store, plan_atom::value, service_id{req->name()});
  if (!plan)
    return call.fail(plan.error());
  out->set_plan_version(plan->version);
  out->set_plan_json(plan->json);
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::ListSwitchovers(grpc::ServerContext* ctx,
                                                   const pb::ListSwitchoversRequest* req,
                                                   pb::ListSwitchoversResponse* out) {
  api_call call{core_, *ctx, "ListSwitchovers", config::api_role::viewer};
  if (auto st = call.authorize(); !st.ok())
    return st;
  if (auto st = check_service_filter(call.config(), req->service()); !st.ok())
    return call.refuse(st);
  auto rows = call.ask<switchover_record_list>(
      peer::store, switchovers_query{req->service(), req->limit() == 0 ? 50 : req->limit()});
  if (!rows)
    return call.fail(rows.error());
  for (const auto& r : *rows)
    fill(*out->add_switchovers(), r);
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::GetSwitchover(grpc::ServerContext* ctx,
                                                 const pb::GetSwitchoverRequest* req,
                                                 pb::Switchover* out) {
  api_call call{core_, *ctx, "GetSwitchover", config::api_role::viewer};
  if (auto st = call.authorize(); !st.ok())
    return st;
  if (req->id() <= 0)
    return call.refuse({grpc::StatusCode::INVALID_ARGUMENT, "id must be a positive switchover id"});
  auto detail = call.ask<switchover_detail>(peer::store, switchover_id{req->id()});
  if (!detail)
    return call.fail(detail.error());
  fill(*out, detail->switchover);
  for (const auto& s : detail->steps)
    fill(*out->add_steps(), s);
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::ListAudit(grpc::ServerContext* ctx,
                                             const pb::ListAuditRequest* req,
                                             pb::ListAuditResponse* out) {
  api_call call{core_, *ctx, "ListAudit", config::api_role::admin};
  if (auto st = call.authorize(); !st.ok())
    return st;
  auto rows =
      call.ask<audit_record_list>(peer::store, audit_query{req->limit() == 0 ? 100 : req->limit()});
  if (!rows)
    return call.fail(rows.error());
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

grpc::Status api_gateway::service::ExportPlans(grpc::ServerContext* ctx,
                                               const pb::ExportPlansRequest* req,
                                               pb::ExportPlansResponse* out) {
  api_call call{core_, *ctx, "ExportPlans", config::api_role::viewer};
  if (auto st = call.authorize(); !st.ok())
    return st;
  const auto& cfg = call.config();
  auto format = renderers::parse_export_format(req->format().empty() ? "json" : req->format());
  if (!format)
    return call.refuse(
        {grpc::StatusCode::INVALID_ARGUMENT,
         fmt::format("format '{}' is not one of json, yaml, markdown, dot", quote(req->format()))});
  if (auto st = check_service_filter(cfg, req->service()); !st.ok())
    return call.refuse(st);
  auto plans =
      call.ask<exported_plan_list>(peer::coordinator, plan_atom::value, service_id{req->service()});
  if (!plans)
    return call.fail(plans.error());
  std::vector<renderers::plan_export_entry> entries;
  for (auto& p : *plans) {
    renderers::plan_export_entry e;
    e.service = cfg.find_service(p.service.value);
    if (e.service == nullptr)
      continue;
    e.current_primary = p.primary.value;
    e.epoch = p.current_epoch.value;
    for (const auto& h : p.instances)
      e.health[h.instance.value] = h.status;
    if (p.has_plan)
      e.plan = std::move(p.plan);
    e.note = std::move(p.note);
    entries.push_back(std::move(e));
  }
  // Each service's backups as measured (best effort: the plans are worth
  // exporting without them).
  if (auto rows = call.ask<backup_compliance_list>(peer::backups, backup_compliance_query{}))
    for (auto& e : entries)
      for (const auto& r : *rows)
        if (r.service == e.service->name)
          e.backups = r;
  out->set_format(renderers::to_string(*format));
  renderers::plan_export_context context;
  context.sites = cfg.sites;
  context.parallelism = cfg.orchestrator.site_switchover.parallelism;
  out->set_content(renderers::render_plans(entries, *format, utc_now(), context));
  return grpc::Status::OK;
}

grpc::Status api_gateway::service::GetAvailability(grpc::ServerContext* ctx,
                                                   const pb::GetAvailabilityRequest* req,
                                                   pb::GetAvailabilityResponse* out) {
  api_call call{core_, *ctx, "GetAvailability", config::api_role::viewer};
  if (auto st = call.authorize(); !st.ok())
    return st;
  const auto& cfg = call.config();
  if (!req->service().empty() && cfg.find_service(req->service()) == nullptr)
    return call.refuse(
        {grpc::StatusCode::NOT_FOUND, "no service named '" + quote(req->service()) + "'"});
  auto rows = call.ask<availability_list>(
      peer::store, availability_query{service_id{req->service()}, wall_clock_ms()});
  if (!rows)
    return call.fail(rows.error());
  for (const auto& r : *rows) {
    const auto* svc = cfg.find_service(r.service.value);
    if (svc == nullptr)
      continue; // removed from the file, still in the database
    auto* a = out->add_entries();
    a->set_service(r.service.value);
    a->set_instance(r.instance.value);
    a->set_window(r.window);
    a->set_window_ms(r.window_ms);
    a->set_observed_ms(r.observed_ms);
    a->set_down_ms(r.down_ms);
    auto observed = static_cast<double>(r.observed_ms);
    a->set_availability_percent(
        r.observed_ms == 0 ? 100.0
                           : 100.0 * (observed - static_cast<double>(r.down_ms)) / observed);
    a->set_sla_percent(svc->objective.sla_percent);
    auto budget =
        static_cast<std::int64_t>(observed * (100.0 - svc->objective.sla_percent) / 100.0);
    a->set_error_budget_ms(budget);
    a->set_error_budget_left_ms(budget - r.down_ms);
  }
  return grpc::Status::OK;
}

} // namespace switchyard::actors

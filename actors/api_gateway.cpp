#include "actors/api_gateway.hpp"

#include <mutex>
#include <thread>
#include <unordered_map>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/api_concurrency.hpp"
#include "actors/api_credentials.hpp"
#include "actors/api_interceptor.hpp"
#include "actors/api_limits.hpp"
#include "actors/api_watch.hpp"
#include "actors/config_holder.hpp"
#include "actors/config_reloader.hpp"
#include "actors/directory.hpp"
#include "actors/event_fanout.hpp"
#include "actors/event_hub.hpp"
#include "actors/metrics.hpp"
#include "actors/refusal_limiter.hpp"
#include "config/loader.hpp"
#include "messages/error.hpp"
#include "messages/interfaces.hpp"
#include "persistence/sqlite_store.hpp"
#include "strategies/plan_export.hpp"
#include "strategies/site_report.hpp"
#include "switchyard/v1/switchyard.grpc.pb.h"

namespace switchyard::actors {

namespace pb = switchyard::v1;

namespace {

constexpr auto actor_timeout = std::chrono::seconds(5);
// A switchover runs all its steps before it answers; each step is bounded by its timeout.
constexpr auto switchover_timeout = std::chrono::seconds(600);
// A site switchover runs every level's switchovers one after the other, then
// verifies; a drill does that twice (there and back).
constexpr auto site_timeout = std::chrono::seconds(3600);
constexpr auto drill_timeout = std::chrono::seconds(7200);
// An assessment reads every participant's replication position (actions).
constexpr auto assess_timeout = std::chrono::seconds(120);

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
  case grpc::StatusCode::RESOURCE_EXHAUSTED:
    return "RESOURCE_EXHAUSTED";
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
    case sy_errc::not_found:
      return {grpc::StatusCode::NOT_FOUND, text};
    case sy_errc::already_in_progress:
      return {grpc::StatusCode::FAILED_PRECONDITION, text};
    case sy_errc::invalid_config:
    case sy_errc::unknown_site:
      return {grpc::StatusCode::INVALID_ARGUMENT, text};
    case sy_errc::storage_failure:
      return {grpc::StatusCode::UNAVAILABLE, "nothing was changed: " + text};
    default:
      break;
    }
  }
  return {grpc::StatusCode::UNAVAILABLE, "switchyardd could not answer: " + text};
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

// How long the last drill of every service is served from memory. A drill
// run through this API is shown at once; one finished otherwise (a drill
// resumed after a restart) within this long.
constexpr auto drill_cache_ttl = std::chrono::seconds(2);

// ISO-8601 UTC, second precision: the export's "generated at".
std::string utc_now() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
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

// The last drill of each service, by service name.
using drill_index = std::unordered_map<std::string, service_drill>;

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
  out.set_text(strategies::site_record_text(r));
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
    out.set_markdown(strategies::drill_report_markdown(r));
    out.set_json(persistence::drill_report_to_json(r));
  }
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

// WatchEvents is served by the callback API (api_watch.hpp): no thread per stream.
class api_gateway::service final
    : public pb::Switchyard::WithCallbackMethod_WatchEvents<pb::Switchyard::Service> {
public:
  using WithCallbackMethod_WatchEvents::WatchEvents; // the sync one it replaces

  service(caf::actor_system& sys, std::shared_ptr<config_holder> config,
          std::vector<config::api_token> tokens, std::shared_ptr<event_fanout> events,
          reload_fn reload)
      : sys_(sys), config_(std::move(config)), tokens_(std::move(tokens)),
        events_(std::move(events)), reload_(std::move(reload)),
        started_(std::chrono::steady_clock::now()) {}

  grpc::Status GetStatus(grpc::ServerContext* ctx, const pb::GetStatusRequest*,
                         pb::Status* out) override {
    auto cfg = config_->get(); // one snapshot per call: a reload may swap it
    principal who;
    if (auto st = authorize(ctx, config::api_role::viewer, "GetStatus", who); !st.ok())
      return st;
    // Counts only: the full service_state_list would cost the coordinator
    // (the core) readiness checks and copies of every service on each call.
    auto summary = ask<fleet_summary>(names::coordinator, summary_atom::value);
    if (!summary)
      return to_status(summary.error());
    out->set_version(version);
    out->set_uptime_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started_)
                           .count());
    out->set_role("leader");
    out->set_database_path(cfg->database_path());
    out->set_config_file(cfg->source_file);
    out->set_services(summary->services);
    out->set_instances(summary->instances);
    out->set_healthy_instances(summary->healthy_instances);
    out->set_failovers_in_flight(summary->failovers_in_flight);
    for (const auto& u : summary->unjournaled)
      out->add_unjournaled_failures(u);
    if (auto drills = last_drills()) {
      std::int32_t overdue = 0;
      const auto interval = cfg->orchestrator.site_switchover.drill_interval.count();
      const auto now = wall_clock_ms();
      for (const auto& settings : cfg->services) {
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

  grpc::Status ListServices(grpc::ServerContext* ctx, const pb::ListServicesRequest*,
                            pb::ListServicesResponse* out) override {
    auto cfg = config_->get(); // one snapshot per call: a reload may swap it
    principal who;
    if (auto st = authorize(ctx, config::api_role::viewer, "ListServices", who); !st.ok())
      return st;
    auto states = ask<service_state_list>(names::coordinator, get_state_atom::value);
    if (!states)
      return to_status(states.error());
    auto drills = last_drills();
    for (const auto& s : *states) {
      auto* svc = out->add_services();
      fill(*svc, s, cfg->find_service(s.service.value));
      if (drills)
        fill_drill(*svc, *drills, cfg->orchestrator.site_switchover.drill_interval.count(),
                   wall_clock_ms());
    }
    return grpc::Status::OK;
  }

  grpc::Status GetService(grpc::ServerContext* ctx, const pb::GetServiceRequest* req,
                          pb::ServiceDetail* out) override {
    auto cfg = config_->get(); // one snapshot per call: a reload may swap it
    principal who;
    if (auto st = authorize(ctx, config::api_role::viewer, "GetService", who); !st.ok())
      return st;
    if (req->name().empty())
      return {grpc::StatusCode::INVALID_ARGUMENT, "name is required"};
    const auto* settings = cfg->find_service(req->name());
    if (settings == nullptr)
      return {grpc::StatusCode::NOT_FOUND, unknown_service_message(req->name())};
    auto states = ask<service_state_list>(names::coordinator, get_state_atom::value);
    if (!states)
      return to_status(states.error());
    auto drills = last_drills();
    for (const auto& s : *states)
      if (s.service.value == req->name()) {
        fill(*out->mutable_service(), s, settings);
        if (drills)
          fill_drill(*out->mutable_service(), *drills,
                     cfg->orchestrator.site_switchover.drill_interval.count(), wall_clock_ms());
      }
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
    if (auto st = check_service_filter(req->service()); !st.ok())
      return st;
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
    return switchover(ctx, req, out, switchover_kind::planned_switchover, "RequestSwitchover");
  }

  grpc::Status RequestFailover(grpc::ServerContext* ctx, const pb::SwitchoverRequest* req,
                               pb::SwitchoverResponse* out) override {
    return switchover(ctx, req, out, switchover_kind::forced_failover, "RequestFailover");
  }

  grpc::Status SetMaintenance(grpc::ServerContext* ctx, const pb::MaintenanceRequest* req,
                              pb::MaintenanceResponse* out) override {
    nlohmann::json args{{"service", req->service()},
                        {"instance", req->instance()},
                        {"enabled", req->enabled()},
                        {"reason", req->reason()},
                        {"duration", req->duration()}};
    audited_call call{*this, ctx, "SetMaintenance", std::move(args)};
    principal who;
    if (auto st = authorize(ctx, config::api_role::operator_, "SetMaintenance", who); !st.ok())
      return call.refuse(who, st);
    if (auto st = check_target(req->service(), req->instance()); !st.ok())
      return call.refuse(who, st);
    config::milliseconds duration{0};
    if (!req->duration().empty()) {
      if (!req->enabled())
        return call.refuse(who, {grpc::StatusCode::INVALID_ARGUMENT,
                                 "duration only applies when turning maintenance on"});
      if (!config::parse_duration(req->duration(), duration) || duration.count() <= 0)
        return call.refuse(
            who, {grpc::StatusCode::INVALID_ARGUMENT,
                  fmt::format("duration '{}' is not a positive duration (e.g. 90s, 30m, 2h)",
                              quote(req->duration()))});
    }
    if (req->enabled() && req->reason().empty())
      return call.refuse(who, {grpc::StatusCode::INVALID_ARGUMENT,
                               "reason is required to turn maintenance on: say why, it is "
                               "shown to everyone who looks at the service"});
    if (auto st = call.record(who, "requested"); !st.ok())
      return st;
    maintenance_request msg{service_id{req->service()},
                            instance_id{req->instance()},
                            req->enabled(),
                            req->reason(),
                            who.name,
                            duration.count()};
    auto reply = ask<maintenance_reply>(names::coordinator, std::move(msg));
    if (!reply)
      return call.finish(who, to_status(reply.error()));
    out->set_changed(reply->changed);
    out->set_detail(reply->detail);
    out->set_until_ms(reply->until_ms);
    if (auto written = call.record(who, reply->detail); !written.ok())
      spdlog::error("api: audit row for the outcome of SetMaintenance by {} lost: {}", who.name,
                    written.error_message());
    return grpc::Status::OK;
  }

  // Without a thread of its own: the reactor (api_watch.hpp) is woken by the
  // fanout. Beyond api.max_watch_streams (in total or per token): RESOURCE_EXHAUSTED.
  grpc::ServerWriteReactor<pb::EventBatch>*
  WatchEvents(grpc::CallbackServerContext* ctx, const pb::WatchEventsRequest* req) override {
    principal who;
    if (auto st = authorize(ctx, config::api_role::viewer, "WatchEvents", who); !st.ok())
      return refuse_watch(st);
    event_filter filter;
    if (auto st = check_service_filter(req->service()); !st.ok())
      return refuse_watch(st);
    filter.service = req->service();
    for (const auto& k : req->kinds()) {
      auto kind = parse_event_kind(k);
      if (!kind)
        return refuse_watch(
            {grpc::StatusCode::INVALID_ARGUMENT,
             fmt::format("unknown event kind '{}' (health, detection, decision, switchover, "
                         "step, maintenance, config, alert)",
                         quote(k))});
      filter.kinds.insert(*kind);
    }
    auto slot = watch_streams_.acquire(who.name);
    if (!slot.held()) {
      spdlog::warn("api: WatchEvents by {} ({}) refused: {}", who.name, ctx->peer(),
                   slot.refusal());
      return refuse_watch({grpc::StatusCode::RESOURCE_EXHAUSTED, slot.refusal()});
    }
    spdlog::info("api: {} watches events (from {})", who.name, ctx->peer());
    return serve_watch(ctx, *events_, std::move(filter), who.name, std::move(slot));
  }

  grpc::Status ExportPlans(grpc::ServerContext* ctx, const pb::ExportPlansRequest* req,
                           pb::ExportPlansResponse* out) override {
    auto cfg = config_->get(); // one snapshot per call: a reload may swap it
    principal who;
    if (auto st = authorize(ctx, config::api_role::viewer, "ExportPlans", who); !st.ok())
      return st;
    auto format = strategies::parse_export_format(req->format().empty() ? "json" : req->format());
    if (!format)
      return {
          grpc::StatusCode::INVALID_ARGUMENT,
          fmt::format("format '{}' is not one of json, yaml, markdown, dot", quote(req->format()))};
    if (auto st = check_service_filter(req->service()); !st.ok())
      return st;
    auto plans =
        ask<exported_plan_list>(names::coordinator, plan_atom::value, service_id{req->service()});
    if (!plans)
      return to_status(plans.error());
    std::vector<strategies::plan_export_entry> entries;
    for (auto& p : *plans) {
      strategies::plan_export_entry e;
      e.service = cfg->find_service(p.service.value);
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
    out->set_format(strategies::to_string(*format));
    strategies::plan_export_context context;
    context.sites = cfg->sites;
    context.parallelism = cfg->orchestrator.site_switchover.parallelism;
    out->set_content(strategies::render_plans(entries, *format, utc_now(), context));
    return grpc::Status::OK;
  }

  grpc::Status GetAvailability(grpc::ServerContext* ctx, const pb::GetAvailabilityRequest* req,
                               pb::GetAvailabilityResponse* out) override {
    auto cfg = config_->get(); // one snapshot per call: a reload may swap it
    principal who;
    if (auto st = authorize(ctx, config::api_role::viewer, "GetAvailability", who); !st.ok())
      return st;
    if (!req->service().empty() && cfg->find_service(req->service()) == nullptr)
      return {grpc::StatusCode::NOT_FOUND, "no service named '" + quote(req->service()) + "'"};
    auto rows = ask<availability_list>(
        names::store, availability_query{service_id{req->service()}, wall_clock_ms()});
    if (!rows)
      return to_status(rows.error());
    for (const auto& r : *rows) {
      const auto* svc = cfg->find_service(r.service.value);
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

  grpc::Status Reload(grpc::ServerContext* ctx, const pb::ReloadRequest*,
                      pb::ReloadResponse* out) override {
    audited_call call{*this, ctx, "Reload", nlohmann::json::object()};
    principal who;
    if (auto st = authorize(ctx, config::api_role::admin, "Reload", who); !st.ok())
      return call.refuse(who, st);
    if (auto st = call.record(who, "requested"); !st.ok())
      return st;
    auto outcome = reload_(who.name);
    using verdict = reload_outcome::verdict;
    switch (outcome.what) {
    case verdict::invalid: {
      std::string text = outcome.detail;
      for (const auto& e : outcome.errors)
        text += "\n" + e;
      return call.finish(who, {grpc::StatusCode::INVALID_ARGUMENT, text});
    }
    case verdict::refused:
      return call.finish(who, {grpc::StatusCode::FAILED_PRECONDITION, outcome.detail});
    case verdict::failed:
      return call.finish(who, {grpc::StatusCode::UNAVAILABLE, outcome.detail});
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
    if (auto written = call.record(who, (out->applied() ? "applied: " : "") + outcome.detail);
        !written.ok())
      spdlog::error("api: audit row for the outcome of Reload by {} lost: {}", who.name,
                    written.error_message());
    return grpc::Status::OK;
  }

  grpc::Status AssessSite(grpc::ServerContext* ctx, const pb::AssessSiteRequest* req,
                          pb::SiteRecord* out) override {
    principal who;
    if (auto st = authorize(ctx, config::api_role::viewer, "AssessSite", who); !st.ok())
      return st;
    if (auto st = check_sites(req->from_site(), req->to_site()); !st.ok())
      return st;
    site_request msg{req->from_site(),          req->to_site(), who.name, "", true,
                     site_operation::switchover};
    auto reply = ask_within<site_record>(names::site, assess_timeout, std::move(msg));
    if (!reply)
      return to_status(reply.error());
    fill(*out, *reply);
    return grpc::Status::OK;
  }

  grpc::Status SiteSwitchover(grpc::ServerContext* ctx, const pb::SiteSwitchoverRequest* req,
                              pb::SiteRecord* out) override {
    nlohmann::json args{
        {"from_site", req->from_site()}, {"to_site", req->to_site()},
        {"reason", req->reason()},       {"dry_run", req->dry_run()},
        {"failback", req->failback()},   {"accept_divergence", req->accept_divergence()}};
    audited_call call{*this, ctx, "SiteSwitchover", std::move(args)};
    principal who;
    if (auto st = authorize(ctx, config::api_role::operator_, "SiteSwitchover", who); !st.ok())
      return call.refuse(who, st);
    auto long_call = long_calls_.acquire(who.name); // api.max_long_calls
    if (!long_call.held())
      return call.refuse(who, {grpc::StatusCode::RESOURCE_EXHAUSTED, long_call.refusal()});
    if (auto st = check_sites(req->from_site(), req->to_site()); !st.ok())
      return call.refuse(who, st);
    // Written before anything happens: no audit, no site switchover.
    if (auto st = call.record(who, req->dry_run() ? "dry run requested" : "requested"); !st.ok())
      return st;
    site_request msg{req->from_site(),
                     req->to_site(),
                     who.name,
                     req->reason(),
                     req->dry_run(),
                     req->failback() ? site_operation::failback : site_operation::switchover,
                     req->accept_divergence()};
    auto reply = ask_within<site_record>(
        names::site, req->dry_run() ? assess_timeout : site_timeout, std::move(msg));
    if (!reply)
      return call.finish(who, to_status(reply.error()));
    fill(*out, *reply);
    if (!req->dry_run() && reply->id == 0) {
      // Refused before it began (blockers): nothing was changed.
      // The detail already lists the blockers when the procedure refused it.
      std::string why = reply->detail;
      if (why.empty())
        for (const auto& b : reply->blockers)
          why += (why.empty() ? "" : "; ") + b;
      return call.finish(who, {grpc::StatusCode::FAILED_PRECONDITION,
                               "the site switchover cannot run now: " +
                                   (why.empty() ? std::string{"no reason given"} : why)});
    }
    auto outcome = req->dry_run()
                       ? fmt::format("dry run: {} services, {} blockers",
                                     reply->participants.size(), reply->blockers.size())
                       : fmt::format("{}: site switchover #{}{}", to_string(reply->state),
                                     reply->id, reply->detail.empty() ? "" : ": " + reply->detail);
    // It already happened: a lost outcome row cannot undo it, but must be seen.
    if (auto written = call.record(who, outcome); !written.ok())
      spdlog::error("api: audit row for the outcome of SiteSwitchover by {} lost: {}", who.name,
                    written.error_message());
    return grpc::Status::OK;
  }

  grpc::Status ListSiteSwitchovers(grpc::ServerContext* ctx,
                                   const pb::ListSiteSwitchoversRequest* req,
                                   pb::ListSiteSwitchoversResponse* out) override {
    principal who;
    if (auto st = authorize(ctx, config::api_role::viewer, "ListSiteSwitchovers", who); !st.ok())
      return st;
    auto rows = ask<site_record_list>(names::store,
                                      site_query{0, req->limit() == 0 ? 20 : req->limit(), false});
    if (!rows)
      return to_status(rows.error());
    for (const auto& r : *rows)
      fill(*out->add_site_switchovers(), r);
    return grpc::Status::OK;
  }

  grpc::Status GetSiteSwitchover(grpc::ServerContext* ctx, const pb::GetSiteSwitchoverRequest* req,
                                 pb::SiteRecord* out) override {
    principal who;
    if (auto st = authorize(ctx, config::api_role::viewer, "GetSiteSwitchover", who); !st.ok())
      return st;
    if (req->id() <= 0)
      return {grpc::StatusCode::INVALID_ARGUMENT, "id must be a positive site switchover id"};
    auto rows = ask<site_record_list>(names::store, site_query{req->id(), 1, false});
    if (!rows)
      return to_status(rows.error());
    if (rows->empty() || rows->front().id != req->id())
      return {grpc::StatusCode::NOT_FOUND, fmt::format("no site switchover #{}", req->id())};
    fill(*out, rows->front());
    return grpc::Status::OK;
  }

  grpc::Status Drill(grpc::ServerContext* ctx, const pb::DrillRequest* req,
                     pb::DrillReport* out) override {
    nlohmann::json args{
        {"site", req->site()}, {"no_failback", req->no_failback()}, {"reason", req->reason()}};
    audited_call call{*this, ctx, "Drill", std::move(args)};
    principal who;
    if (auto st = authorize(ctx, config::api_role::operator_, "Drill", who); !st.ok())
      return call.refuse(who, st);
    auto long_call = long_calls_.acquire(who.name); // api.max_long_calls
    if (!long_call.held())
      return call.refuse(who, {grpc::StatusCode::RESOURCE_EXHAUSTED, long_call.refusal()});
    if (auto st = check_site("site", req->site()); !st.ok())
      return call.refuse(who, st);
    if (auto st = call.record(who, "requested"); !st.ok())
      return st;
    drill_request msg{req->site(), !req->no_failback(), who.name, req->reason()};
    auto reply = ask_within<drill_report>(names::site, drill_timeout, std::move(msg));
    forget_drills(); // LAST DRILL shows this one at once
    if (!reply)
      return call.finish(who, to_status(reply.error()));
    fill(*out, *reply, true);
    auto outcome = reply->id == 0
                       ? "not run: " + reply->detail
                       : fmt::format("{}: drill #{}{}", reply->passed ? "passed" : "failed",
                                     reply->id, reply->detail.empty() ? "" : ": " + reply->detail);
    if (auto written = call.record(who, outcome); !written.ok())
      spdlog::error("api: audit row for the outcome of Drill by {} lost: {}", who.name,
                    written.error_message());
    if (reply->id == 0)
      return {grpc::StatusCode::FAILED_PRECONDITION,
              "the drill cannot run now: " +
                  (reply->detail.empty() ? std::string{"no reason given"} : reply->detail)};
    return grpc::Status::OK;
  }

  grpc::Status ListDrills(grpc::ServerContext* ctx, const pb::ListDrillsRequest* req,
                          pb::ListDrillsResponse* out) override {
    principal who;
    if (auto st = authorize(ctx, config::api_role::viewer, "ListDrills", who); !st.ok())
      return st;
    auto rows =
        ask<drill_report_list>(names::store, drill_query{0, req->limit() == 0 ? 20 : req->limit()});
    if (!rows)
      return to_status(rows.error());
    for (const auto& r : *rows)
      fill(*out->add_drills(), r, false);
    return grpc::Status::OK;
  }

  grpc::Status GetDrillReport(grpc::ServerContext* ctx, const pb::GetDrillReportRequest* req,
                              pb::DrillReport* out) override {
    principal who;
    if (auto st = authorize(ctx, config::api_role::viewer, "GetDrillReport", who); !st.ok())
      return st;
    if (req->id() <= 0)
      return {grpc::StatusCode::INVALID_ARGUMENT, "id must be a positive drill id"};
    auto rows = ask<drill_report_list>(names::store, drill_query{req->id(), 1});
    if (!rows)
      return to_status(rows.error());
    if (rows->empty() || rows->front().id != req->id())
      return {grpc::StatusCode::NOT_FOUND, fmt::format("no drill #{}", req->id())};
    fill(*out, rows->front(), true);
    return grpc::Status::OK;
  }

private:
  // The last drill of every service; null (logged) when the store does not
  // answer: the status is still worth showing without it. Read from the store at most every
  // drill_cache_ttl (and again after a drill run through this API): GetStatus and ListServices
  // would otherwise wait behind the store's journal writes on every call, which during a burst of
  // failures is exactly when operators call them.
  std::shared_ptr<const drill_index> last_drills() {
    auto now = std::chrono::steady_clock::now();
    std::uint64_t generation = 0;
    {
      std::lock_guard<std::mutex> guard{drills_mutex_};
      if (drills_ && now - drills_loaded_ < drill_cache_ttl)
        return drills_;
      generation = drills_generation_;
    }
    auto drills = ask<service_drill_list>(names::store, drill_atom::value);
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

  void forget_drills() {
    std::lock_guard<std::mutex> guard{drills_mutex_};
    drills_.reset();
    ++drills_generation_;
  }

  // INVALID_ARGUMENT unless `site` (named `field`) is given and configured.
  grpc::Status check_site(const char* field, const std::string& site) const {
    auto cfg = config_->get(); // one snapshot per call: a reload may swap it
    if (site.empty())
      return {grpc::StatusCode::INVALID_ARGUMENT, fmt::format("{} is required", field)};
    std::string known;
    for (const auto& s : cfg->sites) {
      if (s.name == site)
        return grpc::Status::OK;
      known += (known.empty() ? "" : ", ") + s.name;
    }
    return {grpc::StatusCode::INVALID_ARGUMENT,
            fmt::format("no site named '{}' (configured: {})", quote(site),
                        known.empty() ? std::string{"none"} : known)};
  }

  // Both sites given, configured and different.
  grpc::Status check_sites(const std::string& from, const std::string& to) const {
    if (auto st = check_site("from_site", from); !st.ok())
      return st;
    if (auto st = check_site("to_site", to); !st.ok())
      return st;
    if (from == to)
      return {grpc::StatusCode::INVALID_ARGUMENT,
              fmt::format("from_site and to_site are both '{}': name two different sites",
                          quote(from))};
    return grpc::Status::OK;
  }

  // An optional service filter: empty means all; otherwise it must be configured.
  grpc::Status check_service_filter(const std::string& svc_name) const {
    if (svc_name.empty() || config_->get()->find_service(svc_name) != nullptr)
      return grpc::Status::OK;
    return {grpc::StatusCode::NOT_FOUND, unknown_service_message(svc_name)};
  }

  // NOT_FOUND unless `service` is configured and `instance` (if given) is one of its instances.
  grpc::Status check_target(const std::string& svc_name, const std::string& instance) const {
    auto cfg = config_->get(); // one snapshot per call: a reload may swap it
    if (svc_name.empty())
      return {grpc::StatusCode::INVALID_ARGUMENT, "service is required"};
    const auto* settings = cfg->find_service(svc_name);
    if (settings == nullptr)
      return {grpc::StatusCode::NOT_FOUND, unknown_service_message(svc_name)};
    if (instance.empty())
      return grpc::Status::OK;
    std::string known;
    for (const auto& i : settings->instances) {
      if (i.name == instance)
        return grpc::Status::OK;
      known += (known.empty() ? "" : ", ") + i.name;
    }
    return {grpc::StatusCode::NOT_FOUND,
            fmt::format("service '{}' has no instance '{}' (instances: {})", quote(svc_name),
                        quote(instance), known)};
  }

  // A planned switchover or a forced failover: same checks, audit and reply.
  grpc::Status switchover(grpc::ServerContext* ctx, const pb::SwitchoverRequest* req,
                          pb::SwitchoverResponse* out, switchover_kind kind, const char* name) {
    nlohmann::json args{{"service", req->service()},
                        {"target", req->target()},
                        {"reason", req->reason()},
                        {"dry_run", req->dry_run()},
                        {"force", req->force()}};
    audited_call call{*this, ctx, name, std::move(args)};
    principal who;
    if (auto st = authorize(ctx, config::api_role::operator_, name, who); !st.ok())
      return call.refuse(who, st);
    auto long_call = long_calls_.acquire(who.name); // api.max_long_calls
    if (!long_call.held())
      return call.refuse(who, {grpc::StatusCode::RESOURCE_EXHAUSTED, long_call.refusal()});
    if (auto st = check_target(req->service(), req->target()); !st.ok())
      return call.refuse(who, st);
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
                           req->force(),
                           kind};
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
      spdlog::error("api: audit row for the outcome of {} by {} lost: {}", name, who.name,
                    written.error_message());
    return grpc::Status::OK;
  }

  // The audit trail of one mutating call: every refusal and every outcome is
  // written; the call is refused when the trail cannot be written. A row is
  // bounded (api_limits.hpp: arguments and result clipped); an unauthenticated
  // caller's row has no arguments; refusals are rate-limited per caller
  // address (refusal_limiter: beyond it they are counted, not written).
  class audited_call {
  public:
    audited_call(service& svc, const grpc::ServerContextBase* ctx, std::string name,
                 nlohmann::json arguments)
        : svc_(svc), ctx_(ctx), name_(std::move(name)), arguments_(std::move(arguments)) {}

    grpc::Status record(const principal& who, const std::string& result) {
      const bool anonymous = who.name.empty();
      audit_record a{0,
                     anonymous ? "(anonymous)" : who.name,
                     anonymous ? "" : config::to_string(who.role),
                     name_,
                     anonymous ? std::string{} : audit_arguments(arguments_),
                     clip(result, audit_result_bytes),
                     0};
      auto id = svc_.ask<std::int64_t>(names::store, std::move(a));
      if (!id)
        return {grpc::StatusCode::UNAVAILABLE,
                "the audit trail cannot be written, so nothing was done: " + describe(id.error())};
      return grpc::Status::OK;
    }

    /// Records a refusal (within its caller address's rate) and returns it
    /// (or the audit failure).
    grpc::Status refuse(const principal& who, const grpc::Status& st) {
      auto address = peer_address(ctx_->peer());
      auto admitted = svc_.refusals_.admit(address, refusal_limiter::clock::now());
      if (!admitted.record) {
        svc_.audit_left_out_.inc();
        if (admitted.first_left_out)
          spdlog::warn("api: too many refused calls from {}: their audit rows are counted, not "
                       "written, until the rate falls",
                       address);
        return st;
      }
      // Clipped here so that the notes after it survive the row's own clip.
      auto text = fmt::format("{}: {}", status_name(st.error_code()),
                              clip(st.error_message(), audit_result_bytes / 2));
      if (who.name.empty())
        text += fmt::format(" (from {})", address);
      if (admitted.left_out > 0)
        text += fmt::format(" [{} earlier refused calls from {} not recorded: rate limit]",
                            admitted.left_out, address);
      if (auto written = record(who, text); !written.ok())
        return written;
      return st;
    }

    grpc::Status finish(const principal& who, const grpc::Status& st) {
      auto text = fmt::format("{}: {}", status_name(st.error_code()), st.error_message());
      if (auto written = record(who, text); !written.ok())
        return written;
      return st;
    }

  private:
    service& svc_;
    const grpc::ServerContextBase* ctx_;
    std::string name_;
    nlohmann::json arguments_;
  };

  std::string unknown_service_message(const std::string& name) const {
    auto cfg = config_->get(); // one snapshot per call: a reload may swap it
    std::string known;
    for (const auto& s : cfg->services)
      known += (known.empty() ? "" : ", ") + s.name;
    return fmt::format("no service named '{}' (configured: {})", quote(name), known);
  }

  // Checks the bearer token, the role and the request's size (see
  // request_guard). The token itself is never logged.
  grpc::Status authorize(const grpc::ServerContextBase* ctx, config::api_role needed,
                         const char* call, principal& who) const {
    if (auto st = authenticate(*ctx, call, who); !st.ok())
      return st;
    if (who.role < needed)
      return {grpc::StatusCode::PERMISSION_DENIED,
              fmt::format("'{}' has role {}; {} needs {}", who.name, config::to_string(who.role),
                          call, config::to_string(needed))};
    if (auto st = guard_.check(*ctx); !st.ok())
      return st;
    spdlog::debug("api: {} by {} ({})", call, who.name, config::to_string(who.role));
    return grpc::Status::OK;
  }

  // Checks the bearer token only: `who` is set when it is valid.
  grpc::Status authenticate(const grpc::ServerContextBase& ctx, std::string_view call,
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

  // A request gRPC could not parse (the handler never ran; see request_guard):
  // UNAUTHENTICATED without a valid token, otherwise INVALID_ARGUMENT;
  // audited like any refusal when the call is a mutating one.
  grpc::Status refuse_malformed(const grpc::ServerContextBase& ctx, const api_method& method) {
    principal who;
    auto st = authenticate(ctx, method.name, who);
    if (st.ok())
      st = {grpc::StatusCode::INVALID_ARGUMENT,
            fmt::format("malformed request: not a valid {} (truncated or not protobuf, or a "
                        "string field that is not UTF-8)",
                        method.request_type)};
    if (!method.audited)
      return st;
    audited_call call{*this, &ctx, method.name, nlohmann::json::object()};
    return call.refuse(who, st);
  }

public:
  /// For api_gateway::start().
  request_guard& guard() { return guard_; }

private:
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
  std::shared_ptr<config_holder> config_;
  std::vector<config::api_token> tokens_;
  std::shared_ptr<event_fanout> events_;
  // api.max_watch_streams and api.max_long_calls, in total and per token.
  concurrency_limit watch_streams_{watch_stream_limit(config_->get()->api)};
  concurrency_limit long_calls_{long_call_limit(config_->get()->api)};
  reload_fn reload_;
  std::chrono::steady_clock::time_point started_;
  std::mutex drills_mutex_;
  std::shared_ptr<const drill_index> drills_; ///< see last_drills()
  std::chrono::steady_clock::time_point drills_loaded_;
  std::uint64_t drills_generation_ = 0; ///< bumped by forget_drills()
  request_guard guard_{[this](const grpc::ServerContextBase& ctx, const api_method& method) {
    return refuse_malformed(ctx, method);
  }};
  refusal_limiter refusals_; ///< the audit rows of refused calls, per caller address
  metrics::counter& audit_left_out_ = metrics::registry::global().counter_for(
      "switchyard_api_audit_rows_left_out_total",
      "Audit rows of refused API calls not written: the caller's address was over its rate.");
};

api_gateway::api_gateway(caf::actor_system& sys, std::shared_ptr<config_holder> config,
                         std::vector<config::api_token> tokens,
                         std::shared_ptr<event_fanout> events, reload_fn reload)
    : listen_(config->get()->api.listen), api_(config->get()->api) {
  service_ = std::make_unique<service>(sys, std::move(config), std::move(tokens), std::move(events),
                                       std::move(reload));
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

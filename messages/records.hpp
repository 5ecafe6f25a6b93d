// Durable records as read back from the store: switchovers with their steps,
// detections, decisions, plans and the audit trail. Sent by the store actor to the API.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/detection.hpp"
#include "messages/health.hpp"
#include "messages/ids.hpp"
#include "messages/plan.hpp"
#include "messages/switchover.hpp"

namespace switchyard {

struct switchover_record {
  switchover_id id{0};
  service_id service;
  switchover_kind kind = switchover_kind::automatic_failover;
  switchover_status status = switchover_status::running;
  instance_id from;
  instance_id to;
  detection_id detection{0};
  std::int64_t plan_version = 0;
  epoch run_epoch{0};
  std::string reason;
  std::string detail;
  std::int64_t started_at_ms = 0;  ///< unix epoch milliseconds
  std::int64_t finished_at_ms = 0; ///< 0 while running
  std::int64_t leader_epoch = 0;   ///< cluster mode: the fencing epoch of the leader that ran it
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, switchover_record& x) {
  return f(caf::meta::type_name("switchover_record"), x.id, x.service, x.kind, x.status, x.from,
           x.to, x.detection, x.plan_version, x.run_epoch, x.reason, x.detail, x.started_at_ms,
           x.finished_at_ms, x.leader_epoch);
}

struct step_record {
  step_id id{0};
  switchover_id switchover{0};
  std::uint32_t sequence = 0;
  step_phase phase = step_phase::fence;
  std::string name;
  std::string action_kind;
  instance_id target;
  epoch run_epoch{0};
  step_status status = step_status::started;
  std::string detail;
  std::int64_t started_at_ms = 0;
  std::int64_t finished_at_ms = 0;
  std::int64_t leader_epoch = 0; ///< cluster mode: the fencing epoch of the leader that ran it
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, step_record& x) {
  return f(caf::meta::type_name("step_record"), x.id, x.switchover, x.sequence, x.phase, x.name,
           x.action_kind, x.target, x.run_epoch, x.status, x.detail, x.started_at_ms,
           x.finished_at_ms, x.leader_epoch);
}

struct detection_record {
  detection_id id{0};
  service_id service;
  instance_id instance;
  failure_type type = failure_type::unreachable;
  severity level = severity::warning;
  bool affects_primary = false;
  std::string evidence;
  std::int64_t at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, detection_record& x) {
  return f(caf::meta::type_name("detection_record"), x.id, x.service, x.instance, x.type, x.level,
           x.affects_primary, x.evidence, x.at_ms);
}

struct plan_record {
  service_id service;
  std::int64_t version = 0; ///< 0: no plan stored yet
  std::string json;         ///< the plan as JSON (see persistence::plan_to_json)
  std::int64_t created_at_ms = 0;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, plan_record& x) {
  return f(caf::meta::type_name("plan_record"), x.service, x.version, x.json, x.created_at_ms);
}

/// One switchover with its step journal.
struct switchover_detail {
  switchover_record switchover;
  std::vector<step_record> steps;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, switchover_detail& x) {
  return f(caf::meta::type_name("switchover_detail"), x.switchover, x.steps);
}

/// One API call as audited: who, with which role, what, and the outcome.
struct audit_record {
  std::int64_t id = 0;
  std::string principal; ///< the token's name, or "(anonymous)"
  std::string role;      ///< viewer, operator, admin, or "" when unauthenticated
  std::string call;      ///< the RPC, e.g. "Switchover"
  std::string arguments; ///< the request as JSON, secrets left out
  std::string result;    ///< "ok" or the gRPC status code and message
  std::int64_t at_ms = 0;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, audit_record& x) {
  return f(caf::meta::type_name("audit_record"), x.id, x.principal, x.role, x.call, x.arguments,
           x.result, x.at_ms);
}

using switchover_record_list = std::vector<switchover_record>;
using detection_record_list = std::vector<detection_record>;
using decision_record_list = std::vector<decision_record>;
using audit_record_list = std::vector<audit_record>;

/// Queries the store answers (an empty service means all services).
struct switchovers_query {
  std::string service;
  std::uint32_t limit = 50;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, switchovers_query& x) {
  return f(caf::meta::type_name("switchovers_query"), x.service, x.limit);
}

struct detections_query {
  std::string service;
  std::uint32_t limit = 20;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, detections_query& x) {
  return f(caf::meta::type_name("detections_query"), x.service, x.limit);
}

/// Health transitions recorded since `since_ms` (unix epoch ms), oldest
/// first: a restarted classifier's flapping history.
struct health_history_query {
  std::int64_t since_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, health_history_query& x) {
  return f(caf::meta::type_name("health_history_query"), x.since_ms);
}

struct health_event {
  service_id service;
  instance_id instance;
  health_status to = health_status::unknown;
  std::int64_t at_ms = 0; ///< unix epoch milliseconds
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, health_event& x) {
  return f(caf::meta::type_name("health_event"), x.service, x.instance, x.to, x.at_ms);
}

using health_event_list = std::vector<health_event>;

struct decisions_query {
  std::string service;
  std::uint32_t limit = 20;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, decisions_query& x) {
  return f(caf::meta::type_name("decisions_query"), x.service, x.limit);
}

struct audit_query {
  std::uint32_t limit = 100;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, audit_query& x) {
  return f(caf::meta::type_name("audit_query"), x.limit);
}

/// A switchover left running by a previous switchyardd, with what is needed
/// to resume it: its steps so far and the plan it was running.
struct interrupted_switchover {
  switchover_record switchover;
  std::vector<step_record> steps;
  bool has_plan = false;
  failover_plan plan;
  std::string problem; ///< why it cannot be resumed (no plan stored, unreadable plan)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, interrupted_switchover& x) {
  return f(caf::meta::type_name("interrupted_switchover"), x.switchover, x.steps, x.has_plan,
           x.plan, x.problem);
}

using interrupted_list = std::vector<interrupted_switchover>;

} // namespace switchyard

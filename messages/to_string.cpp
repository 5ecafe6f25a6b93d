// Names of the message enums, as shown in logs, the database and the API.
#include "messages/backup.hpp"
#include "messages/detection.hpp"
#include "messages/event.hpp"
#include "messages/health.hpp"
#include "messages/plan.hpp"
#include "messages/records.hpp"
#include "messages/site.hpp"
#include "messages/switchover.hpp"

namespace switchyard {

const char* to_string(health_status x) {
  switch (x) {
  case health_status::unknown:
    return "unknown";
  case health_status::healthy:
    return "healthy";
  case health_status::unhealthy:
    return "unhealthy";
  }
  return "?";
}

const char* to_string(failure_type x) {
  switch (x) {
  case failure_type::unreachable:
    return "unreachable";
  case failure_type::recovered:
    return "recovered";
  case failure_type::returned:
    return "returned";
  case failure_type::diverged:
    return "diverged";
  case failure_type::rejoin_failed:
    return "rejoin_failed";
  case failure_type::fencing_failed:
    return "fencing_failed";
  case failure_type::degraded:
    return "degraded";
  case failure_type::cascading:
    return "cascading";
  case failure_type::flapping:
    return "flapping";
  case failure_type::site_wide:
    return "site_wide";
  }
  return "?";
}

const char* to_string(severity x) {
  switch (x) {
  case severity::info:
    return "info";
  case severity::warning:
    return "warning";
  case severity::critical:
    return "critical";
  }
  return "?";
}

const char* to_string(step_phase x) {
  switch (x) {
  case step_phase::demote:
    return "demote";
  case step_phase::fence:
    return "fence";
  case step_phase::promote:
    return "promote";
  case step_phase::reroute:
    return "reroute";
  case step_phase::verify:
    return "verify";
  }
  return "?";
}

const char* to_string(site_operation x) {
  switch (x) {
  case site_operation::switchover:
    return "switchover";
  case site_operation::failback:
    return "failback";
  case site_operation::drill:
    return "drill";
  case site_operation::drill_failback:
    return "drill_failback";
  }
  return "?";
}

const char* to_string(site_state x) {
  switch (x) {
  case site_state::preparing:
    return "preparing";
  case site_state::committed:
    return "committed";
  case site_state::completed:
    return "completed";
  case site_state::failed:
    return "failed";
  case site_state::aborted:
    return "aborted";
  }
  return "?";
}

const char* to_string(participant_state x) {
  switch (x) {
  case participant_state::pending:
    return "pending";
  case participant_state::prepared:
    return "prepared";
  case participant_state::prepare_failed:
    return "prepare_failed";
  case participant_state::aborted:
    return "aborted";
  case participant_state::committing:
    return "committing";
  case participant_state::committed:
    return "committed";
  case participant_state::failed:
    return "failed";
  }
  return "?";
}

const char* to_string(switchover_kind x) {
  switch (x) {
  case switchover_kind::automatic_failover:
    return "automatic_failover";
  case switchover_kind::planned_switchover:
    return "planned_switchover";
  case switchover_kind::forced_failover:
    return "forced_failover";
  }
  return "?";
}

const char* to_string(switchover_status x) {
  switch (x) {
  case switchover_status::running:
    return "running";
  case switchover_status::completed:
    return "completed";
  case switchover_status::failed:
    return "failed";
  }
  return "?";
}

const char* to_string(step_status x) {
  switch (x) {
  case step_status::started:
    return "started";
  case step_status::done:
    return "done";
  case step_status::failed:
    return "failed";
  }
  return "?";
}

const char* to_string(event_kind x) {
  switch (x) {
  case event_kind::health:
    return "health";
  case event_kind::detection:
    return "detection";
  case event_kind::decision:
    return "decision";
  case event_kind::switchover:
    return "switchover";
  case event_kind::step:
    return "step";
  case event_kind::maintenance:
    return "maintenance";
  case event_kind::alert:
    return "alert";
  case event_kind::config:
    return "config";
  case event_kind::leadership:
    return "leadership";
  case event_kind::backup:
    return "backup";
  }
  return "?";
}

std::optional<event_kind> parse_event_kind(const std::string& text) {
  for (auto k : {event_kind::health, event_kind::detection, event_kind::decision,
                 event_kind::switchover, event_kind::step, event_kind::maintenance,
                 event_kind::config, event_kind::alert, event_kind::leadership, event_kind::backup})
    if (text == to_string(k))
      return k;
  return std::nullopt;
}

} // namespace switchyard

namespace switchyard {

const char* to_string(backup_kind k) {
  return k == backup_kind::incremental ? "incremental" : "full";
}

const char* to_string(backup_status s) {
  switch (s) {
  case backup_status::running:
    return "running";
  case backup_status::complete:
    return "complete";
  case backup_status::failed:
    return "failed";
  case backup_status::corrupt:
    return "corrupt";
  }
  return "unknown";
}

bool from_string(const std::string& text, backup_kind& out) {
  for (auto k : {backup_kind::full, backup_kind::incremental})
    if (text == to_string(k)) {
      out = k;
      return true;
    }
  return false;
}

bool from_string(const std::string& text, backup_status& out) {
  for (auto s : {backup_status::running, backup_status::complete, backup_status::failed,
                 backup_status::corrupt})
    if (text == to_string(s)) {
      out = s;
      return true;
    }
  return false;
}

} // namespace switchyard

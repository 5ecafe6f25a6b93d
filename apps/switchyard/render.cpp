#include "apps/switchyard/render.hpp"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <google/protobuf/util/json_util.h>

namespace switchyard::cli {

void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  };
  measure(header);
  for (const auto& r : rows)
    measure(r);
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size())
        line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << line << '\n';
  };
  print(header);
  for (const auto& r : rows)
    print(r);
}

void print_json(std::ostream& out, const google::protobuf::Message& msg) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.always_print_primitive_fields = true;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(msg, &json, opts);
  out << json;
}

void print_json_line(std::ostream& out, const google::protobuf::Message& msg) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.always_print_primitive_fields = true;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(msg, &json, opts);
  out << json << '\n';
}

std::string format_time(std::int64_t unix_ms) {
  if (unix_ms == 0)
    return "-";
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

void print_status(std::ostream& out, const v1::Status& s) {
  out << fmt::format("switchyardd {} ({}), up {} s\n", s.version(), s.role(), s.uptime_ms() / 1000)
      << fmt::format("config:    {}\n", s.config_file())
      << fmt::format("database:  {}\n", s.database_path())
      << fmt::format("services:  {} ({} instances, {} healthy, {} failovers in flight)\n",
                     s.services(), s.instances(), s.healthy_instances(), s.failovers_in_flight())
      << fmt::format(
             "DR drills: {}{}\n",
             s.last_drill_id() == 0
                 ? std::string{"NEVER drilled"}
                 : fmt::format("last #{} at {}", s.last_drill_id(), format_time(s.last_drill_ms())),
             s.drills_overdue() > 0 ? fmt::format("; OVERDUE for {} service{}", s.drills_overdue(),
                                                  s.drills_overdue() == 1 ? "" : "s")
                                    : std::string{});
  for (const auto& u : s.unjournaled_failures())
    out << "NOT JOURNALED: " << u << '\n';
}

namespace {

std::string health_summary(const v1::Service& s) {
  int healthy = 0;
  for (const auto& i : s.instances())
    healthy += i.health() == "healthy" ? 1 : 0;
  return fmt::format("{}/{} healthy", healthy, s.instances_size());
}

// The service's window (instance "") or an instance's, if it has one.
const v1::Maintenance* maintenance_of(const v1::Service& s, const std::string& instance) {
  for (const auto& m : s.maintenance())
    if (m.instance() == instance)
      return &m;
  return nullptr;
}

std::string describe(const v1::Maintenance& m) {
  return fmt::format(
      "{} (by {} since {}, {})", m.reason(), m.principal(), format_time(m.since_ms()),
      m.until_ms() == 0 ? std::string{"until turned off"} : "until " + format_time(m.until_ms()));
}

std::string primary_health(const v1::Service& s) {
  for (const auto& i : s.instances())
    if (i.primary())
      return i.health();
  return "unknown";
}

// "NEVER", "2026-11-23 23:49:34 PASS" or "... FAIL", with " OVERDUE" when one is due.
std::string drill_of(const v1::Service& s) {
  std::string text = s.last_drill_id() == 0 ? std::string{"NEVER"}
                                            : fmt::format("{} {}", format_time(s.last_drill_ms()),
                                                          s.last_drill_passed() ? "PASS" : "FAIL");
  return s.drill_overdue() && s.last_drill_id() != 0 ? text + " OVERDUE" : text;
}

// "yes", "NO (2)" with the number of reasons, or "?" before the first check.
std::string readiness_of(const v1::Service& s) {
  if (s.ready())
    return "yes";
  if (s.not_ready_size() > 0)
    return fmt::format("NO ({})", s.not_ready_size());
  return "?";
}

} // namespace

void print_services(std::ostream& out, const v1::ListServicesResponse& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : r.services()) {
    std::string state =
        s.failover_in_flight()
            ? "failing over"
            : (maintenance_of(s, "") != nullptr
                   ? "maintenance"
                   : (!s.tilt().empty() ? "TILT" : (s.in_block_period() ? "blocked" : "-")));
    if (s.shadow())
      state = state == "-" ? "shadow" : state + ", shadow";
    rows.push_back({s.name(), s.primary(), primary_health(s), std::to_string(s.epoch()),
                    health_summary(s), state, readiness_of(s), drill_of(s)});
  }
  print_table(out,
              {"SERVICE", "PRIMARY", "PRIMARY HEALTH", "EPOCH", "INSTANCES", "STATE", "READY",
               "LAST DRILL"},
              rows);
}

void print_service(std::ostream& out, const v1::ServiceDetail& d) {
  const auto& s = d.service();
  out << fmt::format("service {}: primary {} (epoch {}){}\n", s.name(), s.primary(), s.epoch(),
                     s.failover_in_flight() ? ", failover in flight"
                                            : (s.in_block_period() ? ", in block period" : ""));
  if (!s.last_decision().empty())
    out << "last decision: " << s.last_decision() << '\n';
  if (s.shadow())
    out << "SHADOW MODE: failovers are decided and recorded, never run\n";
  if (!s.tilt().empty())
    out << "TILT: " << s.tilt() << '\n';
  if (s.ready())
    out << "readiness: ready (checked " << format_time(s.readiness_checked_ms()) << ")\n";
  else if (s.not_ready_size() > 0)
    out << "NOT READY: a failover could not succeed now: "
        << fmt::format("{}", fmt::join(s.not_ready(), "; ")) << '\n';
  if (const auto* m = maintenance_of(s, ""))
    out << "IN MAINTENANCE: " << describe(*m) << '\n';
  if (!s.rejoin().empty())
    out << "rejoin: " << s.rejoin() << '\n';
  if (s.last_drill_id() == 0)
    out << "last DR drill: NEVER (drill overdue)\n";
  else
    out << fmt::format("last DR drill: #{} at {}: {}{}\n", s.last_drill_id(),
                       format_time(s.last_drill_ms()), s.last_drill_passed() ? "passed" : "FAILED",
                       s.drill_overdue() ? " (OVERDUE)" : "");
  for (const auto& m : s.maintenance())
    if (!m.instance().empty())
      out << "instance " << m.instance() << " in maintenance: " << describe(m) << '\n';
  out << '\n';
  std::vector<std::vector<std::string>> rows;
  for (const auto& i : s.instances())
    rows.push_back({i.name(), i.address(), i.site(), i.primary() ? "primary" : "standby",
                    i.configured_role(), std::to_string(i.priority()),
                    i.in_maintenance() ? i.health() + " (maintenance)" : i.health()});
  print_table(out, {"INSTANCE", "ADDRESS", "SITE", "ROLE", "CONFIGURED", "PRIORITY", "HEALTH"},
              rows);
  out << '\n';
  if (d.recent_detections_size() == 0) {
    out << "no detections\n";
  } else {
    rows.clear();
    for (const auto& x : d.recent_detections())
      rows.push_back({std::to_string(x.id()), format_time(x.at_ms()), x.instance(), x.type(),
                      x.severity(), x.evidence()});
    print_table(out, {"DETECTION", "AT", "INSTANCE", "TYPE", "SEVERITY", "EVIDENCE"}, rows);
  }
  out << '\n'
      << (d.plan_version() == 0
              ? std::string("no failover plan stored yet\n")
              : fmt::format("failover plan v{}:\n{}\n", d.plan_version(), d.plan_json()));
}

void print_switchovers(std::ostream& out, const v1::ListSwitchoversResponse& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : r.switchovers())
    rows.push_back({std::to_string(s.id()), s.service(), s.kind(), s.status(),
                    s.from_instance() + " -> " + s.to_instance(), std::to_string(s.epoch()),
                    format_time(s.started_at_ms()), s.detail()});
  print_table(out, {"ID", "SERVICE", "KIND", "STATUS", "CHANGE", "EPOCH", "STARTED", "DETAIL"},
              rows);
}

void print_switchover(std::ostream& out, const v1::Switchover& s) {
  out << fmt::format("switchover #{} of {}: {} {} -> {} ({}), epoch {}\n", s.id(), s.service(),
                     s.kind(), s.from_instance(), s.to_instance(), s.status(), s.epoch())
      << fmt::format("started {}, finished {}\n", format_time(s.started_at_ms()),
                     format_time(s.finished_at_ms()));
  if (!s.reason().empty())
    out << "reason: " << s.reason() << '\n';
  if (s.leader_epoch() != 0)
    out << "run by the cluster's leader at leader epoch " << s.leader_epoch() << '\n';
  if (!s.detail().empty())
    out << "detail: " << s.detail() << '\n';
  out << '\n';
  std::vector<std::vector<std::string>> rows;
  for (const auto& st : s.steps())
    rows.push_back({std::to_string(st.sequence()), st.phase(), st.name(), st.target(), st.status(),
                    st.finished_at_ms() > 0
                        ? fmt::format("{} ms", st.finished_at_ms() - st.started_at_ms())
                        : "-",
                    st.detail()});
  print_table(out, {"STEP", "PHASE", "NAME", "TARGET", "STATUS", "TOOK", "DETAIL"}, rows);
}

void print_audit(std::ostream& out, const v1::ListAuditResponse& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : r.entries())
    rows.push_back({std::to_string(e.id()), format_time(e.at_ms()), e.principal(), e.role(),
                    e.call(), e.arguments(), e.result()});
  print_table(out, {"ID", "AT", "WHO", "ROLE", "CALL", "ARGUMENTS", "RESULT"}, rows);
}

void print_availability(std::ostream& out, const v1::GetAvailabilityResponse& r, bool instances) {
  auto duration = [](std::int64_t ms) {
    auto sign = ms < 0 ? "-" : "";
    ms = ms < 0 ? -ms : ms;
    if (ms >= 3'600'000)
      return fmt::format("{}{}h{:02}m", sign, ms / 3'600'000, ms / 60'000 % 60);
    if (ms >= 60'000)
      return fmt::format("{}{}m{:02}s", sign, ms / 60'000, ms / 1000 % 60);
    return fmt::format("{}{}.{:03}s", sign, ms / 1000, ms % 1000);
  };
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : r.entries()) {
    if (!a.instance().empty() && !instances)
      continue;
    auto left = a.error_budget_left_ms();
    rows.push_back(
        {a.service(), a.instance().empty() ? "(service)" : a.instance(), a.window(),
         fmt::format("{:.3f}%", a.availability_percent()), duration(a.down_ms()),
         duration(a.observed_ms()), a.instance().empty() ? fmt::format("{}%", a.sla_percent()) : "",
         a.instance().empty() ? (left < 0 ? "MISSED by " + duration(-left) : duration(left)) : ""});
  }
  print_table(
      out, {"SERVICE", "INSTANCE", "WINDOW", "AVAILABLE", "DOWN", "OBSERVED", "SLA", "BUDGET LEFT"},
      rows);
}

void print_switchover_result(std::ostream& out, const v1::SwitchoverResponse& r) {
  if (!r.executed())
    out << fmt::format("dry run: {} -> {}, {} steps, at most {} ms; nothing was changed\n",
                       r.from_instance(), r.to_instance(), r.steps_size(), r.estimated_ms());
  else
    out << fmt::format("switchover #{}: {} -> {} {}\n", r.switchover_id(), r.from_instance(),
                       r.to_instance(), r.success() ? "completed" : "FAILED");
  std::vector<std::vector<std::string>> rows;
  for (const auto& st : r.steps())
    rows.push_back({std::to_string(st.sequence()), st.phase(), st.name(), st.target(),
                    fmt::format("{} ms", st.timeout_ms()), st.description()});
  print_table(out, {"STEP", "PHASE", "NAME", "TARGET", "TIMEOUT", "COMMAND"}, rows);
  if (r.executed())
    out << r.detail() << '\n';
}

void print_event(std::ostream& out, const v1::Event& e) {
  out << fmt::format("{} #{:<5} {:<11} {:<12} {}{}\n", format_time(e.at_ms()), e.sequence(),
                     e.kind(), e.service(), e.instance().empty() ? "" : e.instance() + ": ",
                     e.summary());
}

void print_maintenance_result(std::ostream& out, const v1::MaintenanceResponse& r) {
  out << r.detail();
  if (r.until_ms() != 0)
    out << " until " << format_time(r.until_ms());
  out << (r.changed() ? "" : " (nothing changed)") << '\n';
}

void print_reload_result(std::ostream& out, const v1::ReloadResponse& r) {
  out << (r.applied() ? "reloaded: " : "nothing to apply: ") << r.detail() << '\n';
}

void print_site_switchover(std::ostream& out, const v1::SiteRecord& r) {
  out << r.text();
  if (!r.text().empty() && r.text().back() != '\n')
    out << '\n';
}

void print_site_switchovers(std::ostream& out, const v1::ListSiteSwitchoversResponse& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : r.site_switchovers())
    rows.push_back({std::to_string(s.id()), s.operation(), s.from_site(), s.to_site(), s.state(),
                    std::to_string(s.participants_size()), s.principal(),
                    format_time(s.started_ms()), format_time(s.finished_ms()),
                    s.drill_id() == 0 ? std::string{"-"} : "#" + std::to_string(s.drill_id())});
  print_table(
      out,
      {"ID", "OPERATION", "FROM", "TO", "STATE", "SERVICES", "BY", "STARTED", "FINISHED", "DRILL"},
      rows);
}

namespace {

std::string ms_or(std::int64_t ms, const char* none) {
  return ms < 0 ? std::string{none} : fmt::format("{} ms", ms);
}

} // namespace

void print_drill(std::ostream& out, const v1::DrillReport& r) {
  out << fmt::format("drill #{}: {} -> {}{}: {}\n", r.id(), r.from_site(), r.to_site(),
                     r.failback() ? " and back" : " (no failback)", r.passed() ? "PASS" : "FAIL");
  out << fmt::format("by {}, {} .. {}; overall RTO {}; topology restored: {}\n", r.principal(),
                     format_time(r.started_ms()), format_time(r.finished_ms()),
                     ms_or(r.rto_ms(), "not reached"),
                     r.failback() ? (r.topology_restored() ? "yes" : "NO") : "n/a");
  if (!r.detail().empty())
    out << r.detail() << '\n';
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : r.services())
    rows.push_back({s.service(), s.passed() ? "PASS" : "FAIL", ms_or(s.rto_ms(), "not reached"),
                    fmt::format("{} ms", s.rto_objective_ms()),
                    s.rpo() < 0 ? std::string{"unknown"} : std::to_string(s.rpo()),
                    fmt::format("{} ms", s.rpo_objective_ms()), s.detail()});
  if (!rows.empty())
    print_table(out,
                {"SERVICE", "RESULT", "RTO", "RTO OBJECTIVE", "RPO GAP", "RPO OBJECTIVE", "DETAIL"},
                rows);
}

void print_drills(std::ostream& out, const v1::ListDrillsResponse& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : r.drills()) {
    int passed = 0;
    for (const auto& s : d.services())
      passed += s.passed() ? 1 : 0;
    rows.push_back({std::to_string(d.id()), d.from_site(), d.to_site(),
                    d.passed() ? "PASS" : "FAIL", fmt::format("{}/{}", passed, d.services_size()),
                    ms_or(d.rto_ms(), "-"),
                    d.failback() ? (d.topology_restored() ? "yes" : "NO") : "n/a", d.principal(),
                    format_time(d.started_ms())});
  }
  print_table(out, {"ID", "FROM", "TO", "RESULT", "PASSED", "RTO", "RESTORED", "BY", "STARTED"},
              rows);
}

} // namespace switchyard::cli

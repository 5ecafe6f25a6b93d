// Health history: instance health transitions, failure detections, the
// coordinator's decisions on them, and the availability computed from them.
#include "persistence/sqlite_store.hpp"

#include <map>
#include <utility>

#include <sqlite3.h>

#include "messages/error.hpp"
#include "persistence/availability.hpp"
#include "persistence/sqlite_detail.hpp"
#include "persistence/statement.hpp"

namespace switchyard::persistence {

namespace {

constexpr failure_type all_failure_types[] = {
    failure_type::unreachable, failure_type::recovered,     failure_type::returned,
    failure_type::diverged,    failure_type::rejoin_failed, failure_type::fencing_failed,
    failure_type::degraded,    failure_type::cascading,     failure_type::flapping,
    failure_type::site_wide};
constexpr severity all_severities[] = {severity::info, severity::warning, severity::critical};

} // namespace

caf::expected<void> sqlite_store::record_health(const health_transition& t) {
  auto st = impl_->stmt("INSERT INTO health_events (service, instance, from_status, to_status, "
                        "reason, at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!st)
    return st.error();
  (*st)
      ->bind(1, t.service.value)
      .bind(2, t.instance.value)
      .bind(3, std::string(to_string(t.from)))
      .bind(4, std::string(to_string(t.to)))
      .bind(5, t.reason)
      .bind(6, entered_at_ms(t)); // unhealthy: from the first failed probe (availability)
  return (*st)->run();
}

caf::expected<detection_id> sqlite_store::record_detection(const failure_detection& d) {
  auto st = impl_->stmt("INSERT INTO detections (service, instance, type, severity, "
                        "affects_primary, evidence, at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!st)
    return st.error();
  (*st)
      ->bind(1, d.service.value)
      .bind(2, d.instance.value)
      .bind(3, std::string(to_string(d.type)))
      .bind(4, std::string(to_string(d.level)))
      .bind(5, std::int64_t{d.affects_primary ? 1 : 0})
      .bind(6, d.evidence)
      .bind(7, d.at.time_since_epoch().count() == 0 ? detail::now_ms() : detail::to_ms(d.at));
  if (auto r = (*st)->run(); !r)
    return r.error();
  return detection_id{sqlite3_last_insert_rowid(impl_->db)};
}

caf::expected<std::vector<detection_row>>
sqlite_store::list_detections(const std::string& service) {
  auto st = impl_->stmt("SELECT id, service, instance, type, severity, affects_primary, evidence, "
                        "at_ms FROM detections WHERE ?1 = '' OR service = ?1 ORDER BY id DESC");
  if (!st)
    return st.error();
  (*st)->bind(1, service);
  std::vector<detection_row> rows;
  auto walked = (*st)->each_row([&](const statement& s) {
    detection_row r;
    r.id = detection_id{s.column_int(0)};
    r.service = service_id{s.column_text(1)};
    r.instance = instance_id{s.column_text(2)};
    r.type = detail::parse(s.column_text(3), all_failure_types, failure_type::unreachable);
    r.level = detail::parse(s.column_text(4), all_severities, severity::warning);
    r.affects_primary = s.column_int(5) != 0;
    r.evidence = s.column_text(6);
    r.at_ms = s.column_int(7);
    rows.push_back(std::move(r));
  });
  if (!walked)
    return walked.error();
  return rows;
}

caf::expected<std::int64_t> sqlite_store::record_decision(const decision_record& d) {
  auto st = impl_->stmt("INSERT INTO decisions (service, detection_id, verdict, shadow, reason, "
                        "at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!st)
    return st.error();
  (*st)
      ->bind(1, d.service.value)
      .bind(2, d.detection.value)
      .bind(3, d.verdict)
      .bind(4, std::int64_t{d.shadow ? 1 : 0})
      .bind(5, d.reason)
      .bind(6, d.at_ms == 0 ? detail::now_ms() : d.at_ms);
  if (auto r = (*st)->run(); !r)
    return r.error();
  return sqlite3_last_insert_rowid(impl_->db);
}

caf::expected<decision_record_list> sqlite_store::list_decisions(const std::string& service,
                                                                 std::uint32_t limit) {
  auto st = impl_->stmt("SELECT id, service, detection_id, verdict, shadow, reason, at_ms "
                        "FROM decisions WHERE ?1 = '' OR service = ?1 ORDER BY id DESC LIMIT ?2");
  if (!st)
    return st.error();
  (*st)->bind(1, service).bind(2, static_cast<std::int64_t>(limit));
  decision_record_list rows;
  auto walked = (*st)->each_row([&](const statement& s) {
    rows.push_back(decision_record{s.column_int(0), service_id{s.column_text(1)},
                                   detection_id{s.column_int(2)}, s.column_text(3),
                                   s.column_int(4) != 0, s.column_text(5), s.column_int(6)});
  });
  if (!walked)
    return walked.error();
  return rows;
}

caf::expected<std::int64_t> sqlite_store::count_health_events(const std::string& instance) {
  auto st = impl_->stmt("SELECT count(*) FROM health_events WHERE instance = ?1");
  if (!st)
    return st.error();
  (*st)->bind(1, instance);
  auto row = (*st)->step();
  if (!row)
    return row.error();
  auto n = (*st)->column_int(0);
  (*st)->reset();
  return n;
}

caf::expected<health_event_list> sqlite_store::health_since(std::int64_t since_ms) {
  auto st = impl_->stmt("SELECT service, instance, to_status, at_ms FROM health_events "
                        "WHERE at_ms >= ?1 ORDER BY at_ms, id");
  if (!st)
    return st.error();
  (*st)->bind(1, since_ms);
  health_event_list rows;
  auto walked = (*st)->each_row([&](const statement& s) {
    auto to = s.column_text(2);
    rows.push_back({service_id{s.column_text(0)}, instance_id{s.column_text(1)},
                    to == "healthy"     ? health_status::healthy
                    : to == "unhealthy" ? health_status::unhealthy
                                        : health_status::unknown,
                    s.column_int(3)});
  });
  if (!walked)
    return walked.error();
  return rows;
}

caf::expected<availability_list> sqlite_store::availability(const std::string& service,
                                                            std::int64_t now_ms) {
  constexpr std::int64_t hour = 3'600'000;
  const std::pair<const char*, std::int64_t> windows[] = {
      {"1h", hour}, {"1d", 24 * hour}, {"30d", 30 * 24 * hour}};
  const auto oldest = now_ms - windows[2].second;

  auto services = impl_->stmt("SELECT name, current_primary FROM services WHERE configured = 1 "
                              "AND (?1 = '' OR name = ?1) ORDER BY name");
  if (!services)
    return services.error();
  (*services)->bind(1, service);
  std::vector<std::pair<std::string, std::string>> names;
  if (auto w = (*services)->each_row(
          [&](const statement& s) { names.emplace_back(s.column_text(0), s.column_text(1)); });
      !w)
    return w.error();
  if (!service.empty() && names.empty())
    return make_sy_error(sy_errc::unknown_service, "no service named '" + service + "'");

  availability_list out;
  for (const auto& [name, current_primary] : names) {
    // Each instance's events in the longest window, plus the last one before
    // it (the state the window starts in).
    auto events = impl_->stmt(
        "SELECT instance, to_status, at_ms FROM health_events WHERE service = ?1 AND "
        "(at_ms >= ?2 OR id IN (SELECT max(id) FROM health_events WHERE service = ?1 AND "
        "at_ms < ?2 GROUP BY instance)) ORDER BY at_ms, id");
    if (!events)
      return events.error();
    (*events)->bind(1, name).bind(2, oldest);
    std::map<std::string, std::vector<health_point>> health;
    if (auto w = (*events)->each_row([&](const statement& s) {
          auto to = s.column_text(1);
          health[s.column_text(0)].push_back(
              {s.column_int(2), to == "healthy"     ? health_status::healthy
                                : to == "unhealthy" ? health_status::unhealthy
                                                    : health_status::unknown});
        });
        !w)
      return w.error();
    auto instances = impl_->stmt("SELECT name FROM instances WHERE service = ?1 ORDER BY name");
    if (!instances)
      return instances.error();
    (*instances)->bind(1, name);
    std::vector<std::string> instance_names;
    if (auto w = (*instances)->each_row([&](const statement& s) {
          instance_names.push_back(s.column_text(0));
        });
        !w)
      return w.error();
    // Who was primary when: the first completed switchover's old primary
    // until it finished, then each new primary (none: the current one).
    auto changes =
        impl_->stmt("SELECT from_instance, to_instance, finished_at_ms FROM switchovers "
                    "WHERE service = ?1 AND status = 'completed' ORDER BY finished_at_ms");
    if (!changes)
      return changes.error();
    (*changes)->bind(1, name);
    std::vector<primary_change> primaries;
    if (auto w = (*changes)->each_row([&](const statement& s) {
          if (primaries.empty())
            primaries.push_back({0, s.column_text(0)});
          primaries.push_back({s.column_int(2), s.column_text(1)});
        });
        !w)
      return w.error();
    if (primaries.empty())
      primaries.push_back({0, current_primary});

    for (const auto& [label, length] : windows) {
      auto start = now_ms - length;
      auto u = service_uptime(health, primaries, start, now_ms);
      out.push_back({service_id{name}, instance_id{}, label, length, u.observed_ms, u.down_ms});
      for (const auto& inst : instance_names) {
        auto h = health.find(inst);
        auto iu = h == health.end() ? uptime{} : instance_uptime(h->second, start, now_ms);
        out.push_back(
            {service_id{name}, instance_id{inst}, label, length, iu.observed_ms, iu.down_ms});
      }
    }
  }
  return out;
}

} // namespace switchyard::persistence

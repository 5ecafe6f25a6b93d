// Whole-site switchovers with their participants, and DR drill reports.
#include "persistence/sqlite_store.hpp"

#include <sqlite3.h>

#include "messages/error.hpp"
#include "persistence/sqlite_detail.hpp"
#include "persistence/statement.hpp"

namespace switchyard::persistence {

namespace {

template <class E, std::size_t N> E enum_from(const std::string& text, const E (&all)[N]) {
  for (auto e : all)
    if (text == to_string(e))
      return e;
  return all[0];
}

constexpr site_operation all_operations[] = {site_operation::switchover, site_operation::failback,
                                             site_operation::drill, site_operation::drill_failback};
constexpr site_state all_site_states[] = {site_state::preparing, site_state::committed,
                                          site_state::completed, site_state::failed,
                                          site_state::aborted};
constexpr participant_state all_participant_states[] = {
    participant_state::pending, participant_state::prepared,   participant_state::prepare_failed,
    participant_state::aborted, participant_state::committing, participant_state::committed,
    participant_state::failed};

} // namespace

caf::expected<std::int64_t> sqlite_store::save_site(const site_record& r) {
  std::int64_t id = r.id;
  auto written = impl_->transaction([&]() -> caf::expected<void> {
    auto head = impl_->stmt(
        "INSERT INTO site_switchovers (id, operation, from_site, to_site, state, principal, "
        "reason, drill, parallelism, estimated_rto_ms, started_ms, decided_ms, finished_ms, "
        "detail) VALUES (NULLIF(?1, 0), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
        "ON CONFLICT (id) DO UPDATE SET state = excluded.state, decided_ms = excluded.decided_ms, "
        "finished_ms = excluded.finished_ms, detail = excluded.detail, drill = excluded.drill");
    if (!head)
      return head.error();
    (*head)
        ->bind(1, r.id)
        .bind(2, std::string{to_string(r.operation)})
        .bind(3, r.from_site)
        .bind(4, r.to_site)
        .bind(5, std::string{to_string(r.state)})
        .bind(6, r.principal)
        .bind(7, r.reason)
        .bind(8, r.drill)
        .bind(9, static_cast<std::int64_t>(r.parallelism))
        .bind(10, r.estimated_rto_ms)
        .bind(11, r.started_ms == 0 ? detail::now_ms() : r.started_ms)
        .bind(12, r.decided_ms)
        .bind(13, r.finished_ms)
        .bind(14, r.detail);
    if (auto x = (*head)->run(); !x)
      return x.error();
    if (id == 0)
      id = sqlite3_last_insert_rowid(impl_->db);
    auto part = impl_->stmt(
        "INSERT OR REPLACE INTO site_participants (site_switchover, position, service, "
        "from_instance, to_instance, level, state, switchover_id, estimated_ms, rto_ms, rpo_ms, "
        "gap, detail, prepared_ms, commit_started_ms, commit_finished_ms, verified_ms, verified, "
        "checks) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
        "?17, ?18, ?19)");
    if (!part)
      return part.error();
    std::int64_t position = 0;
    for (const auto& p : r.participants) {
      (*part)
          ->bind(1, id)
          .bind(2, position++)
          .bind(3, p.service.value)
          .bind(4, p.from.value)
          .bind(5, p.to.value)
          .bind(6, static_cast<std::int64_t>(p.level))
          .bind(7, std::string{to_string(p.state)})
          .bind(8, p.switchover.value)
          .bind(9, p.estimated_ms)
          .bind(10, p.rto_ms)
          .bind(11, p.rpo_ms)
          .bind(12, p.gap)
          .bind(13, p.detail)
          .bind(14, p.prepared_ms)
          .bind(15, p.commit_started_ms)
          .bind(16, p.commit_finished_ms)
          .bind(17, p.verified_ms)
          .bind(18, std::int64_t{p.verified ? 1 : 0})
          .bind(19, checks_to_json(p.checks));
      if (auto x = (*part)->run(); !x)
        return x.error();
    }
    return caf::unit;
  });
  if (!written)
    return written.error();
  return id;
}

caf::expected<site_record_list> sqlite_store::list_sites(const site_query& q) {
  auto head = impl_->stmt(
      "SELECT id, operation, from_site, to_site, state, principal, reason, drill, parallelism, "
      "estimated_rto_ms, started_ms, decided_ms, finished_ms, detail FROM site_switchovers "
      "WHERE (?1 <> 0 AND id = ?1) OR (?1 = 0 AND ?2 = 1 AND state IN ('preparing', "
      "'committed')) OR (?1 = 0 AND ?2 = 0) "
      "ORDER BY CASE WHEN ?2 = 1 THEN id ELSE -id END LIMIT ?3");
  if (!head)
    return head.error();
  (*head)
      ->bind(1, q.id)
      .bind(2, std::int64_t{q.unfinished ? 1 : 0})
      .bind(3, q.id != 0      ? std::int64_t{1}
               : q.unfinished ? std::int64_t{-1}
                              : std::int64_t{q.limit});
  site_record_list rows;
  auto walked = (*head)->each_row([&](const statement& s) {
    site_record r;
    r.id = s.column_int(0);
    r.operation = enum_from(s.column_text(1), all_operations);
    r.from_site = s.column_text(2);
    r.to_site = s.column_text(3);
    r.state = enum_from(s.column_text(4), all_site_states);
    r.principal = s.column_text(5);
    r.reason = s.column_text(6);
    r.drill = s.column_int(7);
    r.parallelism = static_cast<std::uint32_t>(s.column_int(8));
    r.estimated_rto_ms = s.column_int(9);
    r.started_ms = s.column_int(10);
    r.decided_ms = s.column_int(11);
    r.finished_ms = s.column_int(12);
    r.detail = s.column_text(13);
    rows.push_back(std::move(r));
  });
  if (!walked)
    return walked.error();
  if (q.id != 0 && rows.empty())
    return make_sy_error(sy_errc::not_found, "no site switchover #" + std::to_string(q.id));
  auto part = impl_->stmt(
      "SELECT service, from_instance, to_instance, level, state, switchover_id, estimated_ms, "
      "rto_ms, rpo_ms, gap, detail, prepared_ms, commit_started_ms, commit_finished_ms, "
      "verified_ms, verified, checks FROM site_participants WHERE site_switchover = ?1 "
      "ORDER BY position");
  if (!part)
    return part.error();
  for (auto& r : rows) {
    (*part)->bind(1, r.id);
    caf::error bad;
    auto each = (*part)->each_row([&](const statement& s) {
      site_participant p;
      p.service = service_id{s.column_text(0)};
      p.from = instance_id{s.column_text(1)};
      p.to = instance_id{s.column_text(2)};
      p.level = static_cast<std::uint32_t>(s.column_int(3));
      p.state = enum_from(s.column_text(4), all_participant_states);
      p.switchover = switchover_id{s.column_int(5)};
      p.estimated_ms = s.column_int(6);
      p.rto_ms = s.column_int(7);
      p.rpo_ms = s.column_int(8);
      p.gap = s.column_int(9);
      p.detail = s.column_text(10);
      p.prepared_ms = s.column_int(11);
      p.commit_started_ms = s.column_int(12);
      p.commit_finished_ms = s.column_int(13);
      p.verified_ms = s.column_int(14);
      p.verified = s.column_int(15) != 0;
      if (auto checks = checks_from_json(s.column_text(16)))
        p.checks = std::move(*checks);
      else
        bad = checks.error();
      r.participants.push_back(std::move(p));
    });
    if (!each)
      return each.error();
    if (bad)
      return bad;
  }
  return rows;
}

caf::expected<std::int64_t> sqlite_store::save_drill(const drill_report& report) {
  std::int64_t id = report.id;
  auto written = impl_->transaction([&]() -> caf::expected<void> {
    if (id == 0) {
      auto ins = impl_->stmt("INSERT INTO drills (from_site, to_site, principal, passed, "
                             "started_ms, finished_ms, report) VALUES (?1, ?2, ?3, 0, ?4, 0, '')");
      if (!ins)
        return ins.error();
      (*ins)
          ->bind(1, report.from_site)
          .bind(2, report.to_site)
          .bind(3, report.principal)
          .bind(4, report.started_ms == 0 ? detail::now_ms() : report.started_ms);
      if (auto x = (*ins)->run(); !x)
        return x.error();
      id = sqlite3_last_insert_rowid(impl_->db);
    }
    auto stored = report;
    stored.id = id;
    auto upd =
        impl_->stmt("UPDATE drills SET passed = ?2, finished_ms = ?3, report = ?4 WHERE id = ?1");
    if (!upd)
      return upd.error();
    (*upd)
        ->bind(1, id)
        .bind(2, std::int64_t{report.passed ? 1 : 0})
        .bind(3, report.finished_ms)
        .bind(4, drill_report_to_json(stored));
    if (auto x = (*upd)->run(); !x)
      return x.error();
    if (report.finished_ms == 0)
      return caf::unit; // per-service results once it has ended
    auto svc = impl_->stmt("INSERT OR REPLACE INTO drill_services (drill, service, passed, "
                           "rto_ms, rpo, finished_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!svc)
      return svc.error();
    for (const auto& s : report.services) {
      (*svc)
          ->bind(1, id)
          .bind(2, s.service.value)
          // A failed drill is no pass for any of its services (LAST DRILL).
          .bind(3, std::int64_t{s.passed && report.passed ? 1 : 0})
          .bind(4, s.rto_ms)
          .bind(5, s.rpo)
          .bind(6, report.finished_ms);
      if (auto x = (*svc)->run(); !x)
        return x.error();
    }
    return caf::unit;
  });
  if (!written)
    return written.error();
  return id;
}

caf::expected<drill_report_list> sqlite_store::list_drills(const drill_query& q) {
  auto st = impl_->stmt("SELECT id, report FROM drills WHERE ?1 = 0 OR id = ?1 "
                        "ORDER BY id DESC LIMIT ?2");
  if (!st)
    return st.error();
  (*st)->bind(1, q.id).bind(2, static_cast<std::int64_t>(q.id != 0 ? 1 : q.limit));
  drill_report_list rows;
  caf::error bad;
  auto walked = (*st)->each_row([&](const statement& s) {
    auto r = drill_report_from_json(s.column_text(1));
    if (!r) {
      bad = r.error();
      return;
    }
    r->id = s.column_int(0);
    rows.push_back(std::move(*r));
  });
  if (!walked)
    return walked.error();
  if (bad)
    return bad;
  if (q.id != 0 && rows.empty())
    return make_sy_error(sy_errc::not_found, "no drill #" + std::to_string(q.id));
  return rows;
}

caf::expected<service_drill_list> sqlite_store::last_drills() {
  auto st = impl_->stmt("SELECT service, drill, finished_ms, passed FROM drill_services d "
                        "WHERE finished_ms = (SELECT max(finished_ms) FROM drill_services e "
                        "WHERE e.service = d.service) ORDER BY service, drill DESC");
  if (!st)
    return st.error();
  service_drill_list rows;
  auto walked = (*st)->each_row([&](const statement& s) {
    auto name = s.column_text(0);
    if (!rows.empty() && rows.back().service.value == name)
      return; // two drills ended in the same millisecond: the newer one
    rows.push_back(
        service_drill{service_id{name}, s.column_int(1), s.column_int(2), s.column_int(3) != 0});
  });
  if (!walked)
    return walked.error();
  return rows;
}

} // namespace switchyard::persistence

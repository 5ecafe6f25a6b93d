// The switchover journal: failover plans, switchovers and their steps,
// written before each side effect and read back after a restart and by the API.
#include "persistence/sqlite_store.hpp"

#include <exception>
#include <optional>

#include <sqlite3.h>

#include "messages/error.hpp"
#include "persistence/sqlite_detail.hpp"
#include "persistence/statement.hpp"

namespace switchyard::persistence {

namespace {

constexpr switchover_kind all_kinds[] = {switchover_kind::automatic_failover,
                                         switchover_kind::planned_switchover,
                                         switchover_kind::forced_failover};
constexpr switchover_status all_statuses[] = {
    switchover_status::running, switchover_status::completed, switchover_status::failed};
constexpr step_phase all_phases[] = {step_phase::demote, step_phase::fence, step_phase::promote,
                                     step_phase::reroute, step_phase::verify};
constexpr step_status all_step_statuses[] = {step_status::started, step_status::done,
                                             step_status::failed};

// One column list and one row mapper for every switchover query.
constexpr const char* select_switchovers =
    "SELECT id, service, kind, status, from_instance, to_instance, detection_id, plan_version, "
    "epoch, reason, detail, started_at_ms, finished_at_ms, leader_epoch FROM switchovers ";

switchover_row read_switchover(const statement& s) {
  switchover_row r;
  r.id = switchover_id{s.column_int(0)};
  r.service = service_id{s.column_text(1)};
  r.kind = detail::parse(s.column_text(2), all_kinds, switchover_kind::automatic_failover);
  r.status = detail::parse(s.column_text(3), all_statuses, switchover_status::failed);
  r.from = instance_id{s.column_text(4)};
  r.to = instance_id{s.column_text(5)};
  r.detection = detection_id{s.column_int(6)};
  r.plan_version = s.column_int(7);
  r.run_epoch = epoch{static_cast<std::uint64_t>(s.column_int(8))};
  r.reason = s.column_text(9);
  r.detail = s.column_text(10);
  r.started_at_ms = s.column_int(11);
  r.finished_at_ms = s.column_int(12);
  r.leader_epoch = s.column_int(13);
  return r;
}

// Runs `write` inside a savepoint: a write of several rows that fails half-way
// leaves none of them (in a group commit's transaction too, whose other
// writes stay). Outside a transaction the savepoint is one of its own.
template <class Write> auto all_or_nothing(sqlite3* db, Write write) -> decltype(write()) {
  if (auto sp = exec_sql(db, "SAVEPOINT all_or_nothing", "opening a savepoint"); !sp)
    return sp.error();
  auto r = write();
  if (r) {
    if (auto rel = exec_sql(db, "RELEASE all_or_nothing", "releasing a savepoint"); !rel)
      r = rel.error();
  }
  if (!r) {
    (void)exec_sql(db, "ROLLBACK TO all_or_nothing");
    (void)exec_sql(db, "RELEASE all_or_nothing");
  }
  return r;
}

} // namespace

caf::expected<std::int64_t> sqlite_store::save_plan(const failover_plan& plan) {
  std::string json;
  try { // nlohmann is the one library here that throws: stop it at this edge
    json = plan_to_json(plan);
  } catch (const std::exception& e) {
    return make_sy_error(sy_errc::storage_failure, "encoding the plan of service '" +
                                                       plan.service.value +
                                                       "' as JSON: " + e.what());
  }
  auto latest = latest_plan(plan.service.value);
  if (!latest)
    return latest.error();
  if (*latest && (*latest)->json == json)
    return (*latest)->version;
  auto version = *latest ? (*latest)->version + 1 : 1;
  auto st = impl_->stmt("INSERT INTO failover_plans (service, version, plan_json, created_at_ms) "
                        "VALUES (?1, ?2, ?3, ?4)");
  if (!st)
    return st.error();
  (*st)->bind(1, plan.service.value).bind(2, version).bind(3, json).bind(4, detail::now_ms());
  if (auto r = (*st)->run(); !r)
    return r.error();
  return version;
}

caf::expected<switchover_id> sqlite_store::begin_switchover(const switchover_start& s) {
  // Reserved by the runner beforehand (switchover_ids.hpp), or taken now.
  auto id = s.id.value != 0 ? s.id.value : impl_->ids->next();
  impl_->ids->seen(id);
  auto st = impl_->stmt(
      "INSERT INTO switchovers (id, service, kind, status, from_instance, to_instance, "
      "detection_id, plan_version, epoch, reason, started_at_ms, leader_epoch) VALUES (?10, ?1, "
      "?2, 'running', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?11)");
  if (!st)
    return st.error();
  (*st)
      ->bind(10, id)
      .bind(1, s.service.value)
      .bind(2, std::string(to_string(s.kind)))
      .bind(3, s.from.value)
      .bind(4, s.to.value)
      .bind(5, s.detection.value)
      .bind(6, s.plan_version)
      .bind(7, static_cast<std::int64_t>(s.new_epoch.value))
      .bind(8, s.reason)
      .bind(9, detail::now_ms())
      .bind(11, s.leader_epoch);
  if (auto r = (*st)->run(); !r)
    return r.error();
  return switchover_id{id};
}

caf::expected<switchover_id> sqlite_store::open_switchover(switchover_start s) {
  if (!s.persist_plan && s.decision.verdict.empty())
    return begin_switchover(s);
  return all_or_nothing(impl_->db, [&]() -> caf::expected<switchover_id> {
    if (!s.decision.verdict.empty())
      if (auto d = record_decision(s.decision); !d)
        return d.error();
    if (s.persist_plan) {
      auto version = save_plan(s.plan);
      if (!version)
        return version.error();
      s.plan_version = *version;
    }
    return begin_switchover(s);
  });
}

caf::expected<step_id> sqlite_store::open_switchover_with_step(switchover_start s,
                                                               step_start first) {
  return all_or_nothing(impl_->db, [&]() -> caf::expected<step_id> {
    auto opened = open_switchover(std::move(s));
    if (!opened)
      return opened.error();
    first.switchover = *opened;
    return begin_step(first);
  });
}

caf::expected<step_id> sqlite_store::begin_step(const step_start& s) {
  // A step found `started` again is one a stopped switchyardd was running: it
  // is re-run (actions are idempotent) under the same row. A `done` or
  // `failed` one is never re-run: no row comes back and that is an error.
  auto st = impl_->stmt(
      "INSERT INTO switchover_steps (switchover_id, sequence, phase, name, action_kind, target, "
      "epoch, status, started_at_ms, leader_epoch) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'started', "
      "?8, ?9) ON CONFLICT (switchover_id, sequence) DO UPDATE SET started_at_ms = "
      "excluded.started_at_ms, leader_epoch = excluded.leader_epoch, "
      "detail = 're-run: switchyardd stopped while it ran' WHERE status = 'started' RETURNING id");
  if (!st)
    return st.error();
  (*st)
      ->bind(1, s.switchover.value)
      .bind(2, static_cast<std::int64_t>(s.step.sequence))
      .bind(3, std::string(to_string(s.step.phase)))
      .bind(4, s.step.name)
      .bind(5, s.step.action_kind)
      .bind(6, s.step.target.value)
      .bind(7, static_cast<std::int64_t>(s.run_epoch.value))
      .bind(8, detail::now_ms())
      .bind(9, s.leader_epoch);
  auto row = (*st)->step();
  if (!row)
    return row.error();
  if (!*row) {
    (*st)->reset();
    return storage_error_at(impl_->db, "step " + std::to_string(s.step.sequence) +
                                           " of switchover #" + std::to_string(s.switchover.value) +
                                           " is already journaled as finished");
  }
  step_id id{(*st)->column_int(0)};
  (*st)->reset();
  return id;
}

caf::expected<void> sqlite_store::finish_step(const step_finish& s) {
  auto st = impl_->stmt("UPDATE switchover_steps SET status = ?2, detail = ?3, finished_at_ms = ?4 "
                        "WHERE id = ?1 AND status = 'started'");
  if (!st)
    return st.error();
  (*st)
      ->bind(1, s.step.value)
      .bind(2, std::string(s.ok ? "done" : "failed"))
      .bind(3, s.detail)
      .bind(4, detail::now_ms());
  if (auto r = (*st)->run(); !r)
    return r.error();
  if (sqlite3_changes(impl_->db) != 1)
    return make_sy_error(sy_errc::storage_failure, "step #" + std::to_string(s.step.value) +
                                                       " is not a started step of any switchover");
  return caf::unit;
}

caf::expected<void> sqlite_store::finish_switchover(const switchover_finish& s) {
  return impl_->transaction([&]() -> caf::expected<void> {
    auto now = detail::now_ms();
    auto st = impl_->stmt("UPDATE switchovers SET status = ?2, detail = ?3, finished_at_ms = ?4 "
                          "WHERE id = ?1 AND status = 'running'");
    if (!st)
      return st.error();
    (*st)
        ->bind(1, s.switchover.value)
        .bind(2, std::string(to_string(s.status)))
        .bind(3, s.detail)
        .bind(4, now);
    if (auto r = (*st)->run(); !r)
      return r.error();
    if (sqlite3_changes(impl_->db) != 1)
      return make_sy_error(sy_errc::storage_failure, "switchover #" +
                                                         std::to_string(s.switchover.value) +
                                                         " is not a running switchover");
    if (s.status != switchover_status::completed)
      return caf::unit;
    auto topo = impl_->stmt("UPDATE services SET current_primary = ?2, epoch = ?3, "
                            "last_failover_ms = ?4, updated_at_ms = ?4 WHERE name = ?1");
    if (!topo)
      return topo.error();
    (*topo)
        ->bind(1, s.service.value)
        .bind(2, s.new_primary.value)
        .bind(3, static_cast<std::int64_t>(s.new_epoch.value))
        .bind(4, now);
    if (auto r = (*topo)->run(); !r)
      return r.error();
    if (sqlite3_changes(impl_->db) != 1)
      return make_sy_error(sy_errc::unknown_service,
                           "service '" + s.service.value + "' is not in the database");
    return caf::unit;
  });
}

caf::expected<switchover_kind> sqlite_store::switchover_kind_of(switchover_id id) {
  auto st = impl_->stmt("SELECT kind FROM switchovers WHERE id = ?1");
  if (!st)
    return st.error();
  (*st)->bind(1, id.value);
  auto row = (*st)->step();
  if (!row)
    return row.error();
  if (!*row) {
    (*st)->reset();
    return make_sy_error(sy_errc::unknown_switchover, "no switchover #" + std::to_string(id.value));
  }
  auto kind = detail::parse((*st)->column_text(0), all_kinds, switchover_kind::automatic_failover);
  (*st)->reset();
  return kind;
}

caf::expected<interrupted_list> sqlite_store::interrupted_switchovers() {
  auto sel =
      impl_->stmt(std::string(select_switchovers) + "WHERE status = 'running' ORDER BY id ASC");
  if (!sel)
    return sel.error();
  interrupted_list out;
  if (auto walked = (*sel)->each_row([&](const statement& s) {
        interrupted_switchover i;
        i.switchover = read_switchover(s);
        out.push_back(std::move(i));
      });
      !walked)
    return walked.error();
  for (auto& i : out) {
    auto steps = list_steps(i.switchover.id);
    if (!steps)
      return steps.error();
    i.steps = std::move(*steps);
    auto plan = impl_->stmt("SELECT plan_json FROM failover_plans WHERE service = ?1 AND "
                            "version = ?2");
    if (!plan)
      return plan.error();
    (*plan)->bind(1, i.switchover.service.value).bind(2, i.switchover.plan_version);
    auto row = (*plan)->step();
    if (!row)
      return row.error();
    if (!*row) {
      (*plan)->reset();
      i.problem = "its plan (version " + std::to_string(i.switchover.plan_version) +
                  ") is not in the database";
      continue;
    }
    auto parsed = plan_from_json((*plan)->column_text(0));
    (*plan)->reset();
    if (!parsed) {
      i.problem = describe(parsed.error());
      continue;
    }
    i.plan = std::move(*parsed);
    i.has_plan = true;
  }
  return out;
}

caf::expected<switchover_detail> sqlite_store::get_switchover(switchover_id id) {
  auto st = impl_->stmt(std::string(select_switchovers) + "WHERE id = ?1");
  if (!st)
    return st.error();
  (*st)->bind(1, id.value);
  std::optional<switchover_row> found;
  if (auto walked = (*st)->each_row([&](const statement& s) { found = read_switchover(s); });
      !walked)
    return walked.error();
  if (found) {
    auto steps = list_steps(id);
    if (!steps)
      return steps.error();
    return switchover_detail{std::move(*found), std::move(*steps)};
  }
  return make_sy_error(sy_errc::unknown_switchover, "no switchover #" + std::to_string(id.value));
}

caf::expected<std::vector<switchover_row>>
sqlite_store::list_switchovers(const std::string& service) {
  auto st = impl_->stmt(std::string(select_switchovers) +
                        "WHERE ?1 = '' OR service = ?1 ORDER BY id DESC");
  if (!st)
    return st.error();
  (*st)->bind(1, service);
  std::vector<switchover_row> rows;
  auto walked = (*st)->each_row([&](const statement& s) { rows.push_back(read_switchover(s)); });
  if (!walked)
    return walked.error();
  return rows;
}

caf::expected<std::vector<step_row>> sqlite_store::list_steps(switchover_id id) {
  auto st = impl_->stmt("SELECT id, switchover_id, sequence, phase, name, action_kind, target, "
                        "epoch, status, detail, started_at_ms, finished_at_ms, leader_epoch "
                        "FROM switchover_steps WHERE switchover_id = ?1 ORDER BY sequence");
  if (!st)
    return st.error();
  (*st)->bind(1, id.value);
  std::vector<step_row> rows;
  auto walked = (*st)->each_row([&](const statement& s) {
    step_row r;
    r.id = step_id{s.column_int(0)};
    r.switchover = switchover_id{s.column_int(1)};
    r.sequence = static_cast<std::uint32_t>(s.column_int(2));
    r.phase = detail::parse(s.column_text(3), all_phases, step_phase::fence);
    r.name = s.column_text(4);
    r.action_kind = s.column_text(5);
    r.target = instance_id{s.column_text(6)};
    r.run_epoch = epoch{static_cast<std::uint64_t>(s.column_int(7))};
    r.status = detail::parse(s.column_text(8), all_step_statuses, step_status::failed);
    r.detail = s.column_text(9);
    r.started_at_ms = s.column_int(10);
    r.finished_at_ms = s.column_int(11);
    r.leader_epoch = s.column_int(12);
    rows.push_back(std::move(r));
  });
  if (!walked)
    return walked.error();
  return rows;
}

caf::expected<std::optional<plan_row>> sqlite_store::latest_plan(const std::string& service) {
  auto st = impl_->stmt("SELECT version, plan_json, created_at_ms FROM failover_plans "
                        "WHERE service = ?1 ORDER BY version DESC LIMIT 1");
  if (!st)
    return st.error();
  (*st)->bind(1, service);
  auto row = (*st)->step();
  if (!row)
    return row.error();
  std::optional<plan_row> result;
  if (*row)
    result = plan_row{service_id{service}, (*st)->column_int(0), (*st)->column_text(1),
                      (*st)->column_int(2)};
  (*st)->reset();
  return result;
}

} // namespace switchyard::persistence

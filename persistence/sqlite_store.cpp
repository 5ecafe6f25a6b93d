// The SQLite store: opening and migrating the file, and every query and
// write, each through a statement prepared once per connection.
#include "persistence/sqlite_store.hpp"
#include "persistence/switchover_ids.hpp"

#include <chrono>
#include <exception>
#include <map>
#include <set>

#include <sqlite3.h>

#include "messages/error.hpp"
#include "persistence/availability.hpp"
#include "persistence/migrations.hpp"
#include "persistence/statement.hpp"

namespace switchyard::persistence {

namespace {

// How long a statement waits for another connection's lock before failing.
constexpr std::chrono::milliseconds busy_timeout{5000};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t to_ms(caf::timestamp t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Parses a to_string() name back; unknown text maps to `fallback`.
template <class Enum, std::size_t N>
Enum parse(const std::string& text, const Enum (&values)[N], Enum fallback) {
  for (auto v : values)
    if (text == to_string(v))
      return v;
  return fallback;
}

constexpr switchover_kind all_kinds[] = {switchover_kind::automatic_failover,
                                         switchover_kind::planned_switchover,
                                         switchover_kind::forced_failover};
constexpr switchover_status all_statuses[] = {
    switchover_status::running, switchover_status::completed, switchover_status::failed};
constexpr step_phase all_phases[] = {step_phase::demote, step_phase::fence, step_phase::promote,
                                     step_phase::reroute, step_phase::verify};
constexpr step_status all_step_statuses[] = {step_status::started, step_status::done,
                                             step_status::failed};
constexpr failure_type all_failure_types[] = {
    failure_type::unreachable, failure_type::recovered,     failure_type::returned,
    failure_type::diverged,    failure_type::rejoin_failed, failure_type::fencing_failed,
    failure_type::degraded,    failure_type::cascading,     failure_type::flapping,
    failure_type::site_wide};
constexpr severity all_severities[] = {severity::info, severity::warning, severity::critical};

// One column list and one row mapper for every switchover query.
constexpr const char* select_switchovers =
    "SELECT id, service, kind, status, from_instance, to_instance, detection_id, plan_version, "
    "epoch, reason, detail, started_at_ms, finished_at_ms FROM switchovers ";

switchover_row read_switchover(const statement& s) {
  switchover_row r;
  r.id = switchover_id{s.column_int(0)};
  r.service = service_id{s.column_text(1)};
  r.kind = parse(s.column_text(2), all_kinds, switchover_kind::automatic_failover);
  r.status = parse(s.column_text(3), all_statuses, switchover_status::failed);
  r.from = instance_id{s.column_text(4)};
  r.to = instance_id{s.column_text(5)};
  r.detection = detection_id{s.column_int(6)};
  r.plan_version = s.column_int(7);
  r.run_epoch = epoch{static_cast<std::uint64_t>(s.column_int(8))};
  r.reason = s.column_text(9);
  r.detail = s.column_text(10);
  r.started_at_ms = s.column_int(11);
  r.finished_at_ms = s.column_int(12);
  return r;
}

} // namespace

struct sqlite_store::impl {
  sqlite3* db = nullptr;
  std::map<std::string, statement> cache;
  std::shared_ptr<switchover_ids> ids; ///< where every switchover row's id comes from

  ~impl() {
    cache.clear(); // statements before the connection
    if (db != nullptr)
      sqlite3_close(db);
  }

  // Prepares each distinct SQL text once, then reuses it.
  caf::expected<statement*> stmt(const std::string& sql) {
    auto i = cache.find(sql);
    if (i != cache.end())
      return &i->second;
    auto st = statement::prepare(db, sql);
    if (!st)
      return st.error();
    return &cache.emplace(sql, std::move(*st)).first->second;
  }

  // Runs a cached statement that returns no rows.
  caf::expected<void> run(const std::string& sql) {
    auto st = stmt(sql);
    if (!st)
      return st.error();
    return (*st)->run();
  }

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back on error.
  // IMMEDIATE takes the write lock up front, so a busy database fails (after
  // busy_timeout) before anything is written rather than halfway through.
  // Inside a batch (group commit) it is a savepoint of the batch's transaction:
  // all or nothing of `body`, durable when the batch commits.
  template <class F> caf::expected<void> transaction(F&& body) {
    if (in_batch) {
      if (auto b = run("SAVEPOINT sy_write"); !b)
        return b.error();
      caf::expected<void> r = body();
      if (!r) {
        (void)run("ROLLBACK TO sy_write");
        (void)run("RELEASE sy_write");
        return r.error();
      }
      if (auto c = run("RELEASE sy_write"); !c) {
        (void)run("ROLLBACK TO sy_write");
        (void)run("RELEASE sy_write");
        return c.error();
      }
      return caf::unit;
    }
    if (auto b = run("BEGIN IMMEDIATE"); !b)
      return b.error();
    caf::expected<void> r = body();
    if (!r) {
      (void)run("ROLLBACK");
      return r.error();
    }
    if (auto c = run("COMMIT"); !c) {
      (void)run("ROLLBACK");
      return c.error();
    }
    return caf::unit;
  }

  bool in_batch = false;
};

sqlite_store::sqlite_store(sqlite3* db) : impl_(std::make_unique<impl>()) {
  impl_->db = db;
}

sqlite_store::~sqlite_store() = default;

// Every error below reads "<what was being done>: <why> (<path>)".
caf::expected<std::unique_ptr<sqlite_store>> sqlite_store::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  // The store owns the handle from here on, so it is closed on every error path.
  std::unique_ptr<sqlite_store> store{new sqlite_store(db)};
  if (rc != SQLITE_OK)
    return make_sy_error(sy_errc::storage_failure,
                         "opening the database: " +
                             std::string(db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) +
                             " (" + path + ")");
  // busy_timeout first: the pragmas and migrations below may wait for another
  // connection. synchronous=FULL: a journaled step must survive a power cut;
  // durability beats speed here.
  if (auto r = exec_sql(db, "PRAGMA busy_timeout=" + std::to_string(busy_timeout.count())); !r)
    return r.error();
  for (const char* pragma : {"PRAGMA foreign_keys=ON", "PRAGMA synchronous=FULL"})
    if (auto r = exec_sql(db, pragma); !r)
      return r.error();
  auto mode = store->journal_mode_set_wal();
  if (!mode)
    return mode.error();
  if (*mode != "wal" && path != ":memory:")
    return storage_error_at(db, "switching to WAL mode: SQLite kept journal_mode '" + *mode + "'");
  // A database without a schema yet was just created: nobody holds an id of it.
  bool fresh = store->schema_version() == 0;
  if (auto m = migrate(db); !m)
    return m.error();
  auto highest = store->impl_->stmt("SELECT coalesce(max(id), 0) FROM switchovers");
  if (!highest)
    return highest.error();
  auto row = (*highest)->step();
  if (!row)
    return row.error();
  store->impl_->ids = switchover_ids::for_database(path, fresh);
  store->impl_->ids->seen((*highest)->column_int(0));
  (*highest)->reset();
  return store;
}

caf::expected<std::string> sqlite_store::journal_mode_set_wal() {
  auto st = impl_->stmt("PRAGMA journal_mode=WAL");
  if (!st)
    return st.error();
  // Switching to WAL needs an exclusive lock, and SQLite reports SQLITE_BUSY
  // at once, without its busy handler, when another connection is switching
  // the same fresh file. So retry for as long as busy_timeout would wait.
  auto deadline = std::chrono::steady_clock::now() + busy_timeout;
  while (true) {
    auto row = (*st)->step();
    if (row) {
      auto mode = *row ? (*st)->column_text(0) : std::string{};
      (*st)->reset();
      return mode;
    }
    if (sqlite3_errcode(impl_->db) != SQLITE_BUSY || std::chrono::steady_clock::now() > deadline)
      return row.error();
    sqlite3_sleep(10);
  }
}

int sqlite_store::schema_version() const {
  auto st = impl_->stmt("PRAGMA user_version");
  if (!st)
    return -1;
  auto row = (*st)->step();
  int v = row && *row ? static_cast<int>((*st)->column_int(0)) : -1;
  (*st)->reset();
  return v;
}

std::string sqlite_store::journal_mode() const {
  auto st = impl_->stmt("PRAGMA journal_mode");
  if (!st)
    return "?";
  auto row = (*st)->step();
  auto mode = row && *row ? (*st)->column_text(0) : std::string{"?"};
  (*st)->reset();
  return mode;
}

// Services that disappear from the file keep their rows and instances
// (history stays readable) but are marked unconfigured and left out of
// load_topology. If one comes back, it is a known service again.
caf::expected<void> sqlite_store::sync_config(const config::switchyard_config& cfg) {
  return impl_->transaction([&]() -> caf::expected<void> {
    auto now = now_ms();
    if (auto r = impl_->run("UPDATE services SET configured = 0"); !r)
      return r.error();
    for (const auto& svc : cfg.services) {
      std::string configured_primary;
      std::set<std::string> names;
      for (const auto& i : svc.instances) {
        names.insert(i.name);
        if (i.role == config::instance_role::primary)
          configured_primary = i.name;
      }
      auto sel = impl_->stmt("SELECT current_primary, epoch FROM services WHERE name = ?1");
      if (!sel)
        return sel.error();
      (*sel)->bind(1, svc.name);
      auto row = (*sel)->step();
      if (!row)
        return row.error();
      bool known = *row;
      std::string primary = known ? (*sel)->column_text(0) : configured_primary;
      std::int64_t epoch_value = known ? (*sel)->column_int(1) : 1;
      (*sel)->reset();
      if (known && !names.count(primary)) {
        // The persisted primary is no longer configured: the file's primary
        // takes over, under a new epoch so stale actors can be told apart.
        primary = configured_primary;
        ++epoch_value;
      }
      auto up = impl_->stmt(
          "INSERT INTO services (name, current_primary, epoch, configured, updated_at_ms) "
          "VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT(name) DO UPDATE SET current_primary = ?2, "
          "epoch = ?3, configured = 1, updated_at_ms = ?4");
      if (!up)
        return up.error();
      (*up)->bind(1, svc.name).bind(2, primary).bind(3, epoch_value).bind(4, now);
      if (auto r = (*up)->run(); !r)
        return r.error();
      auto del = impl_->stmt("DELETE FROM instances WHERE service = ?1");
      if (!del)
        return del.error();
      (*del)->bind(1, svc.name);
      if (auto r = (*del)->run(); !r)
        return r.error();
      for (const auto& i : svc.instances) {
        auto ins = impl_->stmt("INSERT INTO instances (name, service, host, port, site, role, "
                               "priority) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                               "ON CONFLICT(name) DO UPDATE SET service = ?2, host = ?3, "
                               "port = ?4, site = ?5, role = ?6, priority = ?7");
        if (!ins)
          return ins.error();
        (*ins)
            ->bind(1, i.name)
            .bind(2, svc.name)
            .bind(3, i.host)
            .bind(4, static_cast<std::int64_t>(i.port))
            .bind(5, i.site)
            .bind(6, std::string(config::to_string(i.role)))
            .bind(7, static_cast<std::int64_t>(i.priority));
        if (auto r = (*ins)->run(); !r)
          return r.error();
      }
    }
    return caf::unit;
  });
}

caf::expected<topology_list> sqlite_store::load_topology() {
  // The latest failover is the later of the last completed one and the start
  // of the newest switchover of any outcome (a failed attempt starts the block
  // period too, as it does in a running coordinator).
  auto st = impl_->stmt(
      "SELECT s.name, s.current_primary, s.epoch, MAX(s.last_failover_ms, COALESCE((SELECT "
      "MAX(w.started_at_ms) FROM switchovers w WHERE w.service = s.name), 0)) FROM services s "
      "WHERE s.configured = 1 ORDER BY s.name");
  if (!st)
    return st.error();
  topology_list result;
  auto walked = (*st)->each_row([&](const statement& s) {
    service_topology t;
    t.service = service_id{s.column_text(0)};
    t.primary = instance_id{s.column_text(1)};
    t.current_epoch = epoch{static_cast<std::uint64_t>(s.column_int(2))};
    t.last_failover = caf::timestamp{std::chrono::milliseconds{s.column_int(3)}};
    result.push_back(std::move(t));
  });
  if (!walked)
    return walked.error();
  return result;
}

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
      .bind(7, d.at.time_since_epoch().count() == 0 ? now_ms() : to_ms(d.at));
  if (auto r = (*st)->run(); !r)
    return r.error();
  return detection_id{sqlite3_last_insert_rowid(impl_->db)};
}

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
  (*st)->bind(1, plan.service.value).bind(2, version).bind(3, json).bind(4, now_ms());
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
      "detection_id, plan_version, epoch, reason, started_at_ms) VALUES (?10, ?1, ?2, 'running', "
      "?3, ?4, ?5, ?6, ?7, ?8, ?9)");
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
      .bind(9, now_ms());
  if (auto r = (*st)->run(); !r)
    return r.error();
  return switchover_id{id};
}

namespace {

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

caf::expected<switchover_id> sqlite_store::open_switchover(switchover_start s) {
  if (!s.persist_plan)
    return begin_switchover(s);
  return all_or_nothing(impl_->db, [&]() -> caf::expected<switchover_id> {
    auto version = save_plan(s.plan);
    if (!version)
      return version.error();
    s.plan_version = *version;
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
      "epoch, status, started_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'started', ?8) "
      "ON CONFLICT (switchover_id, sequence) DO UPDATE SET started_at_ms = excluded.started_at_ms, "
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
      .bind(8, now_ms());
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
      .bind(4, now_ms());
  if (auto r = (*st)->run(); !r)
    return r.error();
  if (sqlite3_changes(impl_->db) != 1)
    return make_sy_error(sy_errc::storage_failure, "step #" + std::to_string(s.step.value) +
                                                       " is not a started step of any switchover");
  return caf::unit;
}

caf::expected<void> sqlite_store::finish_switchover(const switchover_finish& s) {
  return impl_->transaction([&]() -> caf::expected<void> {
    auto now = now_ms();
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
  auto kind = parse((*st)->column_text(0), all_kinds, switchover_kind::automatic_failover);
  (*st)->reset();
  return kind;
}

caf::expected<void> sqlite_store::begin_batch() {
  if (impl_->in_batch)
    return make_sy_error(sy_errc::storage_failure, "a batch is already open");
  if (auto b = impl_->run("BEGIN IMMEDIATE"); !b)
    return b.error();
  impl_->in_batch = true;
  return caf::unit;
}

caf::expected<void> sqlite_store::commit_batch() {
  if (!impl_->in_batch)
    return make_sy_error(sy_errc::storage_failure, "no batch is open");
  impl_->in_batch = false;
  if (auto c = impl_->run("COMMIT"); !c) {
    // A failed COMMIT may leave the transaction open (e.g. a deferred
    // constraint): roll it back so nothing of the batch is written.
    if (sqlite3_get_autocommit(impl_->db) == 0)
      (void)impl_->run("ROLLBACK");
    return c.error();
  }
  return caf::unit;
}

void sqlite_store::rollback_batch() {
  if (!impl_->in_batch)
    return;
  impl_->in_batch = false;
  if (sqlite3_get_autocommit(impl_->db) == 0)
    (void)impl_->run("ROLLBACK");
}

bool sqlite_store::in_batch() const {
  return impl_->in_batch;
}

bool sqlite_store::batch_intact() const {
  return impl_->in_batch && sqlite3_get_autocommit(impl_->db) == 0;
}

caf::expected<void> sqlite_store::exec_for_testing(const std::string& sql) {
  return exec_sql(impl_->db, sql);
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
                        "epoch, status, detail, started_at_ms, finished_at_ms "
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
    r.phase = parse(s.column_text(3), all_phases, step_phase::fence);
    r.name = s.column_text(4);
    r.action_kind = s.column_text(5);
    r.target = instance_id{s.column_text(6)};
    r.run_epoch = epoch{static_cast<std::uint64_t>(s.column_int(7))};
    r.status = parse(s.column_text(8), all_step_statuses, step_status::failed);
    r.detail = s.column_text(9);
    r.started_at_ms = s.column_int(10);
    r.finished_at_ms = s.column_int(11);
    rows.push_back(std::move(r));
  });
  if (!walked)
    return walked.error();
  return rows;
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
    r.type = parse(s.column_text(3), all_failure_types, failure_type::unreachable);
    r.level = parse(s.column_text(4), all_severities, severity::warning);
    r.affects_primary = s.column_int(5) != 0;
    r.evidence = s.column_text(6);
    r.at_ms = s.column_int(7);
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
      .bind(6, d.at_ms == 0 ? now_ms() : d.at_ms);
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

caf::expected<std::int64_t> sqlite_store::record_audit(const audit_record& a) {
  auto st = impl_->stmt("INSERT INTO audit (principal, role, call, arguments, result, at_ms) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!st)
    return st.error();
  (*st)
      ->bind(1, a.principal)
      .bind(2, a.role)
      .bind(3, a.call)
      .bind(4, a.arguments)
      .bind(5, a.result)
      .bind(6, a.at_ms == 0 ? now_ms() : a.at_ms);
  if (auto r = (*st)->run(); !r)
    return r.error();
  return sqlite3_last_insert_rowid(impl_->db);
}

caf::expected<void> sqlite_store::set_maintenance(const maintenance_record& m) {
  auto st = impl_->stmt("INSERT OR REPLACE INTO maintenance (service, instance, reason, principal, "
                        "since_ms, until_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!st)
    return st.error();
  (*st)
      ->bind(1, m.service.value)
      .bind(2, m.instance.value)
      .bind(3, m.reason)
      .bind(4, m.principal)
      .bind(5, m.since_ms == 0 ? now_ms() : m.since_ms)
      .bind(6, m.until_ms);
  return (*st)->run();
}

caf::expected<void> sqlite_store::clear_maintenance(const maintenance_clear& m) {
  auto st = impl_->stmt("DELETE FROM maintenance WHERE service = ?1 AND instance = ?2");
  if (!st)
    return st.error();
  (*st)->bind(1, m.service.value).bind(2, m.instance.value);
  return (*st)->run();
}

caf::expected<maintenance_list> sqlite_store::list_maintenance(std::int64_t now) {
  auto expired = impl_->stmt("DELETE FROM maintenance WHERE until_ms > 0 AND until_ms <= ?1");
  if (!expired)
    return expired.error();
  (*expired)->bind(1, now);
  if (auto r = (*expired)->run(); !r)
    return r.error();
  auto st = impl_->stmt("SELECT service, instance, reason, principal, since_ms, until_ms "
                        "FROM maintenance ORDER BY service, instance");
  if (!st)
    return st.error();
  maintenance_list rows;
  auto walked = (*st)->each_row([&](const statement& s) {
    rows.push_back(maintenance_record{service_id{s.column_text(0)}, instance_id{s.column_text(1)},
                                      s.column_text(2), s.column_text(3), s.column_int(4),
                                      s.column_int(5)});
  });
  if (!walked)
    return walked.error();
  return rows;
}

caf::expected<audit_record_list> sqlite_store::list_audit(std::uint32_t limit) {
  auto st = impl_->stmt("SELECT id, principal, role, call, arguments, result, at_ms FROM audit "
                        "ORDER BY id DESC LIMIT ?1");
  if (!st)
    return st.error();
  (*st)->bind(1, static_cast<std::int64_t>(limit));
  audit_record_list rows;
  auto walked = (*st)->each_row([&](const statement& s) {
    rows.push_back(audit_record{s.column_int(0), s.column_text(1), s.column_text(2),
                                s.column_text(3), s.column_text(4), s.column_text(5),
                                s.column_int(6)});
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

// -- site switchovers and drills ------------------------------------------------

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
        .bind(11, r.started_ms == 0 ? now_ms() : r.started_ms)
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
          .bind(4, report.started_ms == 0 ? now_ms() : report.started_ms);
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

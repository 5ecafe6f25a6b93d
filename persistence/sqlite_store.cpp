// The SQLite store: opening and migrating the file, group commits, and the
// configured services' topology. The other subjects are defined in their own
// files over the same connection and statement cache (persistence/sqlite_detail.hpp).
#include "persistence/sqlite_store.hpp"

#include <chrono>
#include <set>

#include <sqlite3.h>

#include "messages/error.hpp"
#include "persistence/migrations.hpp"
#include "persistence/sqlite_detail.hpp"
#include "persistence/statement.hpp"

namespace switchyard::persistence {

namespace {

// How long a statement waits for another connection's lock before failing.
constexpr std::chrono::milliseconds busy_timeout{5000};

} // namespace

sqlite_store::impl::~impl() {
  cache.clear(); // statements before the connection
  if (db != nullptr)
    sqlite3_close(db);
}

sqlite_store::sqlite_store(sqlite3* db) : impl_(std::make_unique<impl>(db)) {}

sqlite_store::~sqlite_store() = default;

// Every error below reads "<what was being done>: <why> (<path>)".
caf::expected<std::unique_ptr<sqlite_store>> sqlite_store::open(const std::string& path,
                                                                std::shared_ptr<switchover_ids> ids,
                                                                int checkpoint_pages) {
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
  if (*mode == "wal") {
    auto checkpointer = wal_checkpointer::start(path, checkpoint_pages);
    if (!checkpointer)
      return checkpointer.error();
    store->impl_->checkpointer = std::move(*checkpointer);
    store->impl_->checkpointer->attach(db);
  }
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
  if (!ids)
    ids = std::make_shared<switchover_ids>();
  if (fresh)
    ids->restart();
  ids->seen((*highest)->column_int(0));
  store->impl_->ids = std::move(ids);
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

std::uint64_t sqlite_store::background_checkpoints() const {
  return impl_->checkpointer ? impl_->checkpointer->checkpoints() : 0;
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
    auto now = detail::now_ms();
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

} // namespace switchyard::persistence

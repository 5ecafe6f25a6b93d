// The backup catalog: every backup of every tier, its chain link, sizes, sum,
// status and verification.
#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include <sqlite3.h>

#include "messages/error.hpp"
#include "persistence/sqlite_detail.hpp"
#include "persistence/sqlite_store.hpp"
#include "persistence/statement.hpp"

namespace switchyard::persistence {

namespace {

constexpr const char* backup_columns =
    "id, service, policy, tier, destination, site, medium, kind, parent, artifact, status, error, "
    "source, trigger, raw_bytes, stored_bytes, sha256, started_ms, finished_ms, point_ms, "
    "verified_ms, leader_epoch, facts, origin, origin_id";

backup_record read_backup(const statement& s) {
  backup_record b;
  b.id = s.column_int(0);
  b.service = s.column_text(1);
  b.policy = s.column_text(2);
  b.tier = s.column_text(3);
  b.destination = s.column_text(4);
  b.site = s.column_text(5);
  b.medium = s.column_text(6);
  (void)from_string(s.column_text(7), b.kind);
  b.parent = s.column_int(8);
  b.artifact = s.column_text(9);
  (void)from_string(s.column_text(10), b.status);
  b.error = s.column_text(11);
  b.source = s.column_text(12);
  b.trigger = s.column_text(13);
  b.raw_bytes = static_cast<std::uint64_t>(s.column_int(14));
  b.stored_bytes = static_cast<std::uint64_t>(s.column_int(15));
  b.sha256 = s.column_text(16);
  b.started_ms = s.column_int(17);
  b.finished_ms = s.column_int(18);
  b.point_ms = s.column_int(19);
  b.verified_ms = s.column_int(20);
  b.leader_epoch = s.column_int(21);
  b.facts = s.column_text(22);
  b.origin = s.column_text(23);
  b.origin_id = s.column_int(24);
  return b;
}

} // namespace

caf::expected<std::int64_t> sqlite_store::begin_backup(const backup_record& b) {
  auto st = impl_->stmt(
      "INSERT INTO backups (service, policy, tier, destination, site, medium, kind, parent, "
      "artifact, status, source, trigger, started_ms, leader_epoch) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'running', ?10, ?11, ?12, ?13)");
  if (!st)
    return st.error();
  (*st)
      ->bind(1, b.service)
      .bind(2, b.policy)
      .bind(3, b.tier)
      .bind(4, b.destination)
      .bind(5, b.site)
      .bind(6, b.medium)
      .bind(7, std::string{to_string(b.kind)})
      .bind(8, b.parent)
      .bind(9, b.artifact)
      .bind(10, b.source)
      .bind(11, b.trigger)
      .bind(12, b.started_ms == 0 ? detail::now_ms() : b.started_ms)
      .bind(13, b.leader_epoch);
  if (auto r = (*st)->run(); !r)
    return r.error();
  return sqlite3_last_insert_rowid(impl_->db);
}

caf::expected<void> sqlite_store::finish_backup(const backup_record& b) {
  auto st = impl_->stmt(
      "UPDATE backups SET status = ?2, error = ?3, raw_bytes = ?4, "
      "stored_bytes = ?5, sha256 = ?6, finished_ms = ?7, point_ms = ?8, "
      "artifact = ?9, source = ?10, kind = ?11, parent = ?12, facts = ?13 WHERE id = ?1");
  if (!st)
    return st.error();
  (*st)
      ->bind(1, b.id)
      .bind(2, std::string{to_string(b.status)})
      .bind(3, b.error)
      .bind(4, static_cast<std::int64_t>(b.raw_bytes))
      .bind(5, static_cast<std::int64_t>(b.stored_bytes))
      .bind(6, b.sha256)
      .bind(7, b.finished_ms == 0 ? detail::now_ms() : b.finished_ms)
      .bind(8, b.point_ms)
      .bind(9, b.artifact)
      .bind(10, b.source)
      .bind(11, std::string{to_string(b.kind)})
      .bind(12, b.parent)
      .bind(13, b.facts);
  if (auto r = (*st)->run(); !r)
    return r.error();
  if (sqlite3_changes(impl_->db) == 0)
    return make_sy_error(sy_errc::not_found, "no backup #" + std::to_string(b.id));
  return caf::unit;
}

caf::expected<void> sqlite_store::record_verification(std::int64_t id, bool passed,
                                                      std::int64_t at_ms,
                                                      const std::string& error) {
  auto st = impl_->stmt(passed ? "UPDATE backups SET verified_ms = ?2 WHERE id = ?1"
                               : "UPDATE backups SET status = 'corrupt', error = ?2 WHERE id = ?1");
  if (!st)
    return st.error();
  (*st)->bind(1, id);
  if (passed)
    (*st)->bind(2, at_ms);
  else
    (*st)->bind(2, error);
  if (auto r = (*st)->run(); !r)
    return r.error();
  if (sqlite3_changes(impl_->db) == 0)
    return make_sy_error(sy_errc::not_found, "no backup #" + std::to_string(id));
  return caf::unit;
}

caf::expected<std::int64_t> sqlite_store::fail_interrupted_backups(const std::string& reason) {
  auto st = impl_->stmt("UPDATE backups SET status = 'failed', error = ?1, finished_ms = ?2 "
                        "WHERE status = 'running'");
  if (!st)
    return st.error();
  (*st)->bind(1, reason).bind(2, detail::now_ms());
  if (auto r = (*st)->run(); !r)
    return r.error();
  return static_cast<std::int64_t>(sqlite3_changes(impl_->db));
}

caf::expected<backup_list> sqlite_store::list_backups(const std::string& service, std::int64_t id) {
  auto sql = std::string{"SELECT "} + backup_columns +
             " FROM backups WHERE (?1 = '' OR service = ?1) "
             "AND (?2 = 0 OR id = ?2) ORDER BY id";
  auto st = impl_->stmt(sql);
  if (!st)
    return st.error();
  (*st)->bind(1, service).bind(2, id);
  backup_list rows;
  auto walked = (*st)->each_row([&](const statement& s) { rows.push_back(read_backup(s)); });
  if (!walked)
    return walked.error();
  return rows;
}

caf::expected<void> sqlite_store::forget_backups(const std::vector<std::int64_t>& ids) {
  return impl_->transaction([&]() -> caf::expected<void> {
    for (auto id : ids) {
      auto st = impl_->stmt("DELETE FROM backups WHERE id = ?1");
      if (!st)
        return st.error();
      (*st)->bind(1, id);
      if (auto r = (*st)->run(); !r)
        return r.error();
    }
    return caf::unit;
  });
}

caf::expected<void> sqlite_store::import_backups(const std::string& self,
                                                 const replicated_backup_list& backups) {
  return impl_->transaction([&]() -> caf::expected<void> {
    // Parents before children: each origin's ids grow with time.
    auto sorted = backups;
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return std::tie(a.node, a.record.id) < std::tie(b.node, b.record.id);
    });
    auto local_id = [&](const std::string& origin,
                        std::int64_t origin_id) -> caf::expected<std::int64_t> {
      auto st = impl_->stmt("SELECT id FROM backups WHERE origin = ?1 AND origin_id = ?2");
      if (!st)
        return st.error();
      (*st)->bind(1, origin).bind(2, origin_id);
      std::int64_t id = 0;
      auto walked = (*st)->each_row([&](const statement& row) { id = row.column_int(0); });
      if (!walked)
        return walked.error();
      return id;
    };
    std::set<std::pair<std::string, std::int64_t>> present;
    for (const auto& rb : sorted) {
      if (rb.node == self || rb.node.empty())
        continue;
      present.emplace(rb.node, rb.record.id);
      auto b = rb.record;
      // A parent not replicated (forgotten, or never): 0 would read as "no
      // parent"; -1 names none, so the chain shows as broken.
      auto parent = b.parent == 0 ? caf::expected<std::int64_t>{0} : local_id(rb.node, b.parent);
      if (!parent)
        return parent.error();
      b.parent = b.parent == 0 ? 0 : (*parent == 0 ? -1 : *parent);
      auto existing = local_id(rb.node, b.id);
      if (!existing)
        return existing.error();
      if (*existing == 0) {
        b.started_ms = b.started_ms == 0 ? detail::now_ms() : b.started_ms;
        auto id = begin_backup(b);
        if (!id)
          return id.error();
        auto st = impl_->stmt("UPDATE backups SET origin = ?2, origin_id = ?3 WHERE id = ?1");
        if (!st)
          return st.error();
        (*st)->bind(1, *id).bind(2, rb.node).bind(3, rb.record.id);
        if (auto r = (*st)->run(); !r)
          return r.error();
        *existing = *id;
      }
      b.id = *existing;
      // What this replica found stays: damage is not undone by the origin's
      // older view, and the later verification counts.
      auto mine = list_backups("", b.id);
      if (!mine)
        return mine.error();
      if (!mine->empty() && mine->front().status == backup_status::corrupt)
        continue;
      if (!mine->empty())
        b.verified_ms = std::max(b.verified_ms, mine->front().verified_ms);
      if (auto f = finish_backup(b); !f)
        return f.error();
      auto st = impl_->stmt("UPDATE backups SET verified_ms = ?2 WHERE id = ?1");
      if (!st)
        return st.error();
      (*st)->bind(1, b.id).bind(2, b.verified_ms);
      if (auto r = (*st)->run(); !r)
        return r.error();
    }
    // What another replica no longer replicates (retention) goes here too.
    auto st = impl_->stmt("SELECT id, origin, origin_id FROM backups WHERE origin != ''");
    if (!st)
      return st.error();
    std::vector<std::int64_t> gone;
    auto walked = (*st)->each_row([&](const statement& row) {
      if (present.count({row.column_text(1), row.column_int(2)}) == 0)
        gone.push_back(row.column_int(0));
    });
    if (!walked)
      return walked.error();
    for (auto id : gone) {
      auto del = impl_->stmt("DELETE FROM backups WHERE id = ?1");
      if (!del)
        return del.error();
      (*del)->bind(1, id);
      if (auto r = (*del)->run(); !r)
        return r.error();
    }
    return caf::unit;
  });
}

sqlite3* sqlite_store::connection() {
  return impl_->db;
}

} // namespace switchyard::persistence

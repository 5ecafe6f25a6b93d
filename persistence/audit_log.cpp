// The audit trail of API calls and the operators' maintenance windows.
#include "persistence/sqlite_store.hpp"

#include <sqlite3.h>

#include "persistence/sqlite_detail.hpp"
#include "persistence/statement.hpp"

namespace switchyard::persistence {

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
      .bind(6, a.at_ms == 0 ? detail::now_ms() : a.at_ms);
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
      .bind(5, m.since_ms == 0 ? detail::now_ms() : m.since_ms)
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

} // namespace switchyard::persistence

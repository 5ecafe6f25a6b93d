// The postgres action's positions: lsn (a candidate's WAL position) and
// caught_up (the RPO check: against the primary's position, or, once it is
// gone, against what its probe last saw it write).
#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "strategies/actions/postgres_detail.hpp"

namespace switchyard::strategies::postgres_detail {

namespace {

// Standby: the WAL it received (replayed, if it never streamed); primary: the
// WAL it wrote.
constexpr const char* position_query =
    "SELECT CASE WHEN pg_is_in_recovery() "
    "THEN coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) "
    "ELSE pg_current_wal_lsn() END, pg_is_in_recovery()";

} // namespace

outcome lsn(pg::session& s, const run_context& c) {
  std::string error;
  auto r = s.query(position_query, c.deadline, error);
  if (!r)
    return {false, error};
  auto text = r->rows.empty() ? std::nullopt : r->rows[0][0];
  auto at = text ? pg::parse_lsn(*text) : std::nullopt;
  if (!at)
    return {false, fmt::format("no WAL position ('{}')", text.value_or("NULL"))};
  bool standby = r->rows[0][1] == "t";
  return {true, fmt::format("{} at {}", standby ? "standby" : "primary", *text), *at};
}

namespace {

// The primary is unreachable: it cannot send more. What the target would
// lose is what the primary was last seen writing (its probe, `age` ago)
// beyond the WAL the target received: refused above max_lag_bytes.
outcome gone_primary(pg::session& s, const run_context& c, const std::string& unreachable) {
  std::string error;
  auto received = value_of(s,
                           "SELECT coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(), "
                           "CASE WHEN NOT pg_is_in_recovery() THEN pg_current_wal_lsn() END)",
                           c, error);
  if (!received)
    return {false, error};
  auto mine = pg::parse_lsn(*received).value_or(0);
  const auto& primary = c.ctx.old_primary_address;
  auto known = pg::last_primary_position(primary);
  if (!known)
    return {true,
            fmt::format("received up to {}; the primary {} is unreachable ({}) and its position "
                        "was never read: nothing more to catch up from",
                        *received, primary, unreachable),
            mine};
  auto age =
      std::chrono::duration_cast<std::chrono::milliseconds>(pg::clock::now() - known->at).count();
  auto lag = std::max<std::int64_t>(0, known->lsn - mine);
  auto what = fmt::format("received up to {}; the primary {} is unreachable ({}); it was last "
                          "seen at {} ({} ms ago): ",
                          *received, primary, unreachable, pg::format_lsn(known->lsn), age);
  if (lag <= c.settings.max_lag_bytes)
    return {true, what + fmt::format("lag {} B (allowed {} B)", lag, c.settings.max_lag_bytes),
            mine};
  return {false, what + fmt::format("promoting it would lose at least {} B (allowed {} B)", lag,
                                    c.settings.max_lag_bytes)};
}

} // namespace

outcome caught_up(pg::session& s, const run_context& c) {
  const auto& ctx = c.ctx;
  if (ctx.old_primary_address.empty() || ctx.old_primary_address == ctx.target_address)
    return {false, "has no other primary to compare with"};
  // Polled until the deadline: a standby that is catching up passes as soon
  // as it is within the bound. Running out of time after a comparison is
  // judged on the last positions read, never as "unreachable".
  std::int64_t mine = 0;
  std::int64_t theirs = 0;
  bool compared = false;
  std::string error;
  std::unique_ptr<pg::session> p;
  while (true) {
    auto replay = value_of(s,
                           "SELECT coalesce(pg_last_wal_replay_lsn(), CASE WHEN NOT "
                           "pg_is_in_recovery() THEN pg_current_wal_lsn() END)",
                           c, error);
    if (!replay && !(compared && c.ms_left() < 30))
      return {false, error};
    if (!replay)
      break;
    mine = pg::parse_lsn(*replay).value_or(0);
    std::string unreachable;
    if (!p || !p->usable())
      p = open(c, ctx.old_primary_address, unreachable);
    if (!p) {
      if (compared && c.ms_left() < 30)
        break;
      return gone_primary(s, c, unreachable);
    }
    auto current = value_of(*p, "SELECT pg_current_wal_lsn()", c, error);
    if (!current && !(compared && c.ms_left() < 30))
      return {false, fmt::format("the primary {}: {}", ctx.old_primary_address, error)};
    if (!current)
      break;
    theirs = pg::parse_lsn(*current).value_or(0);
    compared = true;
    if (theirs - mine <= c.settings.max_lag_bytes)
      return {true,
              fmt::format("caught up: replayed {}, primary at {} (lag {} B)", pg::format_lsn(mine),
                          pg::format_lsn(theirs), std::max<std::int64_t>(0, theirs - mine)),
              mine};
    if (c.ms_left() < 30)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {false,
          fmt::format("still {} B behind: replayed {}, primary at {} (allowed {} B)", theirs - mine,
                      pg::format_lsn(mine), pg::format_lsn(theirs), c.settings.max_lag_bytes)};
}

} // namespace switchyard::strategies::postgres_detail

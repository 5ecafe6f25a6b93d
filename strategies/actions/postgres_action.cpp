// The postgres action's SQL operations over libpq: promote, follow, lsn,
// caught_up, fence; stop and rejoin are in postgres_rejoin.cpp.
#include "strategies/actions/postgres_action.hpp"

#include <algorithm>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "strategies/actions/postgres_detail.hpp"

namespace switchyard::strategies {

namespace postgres_detail {

std::unique_ptr<pg::session> open(const run_context& c, const std::string& address,
                                  std::string& error) {
  auto e = parse_address(address);
  if (!e) {
    error = fmt::format("'{}' is not host:port", address);
    return nullptr;
  }
  return pg::session::connect(e->host, e->port, c.options(), c.deadline, error);
}

std::optional<std::string> value_of(pg::session& s, const std::string& sql, const run_context& c,
                                    std::string& error) {
  auto r = s.query(sql, c.deadline, error);
  if (!r)
    return std::nullopt;
  if (r->rows.empty() || r->rows[0].empty())
    return std::string{};
  return r->rows[0][0].value_or("");
}

std::optional<std::uint32_t> timeline_of(pg::session& s, const run_context& c, std::string& error) {
  // A primary's WAL file name starts with the timeline it writes (its
  // checkpoint may still name the old one just after a promotion).
  auto r = s.query("SELECT CASE WHEN NOT pg_is_in_recovery() "
                   "THEN pg_walfile_name(pg_current_wal_lsn()) END AS walfile, "
                   "(SELECT received_tli FROM pg_stat_wal_receiver) AS received, "
                   "(SELECT timeline_id FROM pg_control_checkpoint()) AS checkpoint",
                   c.deadline, error);
  if (!r)
    return std::nullopt;
  try {
    if (auto walfile = r->value(0, "walfile"); walfile && walfile->size() >= 8)
      return static_cast<std::uint32_t>(std::stoul(walfile->substr(0, 8), nullptr, 16));
    if (auto received = r->value(0, "received"); received && !received->empty())
      return static_cast<std::uint32_t>(std::stoul(*received));
    if (auto checkpoint = r->value(0, "checkpoint"); checkpoint && !checkpoint->empty())
      return static_cast<std::uint32_t>(std::stoul(*checkpoint));
  } catch (const std::exception&) {
  }
  error = "cannot read its timeline";
  return std::nullopt;
}

namespace {

// What the WAL receiver does ("streaming from host:port on timeline n");
// `streaming`: from `primary`, on its timeline `tli` (a standby still on an
// older timeline has not reached the fork yet, or is past it and stuck).
std::string receiver_state(pg::session& s, const run_context& c, const endpoint& primary,
                           std::uint32_t tli, bool& streaming, std::string& error) {
  streaming = false;
  auto r =
      s.query("SELECT status, sender_host, sender_port, received_tli FROM pg_stat_wal_receiver",
              c.deadline, error);
  if (!r)
    return {};
  if (r->rows.empty())
    return "no WAL receiver";
  auto status = r->value(0, "status").value_or("?");
  auto from = fmt::format("{}:{}", r->value(0, "sender_host").value_or("?"),
                          r->value(0, "sender_port").value_or("?"));
  auto on = r->value(0, "received_tli").value_or("?");
  streaming = status == "streaming" && r->value(0, "sender_host") == primary.host &&
              r->value(0, "sender_port") == std::to_string(primary.port) &&
              on == std::to_string(tli);
  return fmt::format("{} from {} on timeline {}", status, from, on);
}

} // namespace

outcome follow(pg::session& s, const run_context& c, const endpoint& primary, std::uint32_t tli) {
  std::string error;
  auto recovery = value_of(s, "SELECT pg_is_in_recovery()", c, error);
  if (!recovery)
    return {false, error};
  if (*recovery != "t")
    return {false, "is a primary (not in recovery): follow repoints standbys; a returning old "
                   "primary needs rejoin"};
  bool streaming = false;
  auto state = receiver_state(s, c, primary, tli, streaming, error);
  if (state.empty())
    return {false, error};
  auto address = fmt::format("{}:{}", primary.host, primary.port);
  if (streaming)
    return {true, "already " + state};
  auto conninfo = primary_conninfo(c, primary, c.ctx.target);
  // ALTER SYSTEM takes no parameters: the server quotes the value itself.
  auto r = s.query("SELECT format('ALTER SYSTEM SET primary_conninfo = %L', $1::text)", {conninfo},
                   c.deadline, error);
  if (!r || r->rows.empty() || !r->rows[0][0])
    return {false, "quoting primary_conninfo: " + error};
  if (!s.query(*r->rows[0][0], c.deadline, error))
    return {false, "ALTER SYSTEM SET primary_conninfo: " + error};
  if (!s.query("SELECT pg_reload_conf()", c.deadline, error))
    return {false, "pg_reload_conf(): " + error};
  // A changed primary_conninfo restarts the WAL receiver (PostgreSQL 13+).
  while (true) {
    state = receiver_state(s, c, primary, tli, streaming, error);
    if (state.empty())
      return {false, error};
    if (streaming)
      return {true, fmt::format("primary_conninfo set to {}; {}", address, state)};
    if (c.ms_left() < 30)
      return {false, fmt::format("primary_conninfo set to {}, but not streaming from it on its "
                                 "timeline {} within the timeout (WAL receiver: {})",
                                 address, tli, state)};
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

outcome fence(pg::session& s, const run_context& c) {
  std::string error;
  if (!s.query("ALTER SYSTEM SET default_transaction_read_only = on", c.deadline, error))
    return {false, "ALTER SYSTEM SET default_transaction_read_only: " + error};
  if (!s.query("SELECT pg_reload_conf()", c.deadline, error))
    return {false, "pg_reload_conf(): " + error};
  // The postmaster reloads, then signals its children: once this session
  // sees the setting, every session started from now on does too.
  while (true) {
    auto now = value_of(s, "SELECT current_setting('default_transaction_read_only')", c, error);
    if (!now)
      return {false, error};
    if (*now == "on")
      break;
    if (c.ms_left() < 30)
      return {false, "default_transaction_read_only set, but not in effect within the timeout"};
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Sessions that were open keep their own transactions: end them (waiting
  // up to 1 s for each to exit).
  auto ended = value_of(s,
                        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 1000)) "
                        "FROM pg_stat_activity WHERE backend_type = 'client backend' "
                        "AND pid <> pg_backend_pid()",
                        c, error);
  if (!ended)
    return {false, "read-only by default, but ending its sessions failed: " + error};
  std::int64_t n = 0;
  try {
    n = std::stoll(*ended);
  } catch (const std::exception&) {
  }
  return {true,
          fmt::format("read-only by default, {} client session{} ended", n, n == 1 ? "" : "s"), n};
}

// The switch point of its timeline in the primary's history against its own
// end of WAL.
std::string divergence_of(pg::session& t, pg::session& p, std::uint32_t primary_tli,
                          const run_context& c, std::string& where) {
  std::string error;
  auto tli = timeline_of(t, c, error);
  auto at = value_of(t, "SELECT pg_current_wal_lsn()", c, error);
  if (!tli || !at)
    return where = "its position is unreadable: " + error;
  if (*tli >= primary_tli)
    return where = fmt::format("on timeline {} at {}, not one the primary (timeline {}) forked "
                               "from",
                               *tli, *at, primary_tli);
  auto history = value_of(
      p, fmt::format("SELECT pg_read_file('pg_wal/{:08X}.history')", primary_tli), c, error);
  if (!history)
    return where = fmt::format("at {} on timeline {}; the primary's timeline history is "
                               "unreadable: {}",
                               *at, *tli, error);
  std::istringstream lines(*history);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::uint32_t parent = 0;
    std::string fork;
    if (!(fields >> parent >> fork) || parent != *tli)
      continue;
    auto fork_at = pg::parse_lsn(fork);
    auto mine = pg::parse_lsn(*at);
    if (fork_at && mine && *mine <= *fork_at) {
      where = fmt::format("at {} on timeline {}, not past the fork at {}", *at, *tli, fork);
      return {};
    }
    if (fork_at && mine)
      return where = fmt::format("wrote {} bytes past the fork at LSN {} on timeline {}",
                                 *mine - *fork_at, fork, *tli);
  }
  return where =
             fmt::format("at {} on timeline {}, which is not in the primary's history", *at, *tli);
}

} // namespace postgres_detail

namespace {

using namespace postgres_detail;

outcome promote(pg::session& s, const run_context& c) {
  std::string error;
  // pg_promote(true) would look every 100 ms: without its wait, this looks
  // every 5 ms (the end of recovery takes a few ms).
  auto done = value_of(s, "SELECT pg_promote(false)", c, error);
  if (!done)
    return {false, "pg_promote: " + error};
  if (*done != "t")
    return {false, "pg_promote: the startup process could not be signalled"};
  while (true) {
    auto recovery = value_of(s, "SELECT pg_is_in_recovery()", c, error);
    if (!recovery)
      return {false, "pg_promote signalled, then " + error};
    if (*recovery == "f")
      break;
    if (c.ms_left() < 30)
      return {false, "pg_promote signalled, but still in recovery within the timeout"};
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto timeline = timeline_of(s, c, error);
  if (!timeline)
    return {false, "promoted, but " + error};
  // A fence (or an old rejoin) may have left it read-only by default.
  auto r = s.query("SELECT setting, sourcefile, sourceline FROM pg_settings "
                   "WHERE name = 'default_transaction_read_only'",
                   c.deadline, error);
  if (!r)
    return {false, fmt::format("promoted, timeline {}, but {}", *timeline, error)};
  std::string reset;
  if (r->value(0, "setting") == "on") {
    auto file = r->value(0, "sourcefile").value_or("");
    if (!file.ends_with("postgresql.auto.conf"))
      return {false, fmt::format("promoted, timeline {}, but read-only by default: "
                                 "default_transaction_read_only = on in {}:{}",
                                 *timeline, file.empty() ? "its settings" : file,
                                 r->value(0, "sourceline").value_or("?"))};
    if (!s.query("ALTER SYSTEM RESET default_transaction_read_only", c.deadline, error) ||
        !s.query("SELECT pg_reload_conf()", c.deadline, error))
      return {false, fmt::format("promoted, timeline {}, but still read-only by default: {}",
                                 *timeline, error)};
    reset = " (read-only default of a fence reset)";
  }
  // Writable: a new transaction is read-write (once the reload is seen).
  while (true) {
    auto ro =
        value_of(s, "SELECT pg_is_in_recovery()::text || current_setting('transaction_read_only')",
                 c, error);
    if (!ro)
      return {false, fmt::format("promoted, timeline {}, but {}", *timeline, error)};
    if (*ro == "falseoff")
      break;
    if (c.ms_left() < 30)
      return {false,
              fmt::format("promoted, timeline {}, but not writable (recovery, read-only: {})",
                          *timeline, *ro)};
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return {true, fmt::format("promoted, timeline {}{}", *timeline, reset), *timeline};
}

} // namespace

postgres_action::postgres_action(config::action_settings settings,
                                 const config::service_settings* service)
    : settings_(std::move(settings)), service_(service) {}

std::string postgres_action::describe() const {
  switch (settings_.pg_operation) {
  case config::postgres_operation::promote:
    return "postgres: pg_promote() on the target, then it must be writable";
  case config::postgres_operation::follow:
    return "postgres: primary_conninfo of the target set to the new primary, then it must stream "
           "from it";
  case config::postgres_operation::lsn:
    return "postgres: read the target's WAL position";
  case config::postgres_operation::caught_up:
    return fmt::format("postgres: wait until the target has replayed the primary's WAL to within "
                       "{} bytes",
                       settings_.max_lag_bytes);
  case config::postgres_operation::fence:
    return "postgres: make the target read-only by default and end its client sessions";
  case config::postgres_operation::stop:
    return "postgres: pg_ctl stop -m immediate on the target's data directory, then kill what "
           "a killed postmaster left running there";
  case config::postgres_operation::start:
    return "postgres: pg_ctl start on the target's data directory (restart in place)";
  case config::postgres_operation::rejoin:
    return "postgres: make a returning old primary a standby of the primary (pg_rewind when it "
           "diverged and rewind is on)";
  }
  return "postgres";
}

action_result postgres_action::run(const action_context& ctx) {
  const auto started = pg::clock::now();
  const auto deadline = started + settings_.timeout;
  auto finish = [&](outcome o) {
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(pg::clock::now() - started).count();
    auto r = finished_action(started, deadline, o.ok,
                             fmt::format("{} {} in {} ms", ctx.target_address, o.detail, ms));
    r.value = o.value;
    r.divergence = std::move(o.divergence);
    return r;
  };
  if (service_ == nullptr || !service_->postgres)
    return finish(
        {false, "has no postgres settings (the action is not part of a postgres service)"});
  if (ctx.target_address.empty())
    return finish({false, "has no address (unknown target instance)"});
  run_context c{settings_, *service_, ctx, deadline};
  switch (settings_.pg_operation) {
  case config::postgres_operation::stop:
    return finish(stop(c));
  case config::postgres_operation::rejoin:
    return finish(rejoin(c));
  case config::postgres_operation::start:
    return finish(start(c));
  default:
    break;
  }
  std::string error;
  auto s = open(c, ctx.target_address, error);
  if (!s)
    return finish({false, "unreachable: " + error});
  switch (settings_.pg_operation) {
  case config::postgres_operation::promote:
    return finish(promote(*s, c));
  case config::postgres_operation::follow: {
    auto primary = parse_address(ctx.new_primary_address);
    if (!primary || ctx.new_primary_address == ctx.target_address)
      return finish({false, fmt::format("cannot follow '{}': not another instance's host:port",
                                        ctx.new_primary_address)});
    auto p = open(c, ctx.new_primary_address, error);
    auto tli = p ? timeline_of(*p, c, error) : std::nullopt;
    if (!tli)
      return finish({false, fmt::format("the new primary {}: {}", ctx.new_primary_address, error)});
    return finish(follow(*s, c, *primary, *tli));
  }
  case config::postgres_operation::lsn:
    return finish(lsn(*s, c));
  case config::postgres_operation::caught_up:
    return finish(caught_up(*s, c));
  case config::postgres_operation::fence: {
    auto f = fence(*s, c);
    f.detail = (f.ok ? "fenced: " : "") + f.detail;
    return finish(f);
  }
  default:
    return finish({false, "unknown operation"});
  }
}

} // namespace switchyard::strategies

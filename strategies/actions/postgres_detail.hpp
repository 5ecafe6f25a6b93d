// Inside the postgres action: what its SQL operations (postgres_action.cpp)
// and its rejoin and local pg_ctl/pg_rewind runs (postgres_rejoin.cpp)
// share. Not for use outside them.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "strategies/action.hpp"
#include "strategies/actions/pg_session.hpp"

namespace switchyard::strategies::postgres_detail {

/// One run of an operation: what it acts on, with what, until when.
struct run_context {
  const config::action_settings& settings;
  const config::service_settings& service;
  const action_context& ctx;
  pg::clock::time_point deadline;
  /// The libpq options of the service (postgres.options).
  [[nodiscard]] const std::string& options() const { return service.postgres->options; }
  /// The target's data directory on this host; "" when none is configured.
  [[nodiscard]] std::string data_directory() const {
    const auto* i = service.find_instance(ctx.target);
    return i == nullptr ? std::string{} : i->data_directory;
  }
  [[nodiscard]] long long ms_left() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - pg::clock::now())
        .count();
  }
  /// Whole seconds left, at least 1 (for pg_promote, pg_ctl -t).
  [[nodiscard]] int seconds_left() const {
    return static_cast<int>(std::max<long long>(1, ms_left() / 1000));
  }
};

/// What an operation found or did: the journal line without the prefix
/// naming the target and the time taken.
struct outcome {
  bool ok = false;
  std::string detail;
  std::optional<std::int64_t> value{};
  std::string divergence{};
};

struct endpoint {
  std::string host;
  std::uint16_t port = 0;
};
/// "host:port" (the port last, so an IPv6 literal keeps its colons).
inline std::optional<endpoint> parse_address(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size() ||
      address.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
      address.size() - colon > 6)
    return std::nullopt;
  auto port = std::stoul(address.substr(colon + 1));
  auto host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (port == 0 || port > 65535)
    return std::nullopt;
  return endpoint{host, static_cast<std::uint16_t>(port)};
}

/// A session on `address`; nullptr with `error` set (libpq's words).
std::unique_ptr<pg::session> open(const run_context& c, const std::string& address,
                                  std::string& error);

/// The first value of `sql`'s first row: nullopt with `error` set when the
/// query failed, "" for SQL NULL or no row.
std::optional<std::string> value_of(pg::session& s, const std::string& sql, const run_context& c,
                                    std::string& error);

/// The timeline the server writes (a primary) or receives/replays (a
/// standby); nullopt with `error` set.
std::optional<std::uint32_t> timeline_of(pg::session& s, const run_context& c, std::string& error);

/// libpq settings a standby named `application_name` uses to stream from
/// `primary`: the service's options, host and port, and its name (the last
/// of a repeated keyword wins).
inline std::string primary_conninfo(const run_context& c, const endpoint& primary,
                                    const std::string& application_name) {
  std::string name;
  for (char ch : application_name)
    name += ch == '\'' || ch == '\\' ? std::string{'\\', ch} : std::string{ch};
  auto options = c.options() + (c.options().empty() ? "" : " ") + "application_name='" + name + "'";
  return pg::conninfo(primary.host, primary.port, options);
}

/// Makes the standby on `s` stream from `primary` (primary_conninfo with
/// ALTER SYSTEM, then reload) and waits until its WAL receiver streams from
/// it on its timeline `tli`. Already streaming from it: ok at once.
outcome follow(pg::session& s, const run_context& c, const endpoint& primary, std::uint32_t tli);

/// Read-only by default (ALTER SYSTEM + reload, seen by new sessions), then
/// every other client session ended (their number: the value).
outcome fence(pg::session& s, const run_context& c);

/// Whether the target `t` (a primary) wrote WAL the primary `p` (on timeline
/// `primary_tli`) never received: "" when not; `where` says what was found
/// either way.
std::string divergence_of(pg::session& t, pg::session& p, std::uint32_t primary_tli,
                          const run_context& c, std::string& where);

/// A program run on this host (postgres_local.cpp).
struct local_run {
  int status = -1; ///< exit status; -1: did not run or was killed
  bool timed_out = false;
  std::string output; ///< its stdout and stderr (the tail), or why it did not run
};
/// `tool` from postgres.bin_dir with `args`, as the owner of `dir` when this
/// process is root and the owner is not, killed at the deadline.
local_run pg_tool(const run_context& c, const std::string& dir, const std::string& tool,
                  std::vector<std::string> args);
/// The last `lines` lines of `text`, on one line.
std::string tail(const std::string& text, std::size_t lines);
/// "<what> failed (exit N): <its last lines>" / "<what> timed out (...)".
std::string failed(const std::string& what, const local_run& r);

/// The target's WAL position (postgres_positions.cpp): received on a
/// standby (replayed, if it never streamed), written on a primary.
outcome lsn(pg::session& s, const run_context& c);
/// The RPO check: the target within max_lag_bytes of the primary, polled
/// until the deadline; once the primary is gone, of what it was last seen
/// writing (postgres_positions.cpp).
outcome caught_up(pg::session& s, const run_context& c);

/// pg_ctl stop -m immediate on the target's data directory, as its owner.
outcome stop(const run_context& c);

/// The processes a SIGKILLed postmaster left working in `dir` killed;
/// detail: "" or "; N processes ... killed (pid ...)" to append.
outcome kill_leftovers(const run_context& c, const std::string& dir);
/// Where a server started here logs: <dir>/../<instance>.log, or in `dir`
/// when its parent is not the owner's.
std::string server_log(const run_context& c, const std::string& dir);
/// pg_ctl start -w on the target's data directory, as its owner (restart in
/// place); already running: done.
outcome start(const run_context& c);

/// A returning old primary (the target) made a standby of the primary
/// (ctx.new_primary): see postgres_rejoin.cpp.
outcome rejoin(const run_context& c);

} // namespace switchyard::strategies::postgres_detail

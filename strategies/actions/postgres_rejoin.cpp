// The postgres action's rejoin: a returning old primary made a standby of the
// primary, with pg_rewind when it diverged and postgres.rewind allows it (the
// local runs are in postgres_local.cpp).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "strategies/actions/postgres_action.hpp"
#include "strategies/actions/postgres_detail.hpp"

namespace switchyard::strategies::postgres_detail {

namespace {

// Files pg_rewind copies from the source that hold this server's own
// configuration (its port, its standby settings): kept across the rewind.
constexpr const char* config_files[] = {"postgresql.conf", "postgresql.auto.conf", "pg_hba.conf",
                                        "pg_ident.conf"};

std::optional<std::string> read_whole(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `text` to `path` (through a temporary file and rename) owned like `dir`.
bool write_whole(const std::string& dir, const std::string& path, const std::string& text,
                 std::string& error) {
  struct stat st {};
  auto tmp = path + ".switchyard";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) {
      error = fmt::format("cannot write {}: {}", tmp, std::strerror(errno));
      return false;
    }
  }
  if (::stat(dir.c_str(), &st) == 0)
    (void)::chown(tmp.c_str(), st.st_uid, st.st_gid);
  ::chmod(tmp.c_str(), 0600);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    error = fmt::format("cannot rename {}: {}", tmp, std::strerror(errno));
    return false;
  }
  return true;
}

// standby.signal, and primary_conninfo in postgresql.auto.conf (replacing
// any earlier one), as pg_basebackup -R writes them.
bool write_standby_config(const std::string& dir, const std::string& conninfo, std::string& error) {
  if (!write_whole(dir, dir + "/standby.signal", "", error))
    return false;
  std::istringstream in(read_whole(dir + "/postgresql.auto.conf").value_or(""));
  std::string kept;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t") == std::string::npos ||
        line.compare(line.find_first_not_of(" \t"), 16, "primary_conninfo") != 0)
      kept += line + "\n";
  std::string quoted;
  for (char ch : conninfo)
    quoted += ch == '\'' ? std::string{"''"} : ch == '\\' ? std::string{"\\\\"} : std::string{ch};
  kept += "primary_conninfo = '" + quoted + "'\n";
  return write_whole(dir, dir + "/postgresql.auto.conf", kept, error);
}

// "LSN x on timeline t" from pg_rewind's "servers diverged at WAL location x
// on timeline t"; "" when it did not say.
std::string fork_in(const std::string& output) {
  const std::string key = "servers diverged at WAL location ";
  auto at = output.find(key);
  if (at == std::string::npos)
    return {};
  auto end = output.find('\n', at);
  return "LSN " +
         output.substr(at + key.size(), end == std::string::npos ? end : end - at - key.size());
}

local_run pg_rewind(const run_context& c, const std::string& dir, const endpoint& primary,
                    bool dry_run) {
  std::vector<std::string> args{"--target-pgdata=" + dir,
                                "--source-server=" +
                                    pg::conninfo(primary.host, primary.port, c.options())};
  if (dry_run)
    args.insert(args.begin(), "--dry-run");
  return pg_tool(c, dir, "pg_rewind", args);
}

// From a stopped data directory to a streaming standby: pg_rewind (keeping
// its own configuration files), standby settings, pg_ctl start, streaming.
outcome make_standby(const run_context& c, const endpoint& primary, std::uint32_t tli,
                     const std::string& dir, bool rewind, std::string done,
                     std::string divergence) {
  std::string error;
  if (rewind) {
    std::vector<std::optional<std::string>> saved;
    for (const auto* f : config_files)
      saved.push_back(read_whole(dir + "/" + f));
    auto r = pg_rewind(c, dir, primary, false);
    for (std::size_t i = 0; i < saved.size(); ++i) {
      auto path = dir + "/" + config_files[i];
      if (saved[i])
        (void)write_whole(dir, path, *saved[i], error);
      else if (read_whole(path))
        ::unlink(path.c_str());
    }
    if (r.status != 0)
      return {false, done + failed("pg_rewind", r), std::nullopt, divergence};
    auto fork = fork_in(r.output);
    if (r.output.find("no rewind required") != std::string::npos) {
      done += "pg_rewind: no rewind required; ";
    } else {
      done += fmt::format("rewound (diverged at {}); ", fork.empty() ? "?" : fork);
      if (divergence.empty())
        divergence = "wrote past the fork at " + fork + " (found by pg_rewind)";
    }
  }
  if (!write_standby_config(dir, primary_conninfo(c, primary, c.ctx.target), error))
    return {false, done + error, std::nullopt, divergence};
  auto log = server_log(c, dir);
  auto r = pg_tool(c, dir, "pg_ctl",
                   {"start", "-D", dir, "-w", "-t", std::to_string(c.seconds_left()), "-l", log});
  if (r.status != 0)
    return {false, fmt::format("{}{} (log: {})", done, failed("pg_ctl start", r), log),
            std::nullopt, divergence};
  done += fmt::format("started as a standby (log: {}); ", log);
  auto t = open(c, c.ctx.target_address, error);
  auto f = t ? follow(*t, c, primary, tli) : outcome{false, "then unreachable: " + error};
  return {f.ok, done + f.detail, std::nullopt, divergence};
}

} // namespace

outcome rejoin(const run_context& c) {
  const auto& ctx = c.ctx;
  auto primary = parse_address(ctx.new_primary_address);
  if (!primary || ctx.new_primary_address == ctx.target_address)
    return {false, fmt::format("no other primary to rejoin ('{}')", ctx.new_primary_address)};
  std::string error;
  auto p = open(c, ctx.new_primary_address, error);
  auto tli = p ? timeline_of(*p, c, error) : std::nullopt;
  auto in_recovery = p ? value_of(*p, "SELECT pg_is_in_recovery()", c, error) : std::nullopt;
  if (!tli || !in_recovery)
    return {false, fmt::format("the primary {}: {}", ctx.new_primary_address, error)};
  if (*in_recovery != "f")
    return {false, fmt::format("{} is not a primary (in recovery)", ctx.new_primary_address)};
  // pg_rewind reads the source's timeline from its control file, which a
  // promoted server updates only at its next checkpoint: until then it
  // would find "no rewind required".
  auto checkpointed = value_of(*p, "SELECT timeline_id FROM pg_control_checkpoint()", c, error);
  if (checkpointed && *checkpointed != std::to_string(*tli) &&
      !p->query("CHECKPOINT", c.deadline, error))
    return {false, fmt::format("CHECKPOINT on the primary {} (for pg_rewind): {}",
                               ctx.new_primary_address, error)};
  const bool rewind = c.service.postgres->rewind;
  const auto dir = c.data_directory();
  std::string unreachable;
  if (auto t = open(c, ctx.target_address, unreachable)) {
    auto recovery = value_of(*t, "SELECT pg_is_in_recovery()", c, error);
    if (!recovery)
      return {false, error};
    if (*recovery == "t") {
      auto f = follow(*t, c, *primary, *tli);
      f.detail = "a standby: " + f.detail;
      return f;
    }
    std::string where;
    auto divergence = divergence_of(*t, *p, *tli, c, where);
    if (dir.empty() || (!divergence.empty() && !rewind)) {
      // It must not stay writable beside the primary.
      auto f = fence(*t, c);
      auto fenced =
          f.ok ? fmt::format("made read-only; {} client sessions ended", f.value.value_or(0))
               : "fencing it failed: " + f.detail;
      if (dir.empty())
        return {false,
                fmt::format("{}; cannot make it a standby from here: no data_directory ({})", where,
                            fenced),
                std::nullopt, divergence};
      return {false,
              fmt::format("diverged: {}; rewind is off (postgres.rewind: true to rewind); {}",
                          where, fenced),
              std::nullopt, divergence};
    }
    t.reset();
    // Without pg_rewind, an immediate stop: a shutdown checkpoint would
    // itself be WAL past the fork.
    auto mode = rewind ? "fast" : "immediate";
    auto r = pg_tool(c, dir, "pg_ctl",
                     {"stop", "-D", dir, "-m", mode, "-w", "-t", std::to_string(c.seconds_left())});
    if (r.status != 0)
      return {false, failed(fmt::format("pg_ctl stop -m {}", mode), r), std::nullopt, divergence};
    return make_standby(
        c, *primary, *tli, dir, rewind,
        fmt::format("{}{}; stopped ({}); ", divergence.empty() ? "" : "diverged: ", where, mode),
        divergence);
  }
  if (dir.empty())
    return {false, fmt::format("unreachable ({}); cannot make it a standby from here: no "
                               "data_directory",
                               unreachable)};
  auto status = pg_tool(c, dir, "pg_ctl", {"status", "-D", dir});
  if (status.status != 3) // 3: not running
    return {false, fmt::format("unreachable ({}), and pg_ctl status -D {} says: {}", unreachable,
                               dir, tail(status.output, 2))};
  if (rewind)
    return make_standby(c, *primary, *tli, dir, true, "not running; ", {});
  // Down, and no rewind allowed: pg_rewind --dry-run tells whether it must.
  auto dry = pg_rewind(c, dir, *primary, true);
  if (dry.status != 0)
    return {false, "not running; " + failed("pg_rewind --dry-run", dry)};
  if (dry.output.find("no rewind required") != std::string::npos)
    return make_standby(c, *primary, *tli, dir, false,
                        "not running, not diverged (pg_rewind --dry-run); ", {});
  auto fork = fork_in(dry.output);
  auto divergence = "wrote past the fork at " + (fork.empty() ? "?" : fork) +
                    " (found by pg_rewind --dry-run while it was down)";
  return {false,
          fmt::format("not running; diverged: {}; rewind is off (postgres.rewind: true to "
                      "rewind); left stopped",
                      divergence),
          std::nullopt, divergence};
}

} // namespace switchyard::strategies::postgres_detail

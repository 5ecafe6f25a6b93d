// The postgres action's runs on this host as the owner of the target's data
// directory (pg_ctl, pg_rewind: PostgreSQL's tools refuse root), and stop:
// pg_ctl stop -m immediate, and the backends a killed postmaster left.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "strategies/actions/postgres_action.hpp"
#include "strategies/actions/postgres_detail.hpp"

extern char** environ;

namespace switchyard::strategies::postgres_detail {

namespace {

// The data directory's owner, and the groups it runs with.
struct owner {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

std::optional<owner> owner_of(const std::string& dir, std::string& error) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    error = fmt::format("cannot stat {}: {}", dir, std::strerror(errno));
    return std::nullopt;
  }
  owner o{st.st_uid, st.st_gid, {st.st_gid}};
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  int n = 256;
  o.groups.resize(256);
  if (::getpwuid_r(st.st_uid, &pw, buffer.data(), buffer.size(), &found) == 0 && found != nullptr &&
      ::getgrouplist(pw.pw_name, pw.pw_gid, o.groups.data(), &n) >= 0) {
    o.gid = pw.pw_gid;
    o.groups.resize(static_cast<std::size_t>(n));
  } else {
    o.groups = {st.st_gid};
  }
  return o;
}

} // namespace

std::string tail(const std::string& text, std::size_t lines) {
  auto end = text.find_last_not_of("\n ");
  if (end == std::string::npos)
    return {};
  auto at = end + 1;
  for (std::size_t n = 0; n < lines && at != std::string::npos && at > 0; ++n)
    at = text.rfind('\n', at - 1);
  auto out = text.substr(at == std::string::npos ? 0 : at + 1,
                         end + 1 - (at == std::string::npos ? 0 : at + 1));
  for (auto& ch : out)
    if (ch == '\n')
      ch = ' ';
  return out;
}

namespace {

// Runs argv (an absolute path first) as the owner of `dir` when this process
// is root and the owner is not (PostgreSQL's tools refuse root), killed with
// its process group at the deadline. Messages in English (LC_MESSAGES=C):
// they are read here.
local_run run_as_owner(const std::string& dir, const std::vector<std::string>& argv,
                       pg::clock::time_point deadline) {
  local_run out;
  auto who = owner_of(dir, out.output);
  if (!who)
    return out;
  bool switch_user = ::geteuid() == 0 && who->uid != 0;
  // Everything the child needs is made before fork: the child of a threaded
  // process may only make system calls.
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view v{*e};
    if (!v.starts_with("LC_ALL=") && !v.starts_with("LC_MESSAGES=") && !v.starts_with("LANGUAGE="))
      env.emplace_back(v);
  }
  env.emplace_back("LC_MESSAGES=C");
  std::vector<char*> args;
  std::vector<char*> envp;
  auto copy = argv;
  for (auto& a : copy)
    args.push_back(a.data());
  args.push_back(nullptr);
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    out.output = fmt::format("pipe: {}", std::strerror(errno));
    return out;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    out.output = fmt::format("fork: {}", std::strerror(errno));
    ::close(fds[0]);
    ::close(fds[1]);
    return out;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    (void)!::chdir("/"); // every path is absolute; ours may be closed to the owner
    if (switch_user && (::setgroups(who->groups.size(), who->groups.data()) != 0 ||
                        ::setgid(who->gid) != 0 || ::setuid(who->uid) != 0)) {
      const char msg[] = "cannot switch to the data directory's owner\n";
      (void)!::write(2, msg, sizeof msg - 1);
      ::_exit(126);
    }
    ::close_range(3, ~0U, 0); // nothing of ours leaks into a server pg_ctl starts
    ::execve(args[0], args.data(), envp.data());
    const char msg[] = "cannot execute the program\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(fds[1]);
  int status = 0;
  bool exited = false;
  bool eof = false;
  char buffer[4096];
  while (!exited) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - pg::clock::now());
    if (left.count() <= 0) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      out.timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    auto wait = static_cast<int>(std::min<long long>(left.count(), eof ? 5 : 50));
    if (::poll(&p, eof ? 0 : 1, wait) > 0) {
      auto n = ::read(fds[0], buffer, sizeof buffer);
      eof = n <= 0;
      if (n > 0)
        out.output.append(buffer, static_cast<std::size_t>(n));
    }
    exited = ::waitpid(pid, &status, WNOHANG) == pid;
  }
  // What it wrote before it exited, without waiting: a grandchild holding
  // the pipe (it should not: pg_ctl start logs to a file) does not hold us.
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  for (ssize_t n = 0; exited && (n = ::read(fds[0], buffer, sizeof buffer)) > 0;)
    out.output.append(buffer, static_cast<std::size_t>(n));
  if (out.output.size() > 16384)
    out.output.erase(0, out.output.size() - 16384);
  ::close(fds[0]);
  if (!exited)
    (void)::waitpid(pid, &status, 0);
  out.status = !out.timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

} // namespace

local_run pg_tool(const run_context& c, const std::string& dir, const std::string& tool,
                  std::vector<std::string> args) {
  args.insert(args.begin(), c.service.postgres->bin_dir + "/" + tool);
  return run_as_owner(dir, args, c.deadline);
}

std::string failed(const std::string& what, const local_run& r) {
  if (r.timed_out)
    return fmt::format("{} timed out ({})", what, tail(r.output, 2));
  return fmt::format("{} failed (exit {}): {}", what, r.status, tail(r.output, 3));
}

namespace {

// The processes a SIGKILLed postmaster left behind, by pid: the owner's
// "postgres" processes whose working directory is `dir` (every server
// process works in its data directory). Idle backends exit as soon as the
// postmaster dies; one running a statement goes on, may commit and answer
// the client, and only exits when it next waits for its client (checked on
// PostgreSQL 15).
std::vector<pid_t> leftovers_of(const std::string& dir, uid_t uid) {
  std::vector<pid_t> out;
  char real[PATH_MAX];
  if (::realpath(dir.c_str(), real) == nullptr)
    return out;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr)
    return out;
  const auto self = ::getpid();
  while (auto* e = ::readdir(proc)) {
    char* end = nullptr;
    auto pid = static_cast<pid_t>(std::strtol(e->d_name, &end, 10));
    if (pid <= 0 || *end != '\0' || pid == self)
      continue;
    auto base = fmt::format("/proc/{}", pid);
    struct stat st {};
    if (::stat(base.c_str(), &st) != 0 || st.st_uid != uid)
      continue;
    std::string comm;
    std::getline(std::ifstream(base + "/comm"), comm);
    char cwd[PATH_MAX];
    auto n = ::readlink((base + "/cwd").c_str(), cwd, sizeof cwd - 1);
    if (comm != "postgres" || n <= 0)
      continue; // a zombie has no working directory: it is gone already
    cwd[n] = '\0';
    if (std::string_view{cwd} == real)
      out.push_back(pid);
  }
  ::closedir(proc);
  return out;
}

} // namespace

outcome stop(const run_context& c) {
  auto dir = c.data_directory();
  if (dir.empty())
    return {false,
            fmt::format("{} has no data_directory: pg_ctl stop runs on its host, on its data "
                        "directory",
                        c.ctx.target)};
  auto r =
      pg_tool(c, dir, "pg_ctl",
              {"stop", "-D", dir, "-m", "immediate", "-w", "-t", std::to_string(c.seconds_left())});
  std::string done;
  if (r.status == 0)
    done = fmt::format("stopped (pg_ctl stop -m immediate -D {})", dir);
  else if (r.output.find("Is server running?") != std::string::npos ||
           r.output.find("No such process") != std::string::npos) // a stale postmaster.pid
    done = fmt::format("not running ({})", dir);
  else
    return {false, failed("pg_ctl stop -m immediate -D " + dir, r)};
  auto left = kill_leftovers(c, dir);
  if (!left.ok)
    return {false, done + left.detail};
  return {true, done + left.detail, left.value};
}

outcome kill_leftovers(const run_context& c, const std::string& dir) {
  // The postmaster is gone: its backends left running could still commit
  // and acknowledge writes that no standby will have. They are killed.
  std::string error;
  auto who = owner_of(dir, error);
  if (!who)
    return {false, ", but " + error};
  auto left = leftovers_of(dir, who->uid);
  if (left.empty())
    return {true, "", 0};
  std::string pids;
  for (auto pid : left) {
    if (::kill(pid, SIGKILL) != 0 && errno != ESRCH)
      return {false,
              fmt::format(", but its backend {} cannot be killed: {}", pid, std::strerror(errno))};
    pids += (pids.empty() ? "" : ", ") + std::to_string(pid);
  }
  while (!(left = leftovers_of(dir, who->uid)).empty()) {
    if (c.ms_left() < 5)
      return {false,
              fmt::format("; backends it left behind killed but still there: {}", left.size())};
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  auto n = static_cast<std::int64_t>(std::count(pids.begin(), pids.end(), ',') + 1);
  return {true,
          fmt::format("; {} process{} a killed postmaster left behind killed (pid {})", n,
                      n == 1 ? "" : "es", pids),
          n};
}

std::string server_log(const run_context& c, const std::string& dir) {
  // Beside the data directory when the owner may write there.
  auto parent = dir.substr(0, dir.find_last_of('/'));
  struct stat p {};
  struct stat d {};
  if (::stat(parent.c_str(), &p) != 0 || ::stat(dir.c_str(), &d) != 0 || p.st_uid != d.st_uid)
    return dir + "/switchyard-start.log";
  return parent + "/" + c.ctx.target + ".log";
}

outcome start(const run_context& c) {
  auto dir = c.data_directory();
  if (dir.empty())
    return {false,
            fmt::format("{} has no data_directory: pg_ctl start runs on its host, on its data "
                        "directory",
                        c.ctx.target)};
  auto status = pg_tool(c, dir, "pg_ctl", {"status", "-D", dir});
  if (status.status == 0)
    return {true, fmt::format("already running ({})", dir)};
  // A crashed postmaster's backends hold its shared memory: no new one
  // starts on the directory until they are gone.
  auto left = kill_leftovers(c, dir);
  if (!left.ok)
    return {false, "not started" + left.detail};
  auto log = server_log(c, dir);
  auto r = pg_tool(c, dir, "pg_ctl",
                   {"start", "-D", dir, "-w", "-t", std::to_string(c.seconds_left()), "-l", log});
  if (r.status != 0)
    return {false, fmt::format("{} (log: {})", failed("pg_ctl start -D " + dir, r), log)};
  return {true, fmt::format("started (pg_ctl start -D {}; log: {}){}", dir, log, left.detail)};
}

} // namespace switchyard::strategies::postgres_detail

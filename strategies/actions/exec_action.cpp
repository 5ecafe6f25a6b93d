// The exec action: posix_spawn (the daemon is multi-threaded, so no fork) of
// `/bin/sh -c COMMAND` in its own process group, bounded by a deadline.
#include "strategies/actions/exec_action.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

extern char** environ;

namespace switchyard::strategies {

namespace {

constexpr std::size_t output_limit = 4096; // keep the tail: errors come last

// Without a pidfd we look at the shell this often while its output is quiet.
constexpr int fallback_poll_ms = 10;

using clock_type = std::chrono::steady_clock;

int millis_left(clock_type::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock_type::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

void keep_tail(std::string& out, const char* data, std::size_t n) {
  out.append(data, n);
  if (out.size() > output_limit)
    out.erase(0, out.size() - output_limit);
}

std::string last_line(const std::string& text) {
  auto end = text.find_last_not_of("\r\n");
  if (end == std::string::npos)
    return {};
  auto start = text.find_last_of('\n', end);
  auto from = start == std::string::npos ? 0 : start + 1;
  return text.substr(from, end - from + 1);
}

/// Closes a file descriptor when it goes out of scope.
class fd_guard {
public:
  explicit fd_guard(int fd = -1) : fd_(fd) {}
  ~fd_guard() { reset(); }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }

private:
  int fd_;
};

/// A descriptor that becomes readable when `pid` exits, or -1 (kernel < 5.3).
/// Called through syscall(): glibc 2.36's <sys/pidfd.h> lacks extern "C".
int open_pidfd(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

/// True once the shell has exited. WNOWAIT leaves it a zombie: its pid, and so
/// its process group id, cannot be reused until we reap it, which makes the
/// later kill(-pid) safe.
bool shell_exited(pid_t pid) {
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno != EINTR)
      return true; // not our child any more (SIGCHLD ignored?): nothing left to wait for
  }
  return info.si_pid == pid;
}

/// Reads what is in the pipe now, without waiting and at most 64 KiB (so a
/// chatty command cannot hold us past the deadline); false at EOF.
bool drain(int fd, std::string& out) {
  char buf[1024];
  for (int chunks = 0; chunks < 64; ++chunks) {
    pollfd pfd{fd, POLLIN, 0};
    int ready = ::poll(&pfd, 1, 0);
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      return true;
    auto n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    keep_tail(out, buf, static_cast<std::size_t>(n));
  }
  return true;
}

/// Collects output until the shell exits (true) or the deadline passes (false).
/// The shell's exit ends the wait even if a background child still holds the
/// pipe open: the caller kills that child with the group.
bool wait_for_shell(pid_t pid, int out_fd, clock_type::time_point deadline, std::string& out) {
  fd_guard exited{open_pidfd(pid)}; // readable once the shell exits
  bool pipe_open = true;
  while (true) {
    // poll ignores negative fds: a closed pipe (which would report POLLHUP
    // forever) and a missing pidfd drop out of the set.
    pollfd pfds[2] = {{pipe_open ? out_fd : -1, POLLIN, 0}, {exited.get(), POLLIN, 0}};
    int wait_ms = millis_left(deadline);
    if (exited.get() < 0)
      wait_ms = std::min(wait_ms, fallback_poll_ms);
    if (::poll(pfds, 2, wait_ms) < 0 && errno != EINTR)
      return false;
    if (pipe_open && pfds[0].revents != 0)
      pipe_open = drain(out_fd, out);
    if (exited.get() >= 0 ? pfds[1].revents != 0 : shell_exited(pid)) {
      if (pipe_open)
        drain(out_fd, out); // what the shell wrote just before it exited
      return true;
    }
    if (millis_left(deadline) == 0)
      return false;
  }
}

} // namespace

exec_action::exec_action(config::action_settings settings) : settings_(std::move(settings)) {}

std::vector<std::string> exec_environment(const config::action_settings& settings,
                                          const action_context& ctx) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv{*e};
    auto eq = kv.find('=');
    if (eq != std::string::npos)
      env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : settings.env)
    env[k] = v;
  env["SWITCHYARD_SERVICE"] = ctx.service;
  env["SWITCHYARD_OLD_PRIMARY"] = ctx.old_primary;
  env["SWITCHYARD_OLD_PRIMARY_ADDRESS"] = ctx.old_primary_address;
  env["SWITCHYARD_NEW_PRIMARY"] = ctx.new_primary;
  env["SWITCHYARD_NEW_PRIMARY_ADDRESS"] = ctx.new_primary_address;
  env["SWITCHYARD_TARGET"] = ctx.target;
  env["SWITCHYARD_TARGET_ADDRESS"] = ctx.target_address;
  env["SWITCHYARD_PHASE"] = ctx.phase;
  env["SWITCHYARD_STEP"] = ctx.step_name;
  env["SWITCHYARD_SWITCHOVER_ID"] = std::to_string(ctx.switchover);
  env["SWITCHYARD_EPOCH"] = std::to_string(ctx.epoch);
  env["SWITCHYARD_LEADER_EPOCH"] = std::to_string(ctx.leader_epoch);
  env["SWITCHYARD_RPO_MS"] = std::to_string(ctx.rpo_ms);
  std::vector<std::string> result;
  result.reserve(env.size());
  for (const auto& [k, v] : env)
    result.push_back(k + "=" + v);
  return result;
}

action_result exec_action::run(const action_context& ctx) {
  action_result result;
  auto start = clock_type::now();
  auto deadline = start + settings_.timeout;
  auto elapsed = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
  };

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.detail = fmt::format("cannot create pipe: {}", std::strerror(errno));
    return result;
  }
  fd_guard read_end{pipe_fds[0]};
  fd_guard write_end{pipe_fds[1]};
  auto env_strings = exec_environment(settings_, ctx);
  std::vector<char*> envp;
  for (auto& s : env_strings)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string shell = "/bin/sh";
  std::string dash_c = "-c";
  std::string command = settings_.command;
  char* argv[] = {shell.data(), dash_c.data(), command.data(), nullptr};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group, so a timeout can kill everything the command started.
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  // The daemon blocks and ignores signals for its own reasons; commands must not inherit that.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, shell.c_str(), &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  write_end.reset(); // only the command may hold the write end, so EOF means it is done writing
  if (rc != 0) {
    result.detail = fmt::format("cannot start /bin/sh: {}", std::strerror(rc));
    return result;
  }

  bool finished = wait_for_shell(pid, read_end.get(), deadline, result.output);
  // The shell has exited or ran out of time; either way nothing it started may
  // outlive the step. The shell is not reaped yet, so the group id is still ours.
  ::kill(-pid, SIGKILL);
  int status = 0;
  pid_t reaped = -1;
  while ((reaped = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  result.elapsed = elapsed();
  if (!finished) {
    result.timed_out = true;
    result.detail = fmt::format("timed out after {} ms", settings_.timeout.count());
    return result; // the output tail of a killed command is in `output`, not the one-liner
  }
  if (reaped != pid) {
    result.detail = fmt::format("exit status of /bin/sh unknown: {}", std::strerror(errno));
  } else if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
    result.ok = result.exit_code == 0;
    result.detail = fmt::format("exit {} in {} ms", result.exit_code, result.elapsed.count());
  } else if (WIFSIGNALED(status)) {
    result.detail =
        fmt::format("killed by signal {} after {} ms", WTERMSIG(status), result.elapsed.count());
  }
  if (auto line = last_line(result.output); !line.empty())
    result.detail += " | " + line;
  return result;
}

} // namespace switchyard::strategies

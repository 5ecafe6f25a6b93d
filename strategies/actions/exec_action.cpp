#include "strategies/actions/exec_action.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

extern char** environ;

namespace switchyard::strategies {

namespace {

constexpr std::size_t output_limit = 4096; // keep the tail: errors come last

using clock_type = std::chrono::steady_clock;

int millis_left(clock_type::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
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
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end - (start == std::string::npos ? 0 : start + 1) + 1);
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
  env["SWITCHYARD_PHASE"] = ctx.phase;
  env["SWITCHYARD_STEP"] = ctx.step_name;
  env["SWITCHYARD_SWITCHOVER_ID"] = std::to_string(ctx.switchover);
  env["SWITCHYARD_EPOCH"] = std::to_string(ctx.epoch);
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
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr,
                             &none); // the daemon blocks signals; children must not inherit that
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
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    result.detail = fmt::format("cannot start /bin/sh: {}", std::strerror(rc));
    return result;
  }

  // Read output until EOF (all writers closed) or the deadline.
  bool timed_out = false;
  char buf[1024];
  while (true) {
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    int ready = ::poll(&pfd, 1, millis_left(deadline));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0) {
      timed_out = true;
      break;
    }
    auto n = ::read(pipe_fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    keep_tail(result.output, buf, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);

  int status = 0;
  if (!timed_out) {
    // Output closed; the shell may still be running (e.g. closed its stdout). Wait until the
    // deadline.
    while (true) {
      auto r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid)
        break;
      if (r < 0 && errno != EINTR) {
        status = 0;
        break;
      }
      if (millis_left(deadline) == 0) {
        timed_out = true;
        break;
      }
      ::usleep(2000);
    }
  }
  if (timed_out) {
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.timed_out = true;
    result.elapsed = elapsed();
    result.detail = fmt::format("timed out after {} ms", settings_.timeout.count());
    return result;
  }
  // Kill leftovers the command put in the background, so nothing outlives its step.
  ::kill(-pid, SIGKILL);
  result.elapsed = elapsed();
  if (WIFEXITED(status)) {
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

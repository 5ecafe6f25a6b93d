// Real child processes for integration tests: spawn with output to a file,
// signal, wait with a bounded deadline; the destructor never leaves one behind.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace switchyard::testing {

class child_process {
public:
  /// Starts argv[0] with argv; stdout and stderr go to `log_file` (appended).
  child_process(std::vector<std::string> argv, const std::string& log_file);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  /// Waits up to `limit` for the process to exit; returns its exit status
  /// (WEXITSTATUS), 128+signal if killed, or -1 if it is still running.
  int wait_for_exit(std::chrono::milliseconds limit);

private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

/// Polls `condition` every 20 ms until it holds or `limit` passes.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit);

/// A TCP port on 127.0.0.1 that was free a moment ago: below the ephemeral range (no
/// outgoing connection takes it), never the same twice in one process, nor one that
/// another test process running in parallel has picked.
std::uint16_t free_port();

/// Minimal HTTP client: returns "<status> <body>" or "" when unreachable.
std::string http_request(const std::string& method, std::uint16_t port, const std::string& path);

std::string read_file(const std::string& path);

} // namespace switchyard::testing

// Benchmark targets: N listening ports on 127.0.0.1 served by forked epoll
// workers (accept; answer an HTTP request with 200; close), counting accepted
// connections in shared memory. For probe_bench (switchyardd and HAProxy
// checking them) and pipeline_bench (real health checkers as background load).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace switchyard::bench {

/// Raises the soft limit of open files to the hard one (10,000 sockets and more).
void raise_fd_limit();

struct targets {
  std::vector<std::uint16_t> ports;
  std::vector<pid_t> pids;
  std::atomic<std::uint64_t>* accepted = nullptr;

  [[nodiscard]] std::uint64_t count() const { return accepted->load(); }

  targets() = default;
  targets(const targets&) = delete;
  targets& operator=(const targets&) = delete;
  ~targets();
};

/// Binds n ports from 20000 on (skipping ports in use), forks the workers.
std::unique_ptr<targets> start_targets(int n);

} // namespace switchyard::bench

// Inside the probe engine: the io thread ("lane") its net probes live on and
// hand their outcomes to. Shared by probe_engine.cpp and net_probe.cpp; not
// for use outside them.
#pragma once

#include <chrono>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include <asio.hpp>

#include "probes/probe.hpp"

namespace switchyard::actors::probe_detail {

using steady = std::chrono::steady_clock;

class net_probe;
struct attempt;

// Plain tcp checks (a connect is the whole check) wait for their connect on an
// epoll set of the lane's own, which the io_context watches as one descriptor:
// one epoll_ctl a check (the close takes the socket out of the set) where an
// asio socket makes three — add, modify for the write wait, delete (it cannot
// know that the close would do) — and an ioctl. Implemented in net_probe.cpp.
class connect_waits {
public:
  explicit connect_waits(asio::io_context& ioc);
  connect_waits(const connect_waits&) = delete;
  connect_waits& operator=(const connect_waits&) = delete;

  /// Calls probe->connect_ready(a, error) once `fd` (connecting) is writable or
  /// failed. False (errno set) when it cannot be watched: the caller falls back.
  bool wait(int fd, std::shared_ptr<net_probe> probe, std::shared_ptr<attempt> a);
  /// `fd`'s check ended before its connect did; its owner closes it next.
  void forget(int fd) { waiting_.erase(fd); }

private:
  struct waiter {
    std::shared_ptr<net_probe> probe;
    std::shared_ptr<attempt> a;
  };
  /// Always waiting while the lane runs (re-armed before each drain), so that
  /// no readiness is missed between a drain and the next wait.
  void arm();
  void drain();

  asio::posix::stream_descriptor set_; ///< owns the epoll fd
  std::unordered_map<int, waiter> waiting_;
};

// One io thread: its io_context, and the outcomes of checks that ended there,
// handed to their completions in bursts. A completion sends a health checker
// a message, and a message to an idle actor wakes a CAF worker thread: 10,000
// checks a second handed over one by one kept CAF's workers waking and
// sleeping. When quiet an outcome goes out at once (after the handlers that
// are ready already); while busy, at most once per `burst_gap`.
struct lane {
  static constexpr std::chrono::milliseconds burst_gap{1};

  struct pending {
    std::shared_ptr<net_probe> periodic; ///< reported to its `each`, if it still has one
    async_probe::completion done;        ///< or to this
    probe_outcome out;
  };

  void deliver(pending p);
  void flush(); ///< in probe_engine.cpp

  asio::io_context ioc{1};
  asio::steady_timer flush_timer{ioc};
  connect_waits connects{ioc};
  std::vector<pending> outbox;
  std::vector<pending> sending;
  steady::time_point last_flush{};
  bool flush_due = false;
};

// Inline: every check's outcome comes through here.
inline void lane::deliver(pending p) {
  outbox.push_back(std::move(p));
  if (flush_due)
    return;
  flush_due = true;
  auto due = last_flush + burst_gap;
  if (steady::now() >= due) {
    asio::post(ioc, [this] { flush(); });
    return;
  }
  flush_timer.expires_at(due);
  flush_timer.async_wait([this](const asio::error_code& ec) {
    if (!ec)
      flush();
  });
}

} // namespace switchyard::actors::probe_detail

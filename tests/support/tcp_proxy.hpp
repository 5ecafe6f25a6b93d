// A TCP proxy between a test and a server it starts, to simulate a network partition
// between them without root (no firewall rule) and without stopping either process.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

namespace switchyard::testing {

// Forwards TCP connections from a free loopback port to 127.0.0.1:<target>,
// on a thread of its own (poll(2), non-blocking sockets). cut() simulates a
// network partition the way a dropped-packet firewall rule does: every
// connection stays open but no byte passes in either direction, and new
// connections are accepted but not forwarded (nothing is closed, so the
// peers only notice by their own timeouts); restore() lets bytes flow again
// (buffered bytes are delivered, new connections connect to the target).
// The destructor stops the thread and closes every socket.
class tcp_proxy {
public:
  /// Listens on 127.0.0.1 at a port the kernel picks; throws std::runtime_error if it cannot.
  explicit tcp_proxy(std::uint16_t target_port);
  ~tcp_proxy();
  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  /// Where clients connect.
  std::uint16_t port() const { return port_; }
  /// Returns once the proxy thread has stopped forwarding: no byte sent afterwards passes.
  void cut();
  /// Returns once the proxy thread forwards again (and has started pending connections).
  void restore();
  bool is_cut() const;
  /// Client connections open now (forwarded, connecting, or held by a cut).
  std::size_t connections() const { return connections_.load(); }

private:
  void set_cut(bool cut);
  void wake();
  void run();

  std::uint16_t target_port_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  int wake_fd_ = -1; // an eventfd: cut(), restore() and the destructor interrupt poll(2)
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> connections_{0};

  // cut() and restore() wait until the thread has applied them (applied_ == wanted_),
  // so that a test's next send is already subject to the new state.
  mutable std::mutex mtx_;
  std::condition_variable applied_cv_;
  bool wanted_cut_ = false;
  bool applied_cut_ = false;

  std::thread thread_; // last: started once every member above is initialized
};

} // namespace switchyard::testing

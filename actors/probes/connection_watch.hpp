// Watches the connections probes hold open (fast detection) from one
// background thread and tells their owner as soon as a peer closes or resets
// one, instead of at the next probe.
//
// The thread waits in epoll for hang-ups and errors only (not for data, so a
// probe's own replies never wake it). It starts with the first watch() and is
// stopped and joined when the watch is destroyed; process_wide() lives until
// static destruction at exit.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace switchyard::actors {

class connection_watch {
public:
  /// Called once, on the watch thread, with the watch's lock held: it must be
  /// short (send a message) and must not call watch() or unwatch().
  using callback = std::function<void()>;

  connection_watch() = default;
  ~connection_watch();
  connection_watch(const connection_watch&) = delete;
  connection_watch& operator=(const connection_watch&) = delete;

  /// The one instance the health checkers share.
  static connection_watch& process_wide();

  /// Calls `on_lost` once when the peer of the connected socket `fd` closes or
  /// resets it, or it fails; replaces an earlier watch of `fd`. Returns an
  /// explanation when it cannot watch (no epoll, no thread), empty on success.
  [[nodiscard]] std::string watch(int fd, callback on_lost);

  /// Stops watching `fd` (nothing if it is not watched). When it returns, the
  /// callback is not running and never will: call it before closing `fd`, so
  /// a new connection that gets the same number is never mistaken for it.
  void unwatch(int fd);

  /// How many connections are watched (callbacks not yet fired).
  [[nodiscard]] std::size_t size() const;

private:
  struct entry {
    int fd;
    callback on_lost;
  };

  std::string start_locked();
  void unwatch_locked(int fd);
  void run();

  mutable std::mutex mtx_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1; ///< an eventfd: tells the thread to stop
  bool stopping_ = false;
  std::thread thread_;
  // epoll reports a registration token, never the bare fd: an event that was
  // already queued for a closed fd cannot reach the callback of its successor.
  std::uint64_t next_token_ = 1; ///< 0 is the wake-up eventfd
  std::unordered_map<std::uint64_t, entry> entries_;
  std::unordered_map<int, std::uint64_t> token_of_;
};

/// Watches one fd for as long as it lives (unwatches on destruction).
class watched_connection {
public:
  watched_connection(connection_watch& watch, int fd) : watch_(&watch), fd_(fd) {}
  ~watched_connection() { watch_->unwatch(fd_); }
  watched_connection(const watched_connection&) = delete;
  watched_connection& operator=(const watched_connection&) = delete;

  [[nodiscard]] int fd() const { return fd_; }

private:
  connection_watch* watch_;
  int fd_;
};

} // namespace switchyard::actors

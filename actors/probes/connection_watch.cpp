#include "actors/probes/connection_watch.hpp"

#include <cerrno>
#include <cstring>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <system_error>
#include <unistd.h>

#include <fmt/format.h>

namespace switchyard::actors {

namespace {

constexpr std::uint64_t wake_token = 0;

} // namespace

connection_watch& connection_watch::process_wide() {
  // Destroyed (thread joined) at exit, after main() has ended every actor.
  static connection_watch instance;
  return instance;
}

connection_watch::~connection_watch() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
    if (thread_.joinable()) {
      std::uint64_t one = 1;
      // An eventfd write of 1 cannot fail short of overflow.
      [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
    }
  }
  if (thread_.joinable())
    thread_.join();
  if (epoll_fd_ >= 0)
    ::close(epoll_fd_);
  if (wake_fd_ >= 0)
    ::close(wake_fd_);
}

std::string connection_watch::start_locked() {
  if (thread_.joinable())
    return {};
  if (epoll_fd_ < 0 && (epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC)) < 0)
    return fmt::format("epoll_create1: {}", std::strerror(errno));
  if (wake_fd_ < 0) {
    if ((wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
      return fmt::format("eventfd: {}", std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = wake_token;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
      auto err = errno;
      ::close(wake_fd_);
      wake_fd_ = -1;
      return fmt::format("epoll_ctl: {}", std::strerror(err));
    }
  }
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::system_error& e) {
    return fmt::format("cannot start the connection watch thread: {}", e.what());
  }
  return {};
}

std::string connection_watch::watch(int fd, callback on_lost) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (stopping_)
    return "the connection watch is stopping";
  if (auto err = start_locked(); !err.empty())
    return err;
  unwatch_locked(fd);
  auto token = next_token_++;
  epoll_event ev{};
  // Hang-up and error only: data (a probe's replies) must not wake the thread.
  // One-shot: a closed connection stays "hung up" and would be reported forever.
  ev.events = EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLONESHOT;
  ev.data.u64 = token;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0)
    return fmt::format("epoll_ctl: {}", std::strerror(errno));
  entries_.emplace(token, entry{fd, std::move(on_lost)});
  token_of_[fd] = token;
  return {};
}

void connection_watch::unwatch(int fd) {
  std::lock_guard<std::mutex> guard{mtx_};
  unwatch_locked(fd);
}

void connection_watch::unwatch_locked(int fd) {
  auto it = token_of_.find(fd);
  if (it == token_of_.end())
    return;
  // Still open (callers unwatch before closing), so this cannot fail for a
  // registered fd; either way the entry is gone and no event can reach it.
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  entries_.erase(it->second);
  token_of_.erase(it);
}

std::size_t connection_watch::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return entries_.size();
}

void connection_watch::run() {
  constexpr int batch = 64;
  epoll_event events[batch];
  while (true) {
    int n = ::epoll_wait(epoll_fd_, events, batch, -1);
    if (n < 0 && errno != EINTR)
      return; // only EBADF/EINVAL, i.e. a bug: nothing sensible is left to do
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_)
      return;
    for (int i = 0; i < n; ++i) {
      auto it = entries_.find(events[i].data.u64);
      if (it == entries_.end())
        continue; // the wake-up, or unwatched after the event was queued
      auto on_lost = std::move(it->second.on_lost);
      unwatch_locked(it->second.fd);
      if (on_lost)
        on_lost();
    }
  }
}

} // namespace switchyard::actors

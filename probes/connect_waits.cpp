// The lane's connect waits (probe_engine_impl.hpp): plain tcp checks' sockets
// in an epoll set of the lane's own, drained when the io_context sees the set
// readable.
#include <array>
#include <sys/epoll.h>

#include "probes/net_probe.hpp"

namespace switchyard::actors::probe_detail {

connect_waits::connect_waits(asio::io_context& ioc) : set_(ioc) {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0)
    return; // plain checks use asio's sockets then
  asio::error_code ec;
  set_.assign(fd, ec);
  if (ec) {
    ::close(fd);
    return;
  }
  arm();
}

bool connect_waits::wait(int fd, std::shared_ptr<net_probe> probe, std::shared_ptr<attempt> a) {
  if (!set_.is_open())
    return false;
  epoll_event ev{};
  ev.events = EPOLLOUT | EPOLLONESHOT;
  ev.data.fd = fd;
  if (::epoll_ctl(set_.native_handle(), EPOLL_CTL_ADD, fd, &ev) != 0)
    return false;
  waiting_[fd] = waiter{std::move(probe), std::move(a)};
  return true;
}

void connect_waits::arm() {
  set_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const asio::error_code& ec) {
    if (ec)
      return; // the lane stops
    arm();    // first: what becomes ready while we drain wakes us again
    drain();
  });
}

void connect_waits::drain() {
  std::array<epoll_event, 128> ready{};
  for (;;) {
    int n = ::epoll_wait(set_.native_handle(), ready.data(), static_cast<int>(ready.size()), 0);
    if (n <= 0)
      return;
    for (int i = 0; i < n; ++i) {
      int fd = ready[static_cast<std::size_t>(i)].data.fd;
      auto it = waiting_.find(fd);
      if (it == waiting_.end())
        continue; // its check ended meanwhile
      auto w = std::move(it->second);
      waiting_.erase(it);
      w.probe->connect_ready(w.a, pending_error(fd));
    }
    if (static_cast<std::size_t>(n) < ready.size())
      return;
  }
}

} // namespace switchyard::actors::probe_detail

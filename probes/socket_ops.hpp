// Inside the probe engine: the socket calls a net_probe makes around asio
// (opening, polling, closing). Inline: they run on every check.
#pragma once

#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio.hpp>

namespace switchyard::actors::probe_detail {

using asio::ip::tcp;

// A socket made with SOCK_CLOEXEC: exec probes and actions fork, and their
// children must not inherit (and keep open) the connections probes hold.
inline asio::error_code open_socket(tcp::socket& s, const tcp::endpoint& ep) {
  int fd = ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return {errno, asio::system_category()};
  asio::error_code ec;
  s.assign(ep.protocol(), fd, ec);
  if (ec)
    ::close(fd);
  return ec;
}

// Whether the peer of the connected socket `fd` has closed or reset it, or it
// has an error. Does not wait and reads no data. `unread` is set when data is
// waiting (nothing was asked for on a held connection).
inline bool peer_gone(int fd, bool& unread) {
  pollfd pfd{fd, POLLIN | POLLRDHUP, 0};
  int ready = ::poll(&pfd, 1, 0);
  unread = ready > 0 && (pfd.revents & POLLIN) != 0;
  if (ready < 0)
    return true;
  return (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

// The outcome of a non-blocking connect on `fd` once it is writable: its
// SO_ERROR (0: connected).
inline int pending_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    err = errno;
  return err;
}

inline void close_quietly(tcp::socket& s) {
  asio::error_code ignored;
  s.close(ignored);
}

// A tcp check that keeps no connection only needs the peer's SYN-ACK: with
// delayed ACKs the handshake's last ACK is not sent at once, and closing with
// a reset (linger 0) instead of the FIN exchange means the instance never
// completes the connection, never wakes its accept loop and never logs a
// client that went away; on loopback that work would even be charged to us.
// HAProxy's plain tcp checks do the same. Best effort: a kernel that refuses
// either option gets an ordinary connect and close.
inline void prefer_half_open(int fd) {
  int off = 0;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &off, sizeof off);
}

inline void prefer_half_open(tcp::socket& s) {
  prefer_half_open(s.native_handle());
}

inline void reset_on_close(int fd) {
  linger now{1, 0};
  (void)::setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
}

inline void close_with_reset(tcp::socket& s) {
  if (!s.is_open())
    return;
  reset_on_close(s.native_handle());
  close_quietly(s);
}

} // namespace switchyard::actors::probe_detail

#include "tests/support/tcp_proxy.hpp"

#include "tests/support/process.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace switchyard::testing {
namespace {

using namespace std::chrono_literals;

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

// A socket bound to a port the kernel picks on 127.0.0.1, listening if `listening`.
int bound_socket(bool listening, std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto addr = loopback(0);
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      (listening && ::listen(fd, SOMAXCONN) != 0) ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error(std::string("bound_socket: ") + std::strerror(errno));
  port = ntohs(addr.sin_port);
  return fd;
}

// Echoes whatever its clients send, on a thread of its own; counts the clients that
// closed their side (EOF), which is how it sees that the proxy passed a close on.
class echo_server {
public:
  echo_server() {
    listen_fd_ = bound_socket(true, port_);
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
    thread_ = std::thread([this] { run(); });
  }
  ~echo_server() {
    stop_ = true;
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
    thread_.join();
    for (int fd : clients_)
      ::close(fd);
    ::close(listen_fd_);
    ::close(wake_fd_);
  }
  echo_server(const echo_server&) = delete;
  echo_server& operator=(const echo_server&) = delete;

  std::uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  int eofs() const { return eofs_.load(); }

private:
  void run() {
    while (!stop_) {
      std::vector<pollfd> polled{{wake_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
      for (int fd : clients_)
        polled.push_back({fd, POLLIN, 0});
      if (::poll(polled.data(), polled.size(), -1) < 0)
        continue;
      std::vector<int> open;
      for (std::size_t i = 2; i < polled.size(); ++i) {
        int fd = polled[i].fd;
        if (polled[i].revents == 0 || echo(fd))
          open.push_back(fd);
        else
          ::close(fd);
      }
      clients_ = std::move(open);
      if (polled[1].revents & POLLIN) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          // Bounded: a client that stops reading cannot hold the thread (and the destructor).
          timeval tv{5, 0};
          ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
          clients_.push_back(fd);
          ++accepted_;
        }
      }
    }
  }

  // Echoes what `fd` has; false once it is closed or broken.
  bool echo(int fd) {
    char buf[16 * 1024];
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0)
      ++eofs_;
    if (n <= 0)
      return false;
    for (std::size_t sent = 0; sent < static_cast<std::size_t>(n);) {
      auto w = ::send(fd, buf + sent, static_cast<std::size_t>(n) - sent, MSG_NOSIGNAL);
      if (w <= 0)
        return false;
      sent += static_cast<std::size_t>(w);
    }
    return true;
  }

  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::vector<int> clients_; // the server thread's only
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> eofs_{0};
  std::thread thread_;
};

// A blocking client connection, closed by the destructor (or close()).
class client {
public:
  explicit client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto addr = loopback(port);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
      throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
  }
  ~client() { close(); }
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  int fd() const { return fd_; }
  void close() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

  void send(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

  // Up to `size` bytes, as many as arrive within `limit` (poll(2): no sleep).
  std::string receive(std::size_t size, std::chrono::milliseconds limit) {
    std::string got;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (got.size() < size) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        break;
      char buf[4096];
      auto n = ::recv(fd_, buf, std::min(sizeof(buf), size - got.size()), 0);
      if (n <= 0)
        break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }

  // Whether the other end closes (EOF or reset) within `limit`.
  bool closed_within(std::chrono::milliseconds limit) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0)
      return false;
    char c = 0;
    auto n = ::recv(fd_, &c, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

private:
  int fd_ = -1;
};

TEST(TcpProxy, ForwardsBytesBothWays) {
  echo_server echo;
  tcp_proxy proxy{echo.port()};
  EXPECT_NE(proxy.port(), 0);
  EXPECT_NE(proxy.port(), echo.port());
  client c{proxy.port()};
  c.send("hello");
  EXPECT_EQ(c.receive(5, 2s), "hello");
  EXPECT_EQ(proxy.connections(), 1u);
  EXPECT_FALSE(proxy.is_cut());
}

TEST(TcpProxy, CutHoldsBytesAndNewConnectionsUntilRestore) {
  echo_server echo;
  tcp_proxy proxy{echo.port()};
  client before{proxy.port()};
  before.send("one");
  ASSERT_EQ(before.receive(3, 2s), "one");

  proxy.cut();
  EXPECT_TRUE(proxy.is_cut());
  before.send("two");
  EXPECT_EQ(before.receive(3, 300ms), "");
  client during{proxy.port()}; // accepted (the kernel completes the handshake), not forwarded
  during.send("three");
  EXPECT_EQ(during.receive(5, 300ms), "");
  EXPECT_EQ(echo.accepted(), 1);
  EXPECT_TRUE(wait_until([&] { return proxy.connections() == 2; }, 2s));

  proxy.restore();
  EXPECT_FALSE(proxy.is_cut());
  EXPECT_EQ(before.receive(3, 2s), "two");
  EXPECT_EQ(during.receive(5, 2s), "three");
  EXPECT_EQ(echo.accepted(), 2);
  during.send("four");
  EXPECT_EQ(during.receive(4, 2s), "four");
}

TEST(TcpProxy, ClosingTheClientClosesTheServerSide) {
  echo_server echo;
  tcp_proxy proxy{echo.port()};
  client c{proxy.port()};
  c.send("bye");
  ASSERT_EQ(c.receive(3, 2s), "bye");
  c.close();
  EXPECT_TRUE(wait_until([&] { return echo.eofs() == 1; }, 2s));
  EXPECT_TRUE(wait_until([&] { return proxy.connections() == 0; }, 2s));
}

TEST(TcpProxy, ClosesTheClientWhenTheTargetRefuses) {
  // Bound but not listening: the port stays ours, and a connection to it is refused.
  std::uint16_t refusing = 0;
  int fd = bound_socket(false, refusing);
  {
    tcp_proxy proxy{refusing};
    client c{proxy.port()};
    EXPECT_TRUE(c.closed_within(2s));
    EXPECT_TRUE(wait_until([&] { return proxy.connections() == 0; }, 2s));
  }
  ::close(fd);
}

TEST(TcpProxy, ForwardsMoreThanItsBuffersHold) {
  // 1 MiB each way through 64 KiB buffers: the proxy stops reading a side whose buffer is
  // full and resumes as the other side drains it, without losing or reordering a byte.
  echo_server echo;
  tcp_proxy proxy{echo.port()};
  client c{proxy.port()};
  std::string data(1 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * 7 % 251);
  ::fcntl(c.fd(), F_SETFL, ::fcntl(c.fd(), F_GETFL) | O_NONBLOCK);
  std::size_t sent = 0;
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (got.size() < data.size() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{c.fd(), static_cast<short>(POLLIN | (sent < data.size() ? POLLOUT : 0)), 0};
    ASSERT_GE(::poll(&p, 1, 1000), 0);
    if ((p.revents & POLLOUT) && sent < data.size()) {
      auto n = ::send(c.fd(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n > 0)
        sent += static_cast<std::size_t>(n);
    }
    if (p.revents & POLLIN) {
      char buf[64 * 1024];
      auto n = ::recv(c.fd(), buf, sizeof(buf), 0);
      ASSERT_GT(n, 0);
      got.append(buf, static_cast<std::size_t>(n));
    }
  }
  ASSERT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
}

TEST(TcpProxy, DestructorClosesEveryConnection) {
  echo_server echo;
  std::unique_ptr<client> c;
  {
    tcp_proxy proxy{echo.port()};
    c = std::make_unique<client>(proxy.port());
    c->send("x");
    ASSERT_EQ(c->receive(1, 2s), "x");
  }
  EXPECT_TRUE(c->closed_within(2s));
  EXPECT_TRUE(wait_until([&] { return echo.eofs() == 1; }, 2s));
}

} // namespace
} // namespace switchyard::testing

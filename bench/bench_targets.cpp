#include "bench/bench_targets.hpp"

#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <new>
#include <string>
#include <string_view>

namespace switchyard::bench {

namespace {

constexpr std::uint16_t first_port = 20000; // below Linux's ephemeral range (32768..)
constexpr int workers = 2;

} // namespace

void raise_fd_limit() {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
}

namespace {

[[noreturn]] void serve(const std::vector<int>& listeners, std::atomic<std::uint64_t>* accepted) {
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<bool> is_listener;
  for (int fd : listeners) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    if (is_listener.size() <= static_cast<std::size_t>(fd))
      is_listener.resize(static_cast<std::size_t>(fd) + 1);
    is_listener[static_cast<std::size_t>(fd)] = true;
  }
  static const std::string reply =
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
  epoll_event events[256];
  char buf[4096];
  while (true) {
    int n = ::epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      auto ufd = static_cast<std::size_t>(fd);
      if (ufd < is_listener.size() && is_listener[ufd]) {
        for (int c; (c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
          accepted->fetch_add(1, std::memory_order_relaxed);
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
        }
        continue;
      }
      auto got = ::recv(fd, buf, sizeof(buf), 0);
      if (got < 0 && errno == EAGAIN)
        continue;
      if (got > 0 && std::string_view(buf, static_cast<std::size_t>(got)).find("\r\n\r\n") ==
                         std::string_view::npos)
        continue; // the rest of the request is still to come
      if (got > 0) [[maybe_unused]]
        auto sent = ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(fd); // also removes it from the epoll set
    }
  }
}

} // namespace

targets::~targets() {
  for (auto p : pids) {
    ::kill(p, SIGKILL);
    ::waitpid(p, nullptr, 0);
  }
}

// Binds n ports from first_port on (skipping ports in use), forks the workers.
std::unique_ptr<targets> start_targets(int n) {
  auto t = std::make_unique<targets>();
  void* shared = ::mmap(nullptr, sizeof(std::atomic<std::uint64_t>), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  t->accepted = new (shared) std::atomic<std::uint64_t>(0);
  std::vector<int> fds;
  for (std::uint32_t port = first_port; static_cast<int>(fds.size()) < n && port < 32768; ++port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd, 1024) != 0) {
      ::close(fd);
      continue;
    }
    fds.push_back(fd);
    t->ports.push_back(static_cast<std::uint16_t>(port));
  }
  for (int w = 0; w < workers; ++w) {
    std::vector<int> mine;
    for (std::size_t i = static_cast<std::size_t>(w); i < fds.size(); i += workers)
      mine.push_back(fds[i]);
    pid_t pid = ::fork();
    if (pid == 0)
      serve(mine, t->accepted);
    t->pids.push_back(pid);
  }
  for (int fd : fds)
    ::close(fd);
  return t;
}

} // namespace switchyard::bench

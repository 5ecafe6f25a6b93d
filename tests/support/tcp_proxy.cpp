#include "tests/support/tcp_proxy.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace switchyard::testing {

namespace {

// Per direction: enough for HTTP/2 frames in flight, small enough that a peer that
// stops reading pushes back on the other one (its kernel buffers fill) as it would
// without the proxy.
constexpr std::size_t buffer_size = 64 * 1024;

// How long cut() and restore() wait for the proxy thread: it only ever blocks in poll(2),
// which they interrupt, so this bound is only reached if the thread has died.
constexpr auto apply_limit = std::chrono::seconds(5);

// Owns a descriptor, so that a connection closes however its session ends.
class unique_fd {
public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  ~unique_fd() { reset(); }
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;

  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

private:
  int fd_ = -1;
};

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

// Bytes read from one peer that the other has not taken yet: [begin, end) of `bytes`.
struct buffer {
  std::vector<char> bytes = std::vector<char>(buffer_size);
  std::size_t begin = 0;
  std::size_t end = 0;

  bool empty() const { return begin == end; }
  bool full() const { return begin == 0 && end == bytes.size(); }
  // Moves the unsent bytes to the front, so that the free space is one piece.
  void compact() {
    if (begin == 0)
      return;
    std::memmove(bytes.data(), bytes.data() + begin, end - begin);
    end -= begin;
    begin = 0;
  }
};

// One direction of a connection: bytes from one socket towards the other.
struct direction {
  buffer buf;
  bool eof = false;  // the sending peer has shut down its side: nothing more to read
  bool shut = false; // and, its bytes delivered, the receiving peer's side is shut down too

  bool done() const { return eof && shut; }
};

enum class stage {
  held,       // accepted during a cut: connects to the target on restore()
  connecting, // non-blocking connect(2) to the target in progress
  open,       // forwarding
};

struct session {
  unique_fd client;
  unique_fd server;
  stage state = stage::held;
  direction up;   // client -> server
  direction down; // server -> client
  // A socket that reported POLLHUP: polled again only when there is something to do with
  // it, since poll(2) reports POLLHUP whatever it is asked, and would never sleep.
  bool client_hup = false;
  bool server_hup = false;
  bool dead = false; // to be closed at the end of this round
};

// Starts the connection to the target; false if it failed at once (refused).
bool start_connect(session& s, std::uint16_t target_port) {
  s.server = unique_fd{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (s.server.get() < 0)
    return false;
  auto addr = loopback(target_port);
  if (::connect(s.server.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    s.state = stage::open;
    return true;
  }
  if (errno == EINPROGRESS) {
    s.state = stage::connecting;
    return true;
  }
  return false;
}

// The connect(2) in progress has ended: forwarding starts, or the client is closed.
void finish_connect(session& s) {
  int error = 0;
  socklen_t len = sizeof(error);
  if (::getsockopt(s.server.get(), SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0)
    s.dead = true;
  else
    s.state = stage::open;
}

// Reads what `from` has and `d`'s buffer can take. False on a read error.
bool read_into(int from, direction& d) {
  d.buf.compact();
  auto n = ::recv(from, d.buf.bytes.data() + d.buf.end, d.buf.bytes.size() - d.buf.end, 0);
  if (n > 0)
    d.buf.end += static_cast<std::size_t>(n);
  else if (n == 0)
    d.eof = true;
  else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
    return false;
  return true;
}

// Sends what `d` holds to `to` (MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE).
// False on a write error.
bool write_from(direction& d, int to) {
  auto n = ::send(to, d.buf.bytes.data() + d.buf.begin, d.buf.end - d.buf.begin, MSG_NOSIGNAL);
  if (n >= 0)
    d.buf.begin += static_cast<std::size_t>(n);
  else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
    return false;
  if (d.buf.empty())
    d.buf.begin = d.buf.end = 0;
  return true;
}

// Passes the sender's end of stream on once its bytes are delivered: the receiver
// sees EOF, and may still answer in the other direction.
void forward_eof(direction& d, int to) {
  if (d.eof && d.buf.empty() && !d.shut) {
    ::shutdown(to, SHUT_WR);
    d.shut = true;
  }
}

// What to wait for on one socket of an open session: reading while `in` has room,
// writing while `out` holds bytes.
short wanted(const direction& in, const direction& out) {
  int events = 0;
  if (!in.eof && !in.buf.full())
    events |= POLLIN;
  if (!out.buf.empty())
    events |= POLLOUT;
  return static_cast<short>(events);
}

void set_poll(pollfd& p, int fd, short events, bool hup) {
  // A negative descriptor is skipped by poll(2): nothing to do with a hung-up socket.
  p.fd = hup && events == 0 ? -1 : fd;
  p.events = events;
  p.revents = 0;
}

// One round of an open session, after poll(2): read, write, pass EOFs on.
void serve(session& s, const pollfd& c, const pollfd& v) {
  if ((c.revents | v.revents) & (POLLERR | POLLNVAL)) {
    s.dead = true; // a reset or a failure: the pair goes, as a broken link would
    return;
  }
  s.client_hup = s.client_hup || (c.revents & POLLHUP);
  s.server_hup = s.server_hup || (v.revents & POLLHUP);
  // POLLHUP with POLLIN wanted: recv(2) returns the last bytes, then 0; with POLLOUT
  // wanted, send(2) fails. Either way the session moves on.
  constexpr int readable = POLLIN | POLLHUP;
  constexpr int writable = POLLOUT | POLLHUP;
  bool ok = true;
  if ((c.events & POLLIN) && (c.revents & readable))
    ok = ok && read_into(s.client.get(), s.up);
  if ((v.events & POLLIN) && (v.revents & readable))
    ok = ok && read_into(s.server.get(), s.down);
  if ((v.events & POLLOUT) && (v.revents & writable))
    ok = ok && write_from(s.up, s.server.get());
  if ((c.events & POLLOUT) && (c.revents & writable))
    ok = ok && write_from(s.down, s.client.get());
  if (!ok) {
    s.dead = true;
    return;
  }
  forward_eof(s.up, s.server.get());
  forward_eof(s.down, s.client.get());
  s.dead = s.up.done() && s.down.done();
}

} // namespace

tcp_proxy::tcp_proxy(std::uint16_t target_port) : target_port_(target_port) {
  try {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0)
      throw std::runtime_error(std::string("tcp_proxy: socket: ") + std::strerror(errno));
    auto addr = loopback(0); // the kernel picks a free port: nothing to race for
    socklen_t len = sizeof(addr);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listen_fd_, SOMAXCONN) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error(std::string("tcp_proxy: listen: ") + std::strerror(errno));
    port_ = ntohs(addr.sin_port);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0)
      throw std::runtime_error(std::string("tcp_proxy: eventfd: ") + std::strerror(errno));
    thread_ = std::thread([this] { run(); });
  } catch (...) {
    // The destructor does not run for a constructor that throws.
    if (listen_fd_ >= 0)
      ::close(listen_fd_);
    if (wake_fd_ >= 0)
      ::close(wake_fd_);
    throw;
  }
}

tcp_proxy::~tcp_proxy() {
  stop_ = true;
  wake();
  thread_.join(); // the thread's sessions close their sockets as it returns
  ::close(listen_fd_);
  ::close(wake_fd_);
}

void tcp_proxy::cut() {
  set_cut(true);
}

void tcp_proxy::restore() {
  set_cut(false);
}

bool tcp_proxy::is_cut() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return wanted_cut_;
}

void tcp_proxy::set_cut(bool cut) {
  std::unique_lock<std::mutex> lock{mtx_};
  wanted_cut_ = cut;
  wake();
  applied_cv_.wait_for(lock, apply_limit, [this] { return applied_cut_ == wanted_cut_; });
}

void tcp_proxy::wake() {
  std::uint64_t one = 1;
  // Cannot fail short of the counter overflowing; a wake-up already pending does as well.
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
}

void tcp_proxy::run() {
  std::vector<std::unique_ptr<session>> sessions;
  std::vector<pollfd> polled;
  bool cut = false;
  while (!stop_) {
    // Apply cut() or restore() first, then say so: the caller's next bytes see the new state.
    bool wanted_cut = false;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      wanted_cut = wanted_cut_;
    }
    if (cut && !wanted_cut) {
      for (auto& s : sessions)
        if (s->state == stage::held && !start_connect(*s, target_port_))
          s->dead = true;
    }
    cut = wanted_cut;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      applied_cut_ = cut;
    }
    applied_cv_.notify_all();

    std::erase_if(sessions, [](const auto& s) { return s->dead; });
    connections_ = sessions.size();

    // [0] wake-ups, [1] new clients, then client and server of each session. During a cut
    // no session is polled at all: nothing moves, and nothing that happens to its peers
    // (a close, a reset) is seen until restore(), as behind a firewall dropping packets.
    polled.assign(2 + 2 * sessions.size(), pollfd{-1, 0, 0});
    polled[0] = pollfd{wake_fd_, POLLIN, 0};
    polled[1] = pollfd{listen_fd_, POLLIN, 0};
    for (std::size_t i = 0; i < sessions.size() && !cut; ++i) {
      auto& s = *sessions[i];
      if (s.state == stage::open) {
        set_poll(polled[2 + 2 * i], s.client.get(), wanted(s.up, s.down), s.client_hup);
        set_poll(polled[3 + 2 * i], s.server.get(), wanted(s.down, s.up), s.server_hup);
      } else if (s.state == stage::connecting) {
        set_poll(polled[2 + 2 * i], s.client.get(), 0, s.client_hup); // errors only
        set_poll(polled[3 + 2 * i], s.server.get(), POLLOUT, false);
      }
    }
    // No timeout: every reason to wake up is a descriptor, the eventfd included.
    if (::poll(polled.data(), polled.size(), -1) < 0) {
      if (errno == EINTR)
        continue;
      break; // EFAULT or ENOMEM: the destructor still joins and closes everything
    }

    if (polled[0].revents & POLLIN) {
      std::uint64_t count = 0;
      [[maybe_unused]] auto n = ::read(wake_fd_, &count, sizeof(count));
    }
    for (std::size_t i = 0; i < sessions.size() && !cut; ++i) {
      auto& s = *sessions[i];
      const auto& c = polled[2 + 2 * i];
      const auto& v = polled[3 + 2 * i];
      if (s.state == stage::open) {
        serve(s, c, v);
      } else if (s.state == stage::connecting) {
        if (c.revents & (POLLERR | POLLNVAL))
          s.dead = true;
        else if (v.revents & (POLLOUT | POLLERR | POLLHUP))
          finish_connect(s);
        s.client_hup = s.client_hup || (c.revents & POLLHUP);
      }
    }
    if (polled[1].revents & POLLIN) {
      // Accepted even during a cut, as a firewall dropping packets would not refuse them
      // either; held until restore().
      while (true) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
          break; // EAGAIN: none left; anything else: tried again next round
        auto s = std::make_unique<session>();
        s->client = unique_fd{fd};
        if (cut || start_connect(*s, target_port_))
          sessions.push_back(std::move(s));
        // else: the target refused; the client is closed as `s` goes
      }
    }
  }
  connections_ = 0;
}

} // namespace switchyard::testing

#include "probes/probe_engine.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include <asio.hpp>
#include <fmt/format.h>

#include "probes/check_kinds.hpp"
#include "probes/probe_schedule.hpp"

namespace switchyard::actors {

namespace {

using asio::ip::tcp;
using steady = std::chrono::steady_clock;

// A socket made with SOCK_CLOEXEC: exec probes and actions fork, and their
// children must not inherit (and keep open) the connections probes hold.
asio::error_code open_socket(tcp::socket& s, const tcp::endpoint& ep) {
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
bool peer_gone(int fd, bool& unread) {
  pollfd pfd{fd, POLLIN | POLLRDHUP, 0};
  int ready = ::poll(&pfd, 1, 0);
  unread = ready > 0 && (pfd.revents & POLLIN) != 0;
  if (ready < 0)
    return true;
  return (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

void close_quietly(tcp::socket& s) {
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
void prefer_half_open(tcp::socket& s) {
  int off = 0;
  (void)::setsockopt(s.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &off, sizeof off);
}

void close_with_reset(tcp::socket& s) {
  if (!s.is_open())
    return;
  linger now{1, 0};
  (void)::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &now, sizeof now);
  close_quietly(s);
}

// One check, from start() to its completion. Handlers hold it by shared_ptr
// and return at once when it has finished (timed out, or abandoned).
struct attempt {
  explicit attempt(asio::io_context& ioc) : sock(ioc), timer(ioc) {}
  async_probe::completion done; ///< empty for a periodic check (the probe's `each`)
  bool periodic = false;
  steady::time_point start;
  tcp::socket sock;
  asio::steady_timer timer;
  check_phase at = check_phase::connecting;
  std::vector<tcp::endpoint> endpoints; ///< resolved, tried in order
  std::size_t next_endpoint = 0;
  std::string in; ///< received so far
  /// For reads (http, redis): allocated on the first one, a tcp check needs none.
  std::unique_ptr<std::array<char, 4096>> buf;
  bool retried = false; ///< one fresh connection after a broken or reset one (retry_fresh)
  bool late = false;    ///< the timer fired with the answer already waiting
  bool finished = false;
};

// A connection kept open between checks, watched by a pending read.
struct held_conn {
  explicit held_conn(tcp::socket s) : sock(std::move(s)) {}
  tcp::socket sock;
  std::array<char, 512> buf{};
};

class net_probe;

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
  void flush();

  asio::io_context ioc{1};
  asio::steady_timer flush_timer{ioc};
  std::vector<pending> outbox;
  std::vector<pending> sending;
  steady::time_point last_flush{};
  bool flush_due = false;
};

} // namespace

struct probe_engine::impl {
  std::vector<std::unique_ptr<lane>> lanes;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::unique_ptr<asio::thread_pool> pool;
  std::size_t pool_threads = 0;
  std::atomic<std::size_t> next_lane{0};
  std::shared_ptr<std::atomic<std::size_t>> held = std::make_shared<std::atomic<std::size_t>>(0);

  lane& next() { return *lanes[next_lane++ % lanes.size()]; }
};

namespace {

// A tcp, http or redis probe (its `check_kind` says which). Lives on one
// io_context (one thread): every member function runs there.
class net_probe : public std::enable_shared_from_this<net_probe> {
public:
  struct params {
    std::unique_ptr<check_kind> kind;
    std::string host;
    std::uint16_t port = 0;
    std::chrono::milliseconds timeout{500};
    bool hold = false;
  };

  net_probe(lane& home, std::shared_ptr<std::atomic<std::size_t>> held_count, params p)
      : lane_(home), held_count_(std::move(held_count)), p_(std::move(p)), kind_(*p_.kind),
        resolver_(home.ioc), tick_(home.ioc) {
    asio::error_code ec;
    if (auto addr = asio::ip::make_address(p_.host, ec); !ec)
      numeric_ = tcp::endpoint{addr, p_.port};
  }

  ~net_probe() { drop_held(); }

  // Room for a read of the check in flight.
  static asio::mutable_buffer read_buffer(attempt& a) {
    if (!a.buf)
      a.buf = std::make_unique<std::array<char, 4096>>();
    return asio::buffer(*a.buf);
  }
  net_probe(const net_probe&) = delete;
  net_probe& operator=(const net_probe&) = delete;

  asio::io_context& ioc() { return lane_.ioc; }

  void set_lost(async_probe::lost_callback cb) { lost_ = std::move(cb); }

  // The handle is gone: abandon the check in flight, close the held connection.
  void shutdown() {
    lost_ = nullptr;
    each_ = nullptr;
    tick_.cancel();
    abandon_current();
    drop_held();
  }

  void start(async_probe::completion done) {
    if (cur_ && cur_->periodic) {
      // A check is under way now: its outcome answers this one too. Starting
      // another would only race it (a connection made twice).
      cur_->periodic = false;
      cur_->done = std::move(done);
      return;
    }
    auto a = new_attempt();
    a->done = std::move(done);
    run(a);
  }

  void run_periodically(const async_probe::periodic_settings& s, async_probe::completion each) {
    schedule_.emplace(s.interval, s.jitter, s.seed);
    each_ = std::move(each);
    beat(); // the first check at once
  }

  // A periodic check's outcome, from the lane's outbox: nobody hears of it
  // once the handle is gone.
  void report_periodic(probe_outcome out) {
    if (each_)
      each_(std::move(out));
  }

private:
  // A periodic check, unless one is still in flight (an extra check, or a
  // slow one: it ends within its timeout), and the next beat.
  void beat() {
    tick_.expires_after(schedule_->next(steady::now()));
    tick_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (!ec && self->each_)
        self->beat();
    });
    if (cur_)
      return;
    auto a = new_attempt();
    a->periodic = true;
    run(a);
  }

  void abandon_current() {
    if (!cur_)
      return;
    cur_->finished = true; // it never completes
    cur_->timer.cancel();
    close_quietly(cur_->sock);
    cur_.reset();
  }

  std::shared_ptr<attempt> new_attempt() {
    abandon_current();
    auto a = std::make_shared<attempt>(lane_.ioc);
    cur_ = a;
    a->start = steady::now();
    return a;
  }

  void run(const std::shared_ptr<attempt>& a) {
    arm_timer(a, p_.timeout);
    if (held_) {
      bool unread = false;
      auto use = peer_gone(held_->sock.native_handle(), unread) ? check_kind::held_use::reconnect
                                                                : kind_.use_held(unread);
      if (use == check_kind::held_use::answer) {
        finish(a, true, "connection held");
        return;
      }
      if (use == check_kind::held_use::resend) {
        // Reused: the watch's pending read must not take the replies.
        auto h = held_;
        forget_held(); // no longer held: this check owns it
        asio::error_code ignored;
        h->sock.cancel(ignored);
        a->sock = std::move(h->sock);
        send_request(a);
        return;
      }
      drop_held(); // gone, or out of step: start over on a new connection
    }
    connect(a);
  }

  void arm_timer(const std::shared_ptr<attempt>& a, std::chrono::milliseconds after) {
    a->timer.expires_after(after);
    a->timer.async_wait([self = shared_from_this(), a](const asio::error_code& ec) {
      if (ec || a->finished)
        return;
      // The answer (or the connect's result) is in the socket and only this
      // thread has not got to it yet: when it is busy with thousands of
      // checks, that is our delay, not the instance's. Once, a little longer.
      if (!a->late && self->answer_waiting(*a)) {
        a->late = true;
        self->arm_timer(a, std::max(std::chrono::milliseconds(100), self->p_.timeout / 2));
        return;
      }
      self->finish(a, false, self->timeout_detail(*a));
    });
  }

  // Whether the check's pending operation can complete at once.
  static bool answer_waiting(attempt& a) {
    if (!a.sock.is_open())
      return false;
    pollfd pfd{a.sock.native_handle(), POLLIN | POLLOUT, 0};
    if (::poll(&pfd, 1, 0) <= 0)
      return false;
    auto done = POLLERR | POLLHUP;
    switch (a.at) {
    case check_phase::connecting:
    case check_phase::sending:
      return (pfd.revents & (POLLOUT | done)) != 0;
    default:
      return (pfd.revents & (POLLIN | done)) != 0;
    }
  }

  std::string timeout_detail(const attempt& a) const {
    if (a.at == check_phase::connecting)
      return "connect timed out";
    return kind_.timed_out(a.at, a.in, p_.timeout);
  }

  void connect(const std::shared_ptr<attempt>& a) {
    a->at = check_phase::connecting;
    if (numeric_) {
      a->endpoints.assign(1, *numeric_);
      a->next_endpoint = 0;
      connect_next(a, {});
      return;
    }
    resolver_.async_resolve(
        p_.host, std::to_string(p_.port),
        [self = shared_from_this(), a](const asio::error_code& ec,
                                       const tcp::resolver::results_type& found) {
          if (a->finished)
            return;
          if (ec) {
            self->finish(a, false,
                         fmt::format("cannot resolve '{}': {}", self->p_.host, ec.message()));
            return;
          }
          a->endpoints.clear();
          for (const auto& e : found)
            a->endpoints.push_back(e.endpoint());
          a->next_endpoint = 0;
          self->connect_next(a, asio::error::host_not_found);
        });
  }

  // Tries the next resolved address; `last` is why the previous one failed.
  void connect_next(const std::shared_ptr<attempt>& a, asio::error_code last) {
    if (a->next_endpoint >= a->endpoints.size()) {
      finish(a, false, last ? last.message() : std::string{"no address"},
             last == asio::error::connection_refused);
      return;
    }
    auto ep = a->endpoints[a->next_endpoint++];
    close_quietly(a->sock);
    if (auto ec = open_socket(a->sock, ep)) {
      finish(a, false, fmt::format("socket: {}", ec.message()));
      return;
    }
    if (kind_.request().empty() && !p_.hold)
      prefer_half_open(a->sock);
    a->sock.async_connect(ep, [self = shared_from_this(), a](const asio::error_code& ec) {
      if (a->finished)
        return;
      if (ec == asio::error::connection_reset && self->retry_fresh(a))
        return; // queued by a dying listener: see retry_fresh
      if (ec) {
        self->connect_next(a, ec);
        return;
      }
      self->connected(a);
    });
  }

  void connected(const std::shared_ptr<attempt>& a) {
    if (kind_.request().empty()) { // being connected is the answer
      conclude(a, *kind_.judge(a->in, false));
      return;
    }
    send_request(a);
  }

  void send_request(const std::shared_ptr<attempt>& a) {
    a->at = check_phase::sending;
    a->in.clear();
    asio::async_write(a->sock, asio::buffer(kind_.request()),
                      [self = shared_from_this(), a](const asio::error_code& ec, std::size_t) {
                        if (a->finished)
                          return;
                        if (ec) {
                          self->failed(a, fmt::format("send: {}", ec.message()), true);
                          return;
                        }
                        a->at = check_phase::receiving;
                        self->read_answer(a);
                      });
  }

  // Reads until the kind has its verdict on what arrived.
  void read_answer(const std::shared_ptr<attempt>& a) {
    if (auto verdict = kind_.judge(a->in, false)) {
      conclude(a, std::move(*verdict));
      return;
    }
    a->sock.async_read_some(
        read_buffer(*a), [self = shared_from_this(), a](const asio::error_code& ec, std::size_t n) {
          if (a->finished)
            return;
          if (ec == asio::error::eof) {
            self->conclude(
                a, self->kind_.judge(a->in, true)
                       .value_or(check_verdict{false, "connection closed by the server", true}));
            return;
          }
          if (ec) {
            self->failed(a, fmt::format("recv: {}", ec.message()), true);
            return;
          }
          a->in.append(a->buf->data(), n);
          self->read_answer(a);
        });
  }

  void conclude(const std::shared_ptr<attempt>& a, check_verdict v) {
    if (v.ok)
      finish(a, true, std::move(v.detail));
    else
      failed(a, std::move(v.detail), v.broken);
  }

  // A failed exchange; one that broke (`broken`) gets a fresh try if the kind
  // wants it (redis, see check_kinds.hpp).
  void failed(const std::shared_ptr<attempt>& a, std::string detail, bool broken) {
    if (broken && kind_.retries_broken() && retry_fresh(a))
      return;
    finish(a, false, std::move(detail));
  }

  // One fresh connection, a moment later, if the timeout allows. A killed
  // process's sockets do not all go at the same instant: a connection made
  // as soon as the held one was reset was seen queued on the dying listener
  // and then reset ("Connection reset by peer", not refused). A try 20 ms
  // later is refused, which is what a dead instance answers.
  static constexpr std::chrono::milliseconds retry_pause{20};

  bool retry_fresh(const std::shared_ptr<attempt>& a) {
    if (a->retried || steady::now() + retry_pause >= a->start + p_.timeout)
      return false;
    a->retried = true;
    close_quietly(a->sock); // may be out of step: never reused
    auto pause = std::make_shared<asio::steady_timer>(lane_.ioc, retry_pause);
    pause->async_wait([self = shared_from_this(), a, pause](const asio::error_code& ec) {
      if (!ec && !a->finished)
        self->connect(a);
    });
    return true;
  }

  // -- completion and the held connection -------------------------------------

  void finish(const std::shared_ptr<attempt>& a, bool ok, std::string detail,
              bool refused = false) {
    if (a->finished)
      return;
    a->finished = true;
    a->timer.cancel();
    probe_outcome out;
    out.ok = ok;
    out.detail = std::move(detail);
    out.refused = refused;
    out.latency = std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - a->start);
    if (ok && p_.hold && a->sock.is_open())
      hold(std::move(a->sock));
    else if (ok && kind_.request().empty()) // never asked: see prefer_half_open
      close_with_reset(a->sock);
    else
      close_quietly(a->sock);
    if (cur_ == a)
      cur_.reset();
    if (a->periodic)
      lane_.deliver({shared_from_this(), nullptr, std::move(out)});
    else if (a->done)
      lane_.deliver({nullptr, std::move(a->done), std::move(out)});
  }

  void hold(tcp::socket s) {
    drop_held();
    held_ = std::make_shared<held_conn>(std::move(s));
    ++*held_count_;
    watch();
  }

  // A pending read on the held connection: it completes when the peer closes
  // or resets it (or sends something unasked).
  void watch() {
    auto h = held_;
    h->sock.async_read_some(asio::buffer(h->buf), [self = shared_from_this(),
                                                   h](const asio::error_code& ec, std::size_t) {
      if (self->held_ != h)
        return; // reused, replaced or closed since
      if (!ec && self->kind_.use_held(true) == check_kind::held_use::answer) {
        self->watch(); // a banner or the like: only the connection matters
        return;
      }
      self->drop_held();
      // Data nobody asked for puts a redis connection out of step: dropped
      // quietly, the next check connects anew. A closed one is news.
      if (ec && self->lost_)
        self->lost_();
    });
  }

  void forget_held() {
    if (held_) {
      held_.reset();
      --*held_count_;
    }
  }

  void drop_held() {
    if (!held_)
      return;
    auto h = std::move(held_);
    --*held_count_;
    close_quietly(h->sock);
  }

  lane& lane_;
  std::shared_ptr<std::atomic<std::size_t>> held_count_;
  params p_;
  const check_kind& kind_; ///< *p_.kind
  tcp::resolver resolver_;
  std::optional<tcp::endpoint> numeric_;
  async_probe::lost_callback lost_;
  std::shared_ptr<attempt> cur_;
  std::shared_ptr<held_conn> held_;
  std::optional<probe_schedule> schedule_; ///< set by run_periodically
  async_probe::completion each_;           ///< every periodic check's outcome
  asio::steady_timer tick_;
};

void lane::deliver(pending p) {
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

void lane::flush() {
  flush_due = false;
  last_flush = steady::now();
  sending.swap(outbox);
  for (auto& p : sending) {
    if (p.periodic)
      p.periodic->report_periodic(std::move(p.out));
    else if (p.done)
      p.done(std::move(p.out));
  }
  sending.clear();
}

// What a health checker holds: every call is posted to the probe's io thread.
class net_handle : public async_probe {
public:
  explicit net_handle(std::shared_ptr<net_probe> p) : p_(std::move(p)) {}
  ~net_handle() override {
    asio::post(p_->ioc(), [p = p_] { p->shutdown(); });
  }
  net_handle(const net_handle&) = delete;
  net_handle& operator=(const net_handle&) = delete;

  void start(completion done) override {
    asio::post(p_->ioc(), [p = p_, d = std::move(done)]() mutable { p->start(std::move(d)); });
  }
  void on_connection_lost(lost_callback cb) override {
    asio::post(p_->ioc(), [p = p_, c = std::move(cb)]() mutable { p->set_lost(std::move(c)); });
  }
  bool run_periodically(const periodic_settings& s, completion each) override {
    asio::post(p_->ioc(), [p = p_, s, e = std::move(each)]() mutable {
      p->run_periodically(s, std::move(e));
    });
    return true;
  }

private:
  std::shared_ptr<net_probe> p_;
};

// A blocking probe on the worker pool, one check at a time.
class pooled_probe : public async_probe {
public:
  pooled_probe(asio::thread_pool& pool, std::unique_ptr<probe> inner)
      : pool_(pool), inner_(std::move(inner)) {}

  void start(completion done) override {
    asio::post(pool_, [inner = inner_, mtx = mtx_, d = std::move(done)] {
      probe_outcome out;
      {
        std::lock_guard<std::mutex> guard{*mtx};
        out = inner->check();
      }
      d(std::move(out));
    });
  }

private:
  asio::thread_pool& pool_;
  std::shared_ptr<probe> inner_;
  std::shared_ptr<std::mutex> mtx_ = std::make_shared<std::mutex>();
};

} // namespace

probe_engine::probe_engine() : probe_engine(options{}) {}

probe_engine::probe_engine(options opts) : impl_(std::make_shared<impl>()) {
  auto n = opts.io_threads == 0 ? std::size_t{1} : opts.io_threads;
  for (std::size_t i = 0; i < n; ++i) {
    impl_->lanes.push_back(std::make_unique<lane>());
    impl_->guards.push_back(asio::make_work_guard(impl_->lanes.back()->ioc));
  }
  for (auto& l : impl_->lanes)
    impl_->threads.emplace_back([ioc = &l->ioc] { ioc->run(); });
  impl_->pool_threads = opts.pool_threads == 0 ? std::size_t{1} : opts.pool_threads;
  impl_->pool = std::make_unique<asio::thread_pool>(impl_->pool_threads);
}

probe_engine::~probe_engine() {
  impl_->pool->stop();
  impl_->pool->join();
  impl_->guards.clear();
  for (auto& l : impl_->lanes)
    l->ioc.stop();
  for (auto& t : impl_->threads)
    t.join();
}

probe_engine& probe_engine::process_wide() {
  // Destroyed (threads joined) at exit, after main() has ended every actor.
  static probe_engine instance;
  return instance;
}

std::size_t probe_engine::thread_count() const {
  return impl_->threads.size() + impl_->pool_threads;
}

std::size_t probe_engine::held_connections() const {
  return impl_->held->load();
}

namespace {

std::unique_ptr<async_probe> net_probe_on(probe_engine::impl& engine,
                                          std::unique_ptr<check_kind> kind, std::string host,
                                          std::uint16_t port, std::chrono::milliseconds timeout,
                                          bool hold) {
  net_probe::params p;
  p.kind = std::move(kind);
  p.host = std::move(host);
  p.port = port;
  p.timeout = timeout;
  p.hold = hold;
  return std::make_unique<net_handle>(
      std::make_shared<net_probe>(engine.next(), engine.held, std::move(p)));
}

} // namespace

std::unique_ptr<async_probe> probe_engine::tcp(std::string host, std::uint16_t port,
                                               std::chrono::milliseconds timeout, bool hold) {
  return net_probe_on(*impl_, tcp_check(), std::move(host), port, timeout, hold);
}

std::unique_ptr<async_probe> probe_engine::http(std::string host, std::uint16_t port,
                                                std::string path, int expected_status,
                                                std::chrono::milliseconds timeout) {
  auto kind = http_check(host, port, path, expected_status);
  return net_probe_on(*impl_, std::move(kind), std::move(host), port, timeout, false);
}

std::unique_ptr<async_probe> probe_engine::redis(std::string host, std::uint16_t port,
                                                 std::chrono::milliseconds timeout, bool hold) {
  return net_probe_on(*impl_, redis_check(), std::move(host), port, timeout, hold);
}

std::unique_ptr<async_probe> probe_engine::pooled(std::unique_ptr<probe> blocking) {
  return std::make_unique<pooled_probe>(*impl_->pool, std::move(blocking));
}

} // namespace switchyard::actors

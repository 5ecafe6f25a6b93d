// The probe engine: its io threads (lanes) and worker pool, the handles it
// gives out (net_handle for a net probe on a lane, pooled_probe for a blocking
// one, watched_pg_probe for a postgres probe with fast detection) and how a
// lane hands its outcomes over in bursts.
#include "probes/probe_engine.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <asio.hpp>

#include "probes/check_kinds.hpp"
#include "probes/net_probe.hpp"
#include "probes/pg_probe.hpp"
#include "probes/probe_engine_impl.hpp"

namespace switchyard::actors {

using probe_detail::lane;
using probe_detail::net_probe;

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

namespace probe_detail {

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

} // namespace probe_detail

namespace {

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

// A postgres probe on the worker pool whose session, kept between checks,
// is watched on a lane (fast detection): readable while no check runs means
// the server closed it or is about to (a FATAL message, then the close).
class watched_pg_probe : public async_probe {
public:
  watched_pg_probe(asio::thread_pool& pool, lane& home,
                   std::shared_ptr<std::atomic<std::size_t>> held, std::unique_ptr<pg_probe> inner)
      : pool_(pool), st_(std::make_shared<state>(home, std::move(held), std::move(inner))) {}
  ~watched_pg_probe() override {
    asio::post(st_->home.ioc, [st = st_] {
      st->lost = nullptr;
      st->unwatch();
    });
  }
  watched_pg_probe(const watched_pg_probe&) = delete;
  watched_pg_probe& operator=(const watched_pg_probe&) = delete;

  void on_connection_lost(lost_callback cb) override {
    asio::post(st_->home.ioc, [st = st_, c = std::move(cb)]() mutable { st->lost = std::move(c); });
  }

  void start(completion done) override {
    asio::post(pool_, [st = st_, d = std::move(done)] {
      probe_outcome out;
      int copy = -1;
      std::uint64_t generation = 0;
      {
        std::lock_guard<std::mutex> guard{st->mtx};
        ++st->generation; // the answer to this check is no loss
        out = st->inner->check();
        // A copy of the descriptor: the probe may close its own at the next check.
        if (int fd = st->inner->held_socket(); fd >= 0)
          copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        generation = ++st->generation;
      }
      asio::post(st->home.ioc, [st, copy, generation] { st->watch(copy, generation); });
      d(std::move(out));
    });
  }

private:
  // Lane side: `watching`, `fd` and `lost` are only touched on its thread.
  struct state : std::enable_shared_from_this<state> {
    state(lane& l, std::shared_ptr<std::atomic<std::size_t>> h, std::unique_ptr<pg_probe> p)
        : home(l), held(std::move(h)), inner(std::move(p)), fd(l.ioc) {}
    lane& home;
    std::shared_ptr<std::atomic<std::size_t>> held;
    std::unique_ptr<pg_probe> inner;
    std::mutex mtx;                           ///< one check at a time
    std::atomic<std::uint64_t> generation{0}; ///< changes when a check starts or ends
    asio::posix::stream_descriptor fd;
    std::uint64_t watching = 0; ///< the generation `fd` belongs to
    lost_callback lost;

    void unwatch() {
      if (fd.is_open()) {
        asio::error_code ignored;
        fd.close(ignored);
        --*held;
      }
      watching = 0;
    }
    void watch(int copy, std::uint64_t g) {
      unwatch();
      if (copy < 0)
        return;
      if (generation.load() != g) { // a newer check has begun
        ::close(copy);
        return;
      }
      fd.assign(copy);
      watching = g;
      ++*held;
      fd.async_wait(asio::posix::stream_descriptor::wait_read,
                    [self = shared_from_this(), g](const asio::error_code& ec) {
                      if (!ec && self->watching == g)
                        self->readable(g);
                    });
      // The wait sees readiness that comes from now on (asio's epoll is
      // edge-triggered): a close that came before is seen here.
      pollfd p{copy, POLLIN, 0};
      if (::poll(&p, 1, 0) > 0)
        readable(g);
    }
    // Readable: closed by the server (or a message it sent unasked, e.g. a
    // changed parameter: the confirming check then just succeeds).
    void readable(std::uint64_t g) {
      unwatch();
      // Readable during a check is that check's own answer.
      if (generation.load() == g && lost)
        lost();
    }
  };

  asio::thread_pool& pool_;
  std::shared_ptr<state> st_;
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

std::unique_ptr<async_probe> probe_engine::postgres(std::string host, std::uint16_t port,
                                                    std::string libpq_options,
                                                    std::chrono::milliseconds timeout, bool hold) {
  auto p = std::make_unique<pg_probe>(std::move(host), port, std::move(libpq_options), timeout);
  if (!hold)
    return pooled(std::move(p));
  return std::make_unique<watched_pg_probe>(*impl_->pool, impl_->next(), impl_->held, std::move(p));
}

std::unique_ptr<async_probe> probe_engine::pooled(std::unique_ptr<probe> blocking) {
  return std::make_unique<pooled_probe>(*impl_->pool, std::move(blocking));
}

} // namespace switchyard::actors

// The probe engine against real sockets in this process: tcp and http checks,
// timeouts, periodic checks on the engine's timers, a held connection's loss
// (and data on it), checkers that quit with a probe in flight, and 2,000
// health checkers probing at once on the engine's fixed threads. Every wait is
// bounded; nothing sleeps to synchronize. The redis checks run against a real
// redis-server in probe_test.
#include <atomic>
#include <fcntl.h>
#include <filesystem>
#include <future>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "actors/health_checker.hpp"
#include "actors/peers.hpp"
#include "messages/message_types.hpp"
#include "probes/check_kinds.hpp"
#include "probes/probe_engine.hpp"
#include "tests/support/process.hpp"
#include "tests/support/run_probe.hpp"
#include "tests/support/silent_listener.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::actors;
using switchyard::testing::free_port;
using switchyard::testing::run_once;
using switchyard::testing::silent_listener;
using switchyard::testing::wait_until;

namespace {

using steady = std::chrono::steady_clock;

std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task"))
    ++n;
  return n;
}

// Accepts every connection on its own thread. In http mode it answers a
// request with `status` and closes; otherwise it keeps connections open
// until close_all() (or its destruction).
class server {
public:
  explicit server(int http_status = 0) : http_status_(http_status) {
    ::fcntl(listener_.fd(), F_SETFL, O_NONBLOCK); // accepts until EAGAIN
    thread_ = std::thread([this] { run(); });
  }
  ~server() {
    stop_ = true;
    thread_.join();
    close_all();
  }
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  [[nodiscard]] std::uint16_t port() const { return listener_.port(); }

  void close_all() {
    std::lock_guard<std::mutex> guard{mtx_};
    for (int fd : conns_)
      ::close(fd);
    conns_.clear();
  }

  // Sends `data` on every open connection (a banner, or anything unasked).
  void send_to_all(const std::string& data) {
    std::lock_guard<std::mutex> guard{mtx_};
    for (int fd : conns_)
      EXPECT_EQ(::send(fd, data.data(), data.size(), MSG_NOSIGNAL),
                static_cast<ssize_t>(data.size()));
  }

  [[nodiscard]] std::size_t open_connections() {
    std::lock_guard<std::mutex> guard{mtx_};
    return conns_.size();
  }

private:
  void run() {
    while (!stop_) {
      std::vector<pollfd> fds{{listener_.fd(), POLLIN, 0}};
      {
        std::lock_guard<std::mutex> guard{mtx_};
        if (http_status_ != 0)
          for (int fd : conns_)
            fds.push_back({fd, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 20) <= 0)
        continue;
      std::lock_guard<std::mutex> guard{mtx_};
      if ((fds[0].revents & POLLIN) != 0)
        for (int c;
             (c = ::accept4(listener_.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;)
          conns_.push_back(c);
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0)
          continue;
        char buf[4096];
        auto n = ::recv(fds[i].fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EAGAIN)
          continue;
        if (n > 0) {
          auto reply = "HTTP/1.1 " + std::to_string(http_status_) +
                       " Whatever\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
          [[maybe_unused]] auto sent = ::send(fds[i].fd, reply.data(), reply.size(), MSG_NOSIGNAL);
        }
        ::close(fds[i].fd);
        std::erase(conns_, fds[i].fd);
      }
    }
  }

  silent_listener listener_;
  int http_status_;
  std::atomic<bool> stop_{false};
  std::mutex mtx_;
  std::vector<int> conns_;
  std::thread thread_;
};

} // namespace

TEST(probe_engine, tcp_connects_and_reports_a_refused_port) {
  probe_engine engine;
  server up;
  auto ok = run_once(*engine.tcp("127.0.0.1", up.port(), 500ms));
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->ok);
  EXPECT_EQ(ok->detail, "connected");
  EXPECT_LT(ok->latency, 500ms);

  auto refused = run_once(*engine.tcp("127.0.0.1", free_port(), 500ms));
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->ok);
  EXPECT_TRUE(refused->refused);
  EXPECT_EQ(refused->detail, "Connection refused");

  auto unresolvable = run_once(*engine.tcp("no-such-host.invalid", 1, 2s));
  ASSERT_TRUE(unresolvable);
  EXPECT_FALSE(unresolvable->ok);
  EXPECT_EQ(unresolvable->detail.rfind("cannot resolve 'no-such-host.invalid'", 0), 0u)
      << unresolvable->detail;
}

TEST(probe_engine, tcp_and_http_report_a_refused_connection) {
  probe_engine engine;
  auto port = free_port(); // nothing listens
  auto tcp = run_once(*engine.tcp("127.0.0.1", port, 500ms));
  ASSERT_TRUE(tcp);
  EXPECT_FALSE(tcp->ok);
  EXPECT_TRUE(tcp->refused);
  auto http = run_once(*engine.http("127.0.0.1", port, "/health", 200, 500ms));
  ASSERT_TRUE(http);
  EXPECT_FALSE(http->ok);
  EXPECT_TRUE(http->refused);
  EXPECT_EQ(http->detail, "Connection refused");
}

TEST(probe_engine, a_plain_tcp_check_never_completes_a_connection_on_the_instance) {
  probe_engine engine;
  silent_listener instance;
  ::fcntl(instance.fd(), F_SETFL, O_NONBLOCK);
  auto probe = engine.tcp("127.0.0.1", instance.port(), 500ms);
  for (int i = 0; i < 3; ++i) {
    auto r = run_once(*probe);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->ok) << r->detail; // the SYN-ACK is the answer
  }
  // Reset before the handshake's last ACK: nothing reached the accept queue.
  int accepted = ::accept4(instance.fd(), nullptr, nullptr, SOCK_CLOEXEC);
  EXPECT_EQ(accepted, -1) << "a probe's connection reached the instance's accept queue";
  EXPECT_EQ(errno, EAGAIN);
  if (accepted >= 0)
    ::close(accepted);
}

TEST(probe_engine, plain_tcp_checks_leave_no_socket_behind) {
  auto open_fds = [] {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
      ++n;
    return n;
  };
  probe_engine engine;
  server up;
  silent_listener instance;
  auto dead = free_port();
  auto before = open_fds();
  // Connected, refused, and checks whose probe is destroyed while their
  // connect is in flight: each socket is closed and out of the lane's set.
  for (int round = 0; round < 50; ++round) {
    ASSERT_TRUE(run_once(*engine.tcp("127.0.0.1", up.port(), 500ms)));
    auto refused = run_once(*engine.tcp("127.0.0.1", dead, 500ms));
    ASSERT_TRUE(refused);
    EXPECT_TRUE(refused->refused);
    auto abandoned = engine.tcp("127.0.0.1", instance.port(), 500ms);
    abandoned->start([](probe_outcome) {});
  }
  // The abandoned ones end on the engine's thread; a check behind them is the wait.
  ASSERT_TRUE(run_once(*engine.tcp("127.0.0.1", up.port(), 500ms)));
  EXPECT_TRUE(wait_until([&] { return open_fds() <= before; }, 5s))
      << open_fds() << " descriptors open, " << before << " before";
}

TEST(probe_engine, http_checks_the_status_line) {
  probe_engine engine;
  server ok_server{200};
  server failing{503};
  auto ok = run_once(*engine.http("127.0.0.1", ok_server.port(), "/health", 200, 500ms));
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->ok) << ok->detail;
  EXPECT_EQ(ok->detail, "HTTP 200");

  auto bad = run_once(*engine.http("127.0.0.1", failing.port(), "/health", 200, 500ms));
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->ok);
  EXPECT_EQ(bad->detail, "HTTP 503 (expected 200)");
  EXPECT_FALSE(bad->refused);
}

TEST(probe_engine, http_times_out_against_a_listener_that_never_answers) {
  probe_engine engine;
  silent_listener never;
  auto probe = engine.http("127.0.0.1", never.port(), "/health", 200, 300ms);
  auto start = steady::now();
  auto out = run_once(*probe);
  auto took = steady::now() - start;
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->ok);
  EXPECT_EQ(out->detail, "no response within 300 ms");
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 2s);
  EXPECT_GE(out->latency, 300ms);
}

TEST(probe_engine, a_held_tcp_connection_is_reused_and_its_loss_reported_at_once) {
  probe_engine engine;
  server holding;
  auto probe = engine.tcp("127.0.0.1", holding.port(), 500ms, true);
  std::atomic<int> lost{0};
  probe->on_connection_lost([&lost] { ++lost; });
  auto first = run_once(*probe);
  ASSERT_TRUE(first && first->ok);
  EXPECT_EQ(first->detail, "connected");
  EXPECT_EQ(engine.held_connections(), 1u);
  auto second = run_once(*probe);
  ASSERT_TRUE(second && second->ok);
  EXPECT_EQ(second->detail, "connection held");
  ASSERT_TRUE(wait_until([&] { return holding.open_connections() == 1; }, 3s));

  holding.close_all();
  EXPECT_TRUE(wait_until([&] { return lost == 1; }, 3s));
  EXPECT_EQ(engine.held_connections(), 0u);
  auto again = run_once(*probe); // a new connection
  ASSERT_TRUE(again && again->ok);
  EXPECT_EQ(again->detail, "connected");
  EXPECT_EQ(lost, 1);
}

TEST(probe_engine, data_on_a_held_tcp_connection_is_ignored_and_its_loss_reported_once) {
  probe_engine engine;
  server server_a;
  server server_b;
  auto a = engine.tcp("127.0.0.1", server_a.port(), 500ms, true);
  auto b = engine.tcp("127.0.0.1", server_b.port(), 500ms, true);
  std::atomic<int> lost_a{0};
  std::atomic<int> lost_b{0};
  a->on_connection_lost([&lost_a] { ++lost_a; });
  b->on_connection_lost([&lost_b] { ++lost_b; });
  auto held_a = run_once(*a);
  auto held_b = run_once(*b);
  ASSERT_TRUE(held_a && held_a->ok && held_b && held_b->ok);
  ASSERT_TRUE(wait_until([&] { return server_a.open_connections() == 1; }, 3s));
  ASSERT_TRUE(wait_until([&] { return server_b.open_connections() == 1; }, 3s));
  // Data for `a` (a banner) comes first; `b`'s hang-up after it.
  server_a.send_to_all("220 welcome\r\n");
  server_b.close_all();
  ASSERT_TRUE(wait_until([&] { return lost_b == 1; }, 3s));
  // A check of `a` on the engine's one io thread runs after the data was seen:
  // its connection is still held and was not reported.
  auto still = run_once(*a);
  ASSERT_TRUE(still);
  EXPECT_EQ(still->detail, "connection held");
  EXPECT_EQ(lost_a, 0);
  EXPECT_EQ(engine.held_connections(), 1u); // b's ended when it was reported

  server_a.close_all();
  ASSERT_TRUE(wait_until([&] { return lost_a == 1; }, 3s));
  EXPECT_EQ(engine.held_connections(), 0u);
  auto again = run_once(*a); // a new connection, not a second report
  ASSERT_TRUE(again && again->ok);
  EXPECT_EQ(again->detail, "connected");
  EXPECT_EQ(lost_a, 1);
  EXPECT_EQ(lost_b, 1);
}

TEST(probe_engine, a_destroyed_probes_held_connection_is_never_reported) {
  probe_engine engine;
  server holding;
  auto a = engine.tcp("127.0.0.1", holding.port(), 500ms, true);
  auto b = engine.tcp("127.0.0.1", holding.port(), 500ms, true);
  auto lost_a = std::make_shared<std::atomic<int>>(0);
  std::atomic<int> lost_b{0};
  a->on_connection_lost([lost_a] { ++*lost_a; });
  b->on_connection_lost([&lost_b] { ++lost_b; });
  auto held_a = run_once(*a);
  auto held_b = run_once(*b);
  ASSERT_TRUE(held_a && held_a->ok && held_b && held_b->ok);
  ASSERT_TRUE(wait_until([&] { return holding.open_connections() == 2; }, 3s));
  a.reset();
  holding.close_all(); // b's hang-up is reported; a's would be, were it still held
  ASSERT_TRUE(wait_until([&] { return lost_b == 1; }, 3s));
  EXPECT_EQ(engine.held_connections(), 0u);
  // Once a later check on the engine's one io thread has run, every hang-up was handled.
  ASSERT_TRUE(run_once(*engine.tcp("127.0.0.1", free_port(), 500ms)));
  EXPECT_EQ(*lost_a, 0);
}

namespace {

// Outcomes of a probe's periodic checks, as they arrive.
struct periodic_log {
  std::mutex mtx;
  std::vector<std::pair<steady::time_point, probe_outcome>> seen;

  async_probe::completion sink() {
    return [this](probe_outcome out) {
      std::lock_guard<std::mutex> guard{mtx};
      seen.emplace_back(steady::now(), std::move(out));
    };
  }
  std::size_t count() {
    std::lock_guard<std::mutex> guard{mtx};
    return seen.size();
  }
  /// The outcomes so far, once there are at least `n` (bounded wait); fewer if they never came.
  std::vector<std::pair<steady::time_point, probe_outcome>> at_least(std::size_t n) {
    wait_until([&] { return count() >= n; }, 5s);
    std::lock_guard<std::mutex> guard{mtx};
    return seen;
  }
};

} // namespace

TEST(probe_engine, periodic_checks_run_on_the_probes_own_timer_until_it_is_destroyed) {
  probe_engine engine;
  server up{200};
  periodic_log log;
  auto probe = engine.http("127.0.0.1", up.port(), "/health", 200, 500ms);
  ASSERT_TRUE(probe->run_periodically({100ms, 0ms, 7}, log.sink()));
  auto seen = log.at_least(4);
  ASSERT_GE(seen.size(), 4u);
  for (const auto& [at, out] : seen)
    EXPECT_EQ(out.detail, "HTTP 200");
  // The first at once, the second at the probe's phase (within one
  // interval), then one per interval: not faster.
  EXPECT_LE(seen[1].first - seen[0].first, 150ms);
  EXPECT_GE(seen[3].first - seen[1].first, 190ms);
  // An extra check beside the schedule answers through its own completion.
  auto extra = run_once(*probe);
  ASSERT_TRUE(extra);
  EXPECT_EQ(extra->detail, "HTTP 200");

  probe.reset();
  // The engine's thread has handled the destruction once a later check on it
  // (one io thread) has completed; one that takes 300 ms is the wait.
  silent_listener never;
  ASSERT_TRUE(run_once(*engine.tcp("127.0.0.1", up.port(), 500ms)));
  auto after = log.count();
  auto slow = run_once(*engine.http("127.0.0.1", never.port(), "/", 200, 300ms));
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->detail, "no response within 300 ms");
  EXPECT_EQ(log.count(), after) << "periodic checks after the probe was destroyed";
}

TEST(probe_engine, a_periodic_beat_is_skipped_while_a_check_is_still_in_flight) {
  probe_engine engine;
  silent_listener never;
  periodic_log log;
  // Beats every 50 ms, checks that take 300 ms: were a beat to start a check
  // anyway, it would abandon the one in flight and no check would ever end.
  auto probe = engine.http("127.0.0.1", never.port(), "/", 200, 300ms);
  ASSERT_TRUE(probe->run_periodically({50ms, 0ms, 7}, log.sink()));
  auto seen = log.at_least(3);
  ASSERT_GE(seen.size(), 3u);
  for (const auto& [at, out] : seen) {
    EXPECT_FALSE(out.ok);
    EXPECT_EQ(out.detail, "no response within 300 ms");
  }
  EXPECT_GE(seen[2].first - seen[1].first, 250ms);
}

TEST(probe_engine, an_extra_check_takes_over_the_periodic_one_in_flight) {
  probe_engine engine;
  silent_listener never;
  periodic_log log;
  auto probe = engine.http("127.0.0.1", never.port(), "/", 200, 300ms);
  // One periodic check (at once), then none for a minute.
  ASSERT_TRUE(probe->run_periodically({60s, 0ms, 7}, log.sink()));
  // In flight once the listener has its connection (the kernel completed it).
  ASSERT_TRUE(wait_until(
      [&] {
        pollfd pfd{never.fd(), POLLIN, 0};
        return ::poll(&pfd, 1, 0) == 1;
      },
      5s));
  auto extra = run_once(*probe);
  ASSERT_TRUE(extra);
  EXPECT_EQ(extra->detail, "no response within 300 ms");
  EXPECT_EQ(log.count(), 0u) << "the periodic check's outcome went to the extra check";
  // One connection in all: the extra check made none of its own.
  ::fcntl(never.fd(), F_SETFL, O_NONBLOCK);
  int accepted = 0;
  for (int c; (c = ::accept(never.fd(), nullptr, nullptr)) >= 0; ++accepted)
    ::close(c);
  EXPECT_EQ(accepted, 1);
}

TEST(probe_engine, a_pooled_blocking_probe_runs_off_the_caller_thread) {
  class blocking : public probe {
  public:
    probe_outcome check() override {
      ran_on = std::this_thread::get_id();
      return {true, 1us, "fine", false};
    }
    std::thread::id ran_on;
  };
  probe_engine engine{{1, 1}};
  auto inner = std::make_unique<blocking>();
  auto* raw = inner.get();
  auto p = engine.pooled(std::move(inner));
  auto out = run_once(*p);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->detail, "fine");
  EXPECT_NE(raw->ran_on, std::this_thread::get_id());
}

// -- health checkers on the engine ---------------------------------------------

namespace {

struct healthy_count {
  std::atomic<int> healthy{0};
  std::atomic<int> unhealthy{0};
};

classifier_actor::behavior_type counting_classifier(classifier_actor::pointer,
                                                    std::shared_ptr<healthy_count> n) {
  return {
      [n](health_transition& t) {
        if (t.to == health_status::healthy)
          ++n->healthy;
        else
          ++n->unhealthy;
      },
      [](service_topology&) {},
  };
}

// The engine is declared first: it outlives the actor system (and the checkers' probes).
class engine_checkers : public ::testing::Test {
protected:
  engine_checkers() : sys(switchyard::add_message_types(cfg)) {
    peers->set(peer::classifier, sys.spawn(counting_classifier, seen));
  }
  ~engine_checkers() override {
    for (auto& c : checkers)
      caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    if (auto cls = peers->actor(peer::classifier))
      caf::anon_send_exit(caf::actor_cast<caf::actor>(cls), caf::exit_reason::user_shutdown);
    peers->set(peer::classifier, caf::actor{});
  }

  caf::actor spawn_checker(const std::string& name, std::uint16_t port,
                           const config::health_check_settings& check) {
    config::instance_settings inst{name, "127.0.0.1", port, "dc1", config::instance_role::standby,
                                   100,  {}};
    probe_factory factory = [this, inst, check] { return make_probe(engine, "svc", check, inst); };
    return caf::actor_cast<caf::actor>(
        sys.spawn(health_checker, std::string{"svc"}, inst, check, factory, peers, false));
  }

  probe_engine engine{{1, 1}};
  caf::actor_system_config cfg;
  caf::actor_system sys;
  actors::peers_ptr peers = std::make_shared<actors::peer_table>();
  std::shared_ptr<healthy_count> seen = std::make_shared<healthy_count>();
  std::vector<caf::actor> checkers;
};

} // namespace

TEST_F(engine_checkers, two_thousand_checkers_probe_at_once_on_the_engines_few_threads) {
  // 2,000 held connections on each side.
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_cur < 8192 && lim.rlim_max > lim.rlim_cur) {
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 8192);
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_cur < 4500)
    GTEST_SKIP() << "needs 4,500 file descriptors, the limit is " << lim.rlim_cur;

  server target;
  constexpr int n = 2000;
  config::health_check_settings check;
  check.type = config::check_type::tcp;
  check.interval = 200ms;
  check.timeout = 2s;
  check.rise = 2;
  check.fall = 3;
  check.fast_detection = true;
  auto before = thread_count();
  EXPECT_EQ(engine.thread_count(), 2u);
  for (int i = 0; i < n; ++i)
    checkers.push_back(spawn_checker("i" + std::to_string(i), target.port(), check));
  // rise 2: each checker has probed at least twice.
  EXPECT_TRUE(wait_until([&] { return seen->healthy == n; }, 30s)) << seen->healthy;
  EXPECT_EQ(seen->unhealthy, 0);
  EXPECT_EQ(engine.held_connections(), static_cast<std::size_t>(n));
  EXPECT_EQ(thread_count(), before) << "a thread per instance?";

  // Every held connection dropped at once: each checker confirms at once,
  // reconnects and stays healthy.
  target.close_all();
  EXPECT_TRUE(wait_until([&] { return target.open_connections() == n; }, 20s))
      << target.open_connections();
  EXPECT_EQ(seen->unhealthy, 0);
  EXPECT_EQ(thread_count(), before);
  for (auto& c : checkers) // before the target goes away
    caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  checkers.clear();
}

TEST_F(engine_checkers, a_checker_on_the_engines_schedule_sees_its_instance_go_down) {
  auto target = std::make_unique<server>();
  auto port = target->port();
  config::health_check_settings check;
  check.type = config::check_type::tcp; // plain: a new connection per check
  check.interval = 100ms;
  check.timeout = 300ms;
  check.rise = 2;
  check.fall = 2;
  checkers.push_back(spawn_checker("solo", port, check));
  ASSERT_TRUE(wait_until([&] { return seen->healthy == 1; }, 5s));
  target.reset(); // refused from now on: two periodic failures
  EXPECT_TRUE(wait_until([&] { return seen->unhealthy == 1; }, 5s));
  EXPECT_EQ(seen->healthy, 1);
}

TEST_F(engine_checkers, a_checker_that_quits_with_a_probe_in_flight_harms_nothing) {
  silent_listener never;
  config::health_check_settings check;
  check.type = config::check_type::http;
  check.interval = 5s;
  check.timeout = 1s;
  check.rise = 1;
  check.fall = 1;
  auto started = std::make_shared<std::atomic<int>>(0);
  auto done = std::make_shared<std::atomic<int>>(0);
  config::instance_settings inst{
      "gone", "127.0.0.1", never.port(), "dc1", config::instance_role::standby, 100, {}};
  class counting : public async_probe {
  public:
    counting(std::shared_ptr<async_probe> inner, std::shared_ptr<std::atomic<int>> s,
             std::shared_ptr<std::atomic<int>> d)
        : inner_(std::move(inner)), started_(std::move(s)), done_(std::move(d)) {}
    void start(completion c) override {
      inner_->start([n = done_, c = std::move(c)](probe_outcome out) {
        c(std::move(out)); // to a checker that is gone by now
        ++*n;
      });
      ++*started_;
    }

  private:
    std::shared_ptr<async_probe> inner_;
    std::shared_ptr<std::atomic<int>> started_;
    std::shared_ptr<std::atomic<int>> done_;
  };
  // The test keeps the engine's probe alive past the checker, so that its
  // check completes to a checker that is gone.
  auto kept = std::make_shared<std::shared_ptr<async_probe>>();
  probe_factory factory = [this, port = never.port(), started, done, kept] {
    *kept = engine.http("127.0.0.1", port, "/", 200, 1s);
    return std::make_unique<counting>(*kept, started, done);
  };
  auto checker = caf::actor_cast<caf::actor>(
      sys.spawn(health_checker, std::string{"svc"}, inst, check, factory, peers, false));
  ASSERT_TRUE(wait_until([&] { return *started == 1; }, 3s));
  caf::anon_send_exit(checker, caf::exit_reason::kill);
  // The probe in flight times out and completes to nobody; the engine goes on.
  EXPECT_TRUE(wait_until([&] { return *done == 1; }, 5s));
  server up{200};
  auto out = run_once(*engine.http("127.0.0.1", up.port(), "/", 200, 500ms));
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->ok) << out->detail;
  EXPECT_EQ(seen->unhealthy, 0); // the quit checker reported nothing
  kept->reset();
}

// -- what each kind of check sends and makes of the answer (check_kinds.hpp) ----

TEST(check_kinds, tcp_is_answered_by_the_connection_alone) {
  auto tcp = tcp_check();
  EXPECT_TRUE(tcp->request().empty());
  auto v = tcp->judge("", false);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->ok);
  EXPECT_EQ(v->detail, "connected");
  // Data on a held connection (a banner) does not matter.
  EXPECT_EQ(tcp->use_held(false), check_kind::held_use::answer);
  EXPECT_EQ(tcp->use_held(true), check_kind::held_use::answer);
  EXPECT_FALSE(tcp->retries_broken());
}

TEST(check_kinds, http_needs_only_the_status_line) {
  auto http = http_check("db.example", 8080, "/health", 200);
  EXPECT_EQ(http->request(), "GET /health HTTP/1.1\r\nHost: db.example:8080\r\n"
                             "User-Agent: switchyard-health\r\nConnection: close\r\n\r\n");
  EXPECT_FALSE(http->judge("", false));
  EXPECT_FALSE(http->judge("HTTP/1.1 200 OK", false)); // the line is not complete yet
  auto ok = http->judge("HTTP/1.1 200 OK\r\n", false);
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->ok);
  EXPECT_EQ(ok->detail, "HTTP 200");
  auto bad = http->judge("HTTP/1.0 503 Unavailable\r\nRetry-After: 1\r\n", false);
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->ok);
  EXPECT_EQ(bad->detail, "HTTP 503 (expected 200)");
  auto closed = http->judge("HTTP/1.1 2", true); // closed before the line ended
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->detail, "malformed HTTP response");
  auto endless = http->judge(std::string(4096, 'x'), false); // no line end in 4 KiB
  ASSERT_TRUE(endless);
  EXPECT_EQ(endless->detail, "malformed HTTP response");
  EXPECT_EQ(http->timed_out(check_phase::sending, "", 300ms), "timed out sending request");
  EXPECT_EQ(http->timed_out(check_phase::receiving, "HTTP/1.1", 300ms),
            "no response within 300 ms");
  EXPECT_EQ(http->use_held(false), check_kind::held_use::reconnect);
  EXPECT_FALSE(http->retries_broken());
  EXPECT_EQ(parse_http_status("HTTP/1.1 204 No Content"), 204);
  EXPECT_EQ(parse_http_status("HTTP/2 200"), -1);
  EXPECT_EQ(parse_http_status("HTTP/1.1 2x0 OK"), -1);
}

TEST(check_kinds, redis_judges_pong_then_role_however_they_arrive) {
  auto redis = redis_check();
  const std::string pong = "+PONG\r\n";
  const std::string role = "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n";
  EXPECT_EQ(redis->request(), "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nROLE\r\n");
  EXPECT_FALSE(redis->judge("", false));
  EXPECT_FALSE(redis->judge("+PO", false));
  EXPECT_EQ(redis->timed_out(check_phase::receiving, "+PO", 200ms),
            "timed out after 200 ms waiting for PONG");
  EXPECT_FALSE(redis->judge(pong + "*3\r\n$6\r\nmas", false));
  EXPECT_EQ(redis->timed_out(check_phase::receiving, pong + "*3\r\n", 200ms),
            "timed out after 200 ms waiting for the ROLE reply");
  EXPECT_EQ(redis->timed_out(check_phase::sending, "", 200ms),
            "timed out after 200 ms sending PING");
  auto ok = redis->judge(pong + role, false);
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->ok);
  EXPECT_EQ(ok->detail, "PONG, master");

  auto extra = redis->judge(pong + role + pong, false);
  ASSERT_TRUE(extra);
  EXPECT_FALSE(extra->ok);
  EXPECT_EQ(extra->detail, "unexpected data after the ROLE reply");
  auto loading = redis->judge("-LOADING Redis is loading the dataset in memory\r\n", false);
  ASSERT_TRUE(loading);
  EXPECT_FALSE(loading->ok);
  EXPECT_FALSE(loading->broken);
  EXPECT_EQ(loading->detail, "LOADING Redis is loading the dataset in memory");
  auto other = redis->judge("+OK\r\n", false);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->detail, "unexpected reply to PING: OK");
  auto malformed = redis->judge("$abc\r\n", false);
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->detail, "malformed reply");
  EXPECT_FALSE(malformed->broken);
  auto closed = redis->judge(pong, true); // closed before the ROLE reply
  ASSERT_TRUE(closed);
  EXPECT_FALSE(closed->ok);
  EXPECT_TRUE(closed->broken);
  EXPECT_EQ(closed->detail, "connection closed by the server");

  // A held connection is reused unless something nobody asked for waits on it.
  EXPECT_EQ(redis->use_held(false), check_kind::held_use::resend);
  EXPECT_EQ(redis->use_held(true), check_kind::held_use::reconnect);
  EXPECT_TRUE(redis->retries_broken());
}

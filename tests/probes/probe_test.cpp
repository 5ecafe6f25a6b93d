// Probes and fast crash detection against real processes: the probe engine's
// redis and tcp checks against redis-server and a python listener that keeps
// every connection open, a health checker on a real actor system whose
// classifier is a recorder, and the blocking grpc probe. Every wait is a
// bounded poll.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <future>
#include <mutex>
#include <sstream>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>

#include "actors/health_checker.hpp"
#include "actors/metrics_scraper.hpp"
#include "actors/peers.hpp"
#include "messages/message_types.hpp"
#include "probes/check_kinds.hpp"
#include "probes/grpc_probe.hpp"
#include "probes/probe_engine.hpp"
#include "rules/health_tracker.hpp"
#include "switchyard/v1/switchyard.grpc.pb.h"
#include "tests/support/process.hpp"
#include "tests/support/run_probe.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::actors;
using switchyard::testing::child_process;
using switchyard::testing::free_port;
using switchyard::testing::read_file;
using switchyard::testing::run_once;
using switchyard::testing::wait_probe_ok;
using switchyard::testing::wait_until;

namespace {

using steady = std::chrono::steady_clock;

// Accepts connections and keeps every one of them open until it is killed.
constexpr const char* holding_listener = R"(
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
while True:
    held.append(s.accept()[0])
)";

// Answers whatever it is sent with the error a restarting redis gives.
constexpr const char* loading_redis = R"(
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
while True:
    c = s.accept()[0]
    c.recv(4096)
    c.sendall(b"-LOADING Redis is loading the dataset in memory\r\n")
    c.close()
)";

class real_servers : public ::testing::Test {
protected:
  std::unique_ptr<child_process> start_redis(std::uint16_t port,
                                             std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{"/usr/bin/redis-server",
                                  "--port",
                                  std::to_string(port),
                                  "--bind",
                                  "127.0.0.1",
                                  "--save",
                                  "",
                                  "--appendonly",
                                  "no",
                                  "--dir",
                                  dir.str()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto p = std::make_unique<child_process>(argv, log_of(port));
    auto ready = engine.redis("127.0.0.1", port, 500ms);
    EXPECT_TRUE(wait_probe_ok(*ready)) << read_file(log_of(port));
    return p;
  }

  std::unique_ptr<child_process> start_python(const char* script, std::uint16_t port) {
    auto p = std::make_unique<child_process>(
        std::vector<std::string>{"/usr/bin/python3", "-c", script, std::to_string(port)},
        log_of(port));
    auto ready = engine.tcp("127.0.0.1", port, 500ms);
    EXPECT_TRUE(wait_probe_ok(*ready)) << read_file(log_of(port));
    return p;
  }

  // A command through redis-cli: its output, or "" if it failed.
  std::string cli(std::uint16_t port, std::vector<std::string> args) {
    auto out = (dir.path() / "cli.out").string();
    args.insert(args.begin(), {"/usr/bin/redis-cli", "-p", std::to_string(port)});
    child_process c(args, out);
    if (c.wait_for_exit(5s) != 0)
      return "";
    auto text = read_file(out);
    std::filesystem::remove(out);
    return text;
  }

  static void kill_and_reap(child_process& p) {
    p.signal(SIGKILL);
    ASSERT_EQ(p.wait_for_exit(5s), 128 + SIGKILL);
  }

  // The ids of the clients connected to the redis at `port`, but for the
  // redis-cli that asks.
  std::vector<std::string> other_clients(std::uint16_t port) {
    std::vector<std::string> ids;
    std::istringstream lines{cli(port, {"CLIENT", "LIST"})};
    for (std::string line; std::getline(lines, line);)
      if (line.find("cmd=client") == std::string::npos)
        ids.push_back(line.substr(0, line.find(' '))); // "id=7"
    return ids;
  }

  std::string log_of(std::uint16_t port) const {
    return (dir.path() / ("server-" + std::to_string(port) + ".log")).string();
  }

  // Its own engine: held_connections() counts this test's probes only.
  probe_engine engine{{1, 1}};
  switchyard::testing::temp_dir dir;
};

} // namespace

// -- redis and tcp checks of the probe engine -----------------------------------

TEST_F(real_servers, redis_probe_answers_pong_and_the_role) {
  auto port = free_port();
  auto server = start_redis(port);
  auto probe = engine.redis("127.0.0.1", port, 1s);
  auto out = run_once(*probe);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->ok) << out->detail;
  EXPECT_EQ(out->detail, "PONG, master");
  EXPECT_FALSE(out->refused);
  EXPECT_EQ(engine.held_connections(), 0u); // not asked to hold it

  // A replica says whose, and the state of its link.
  auto primary_port = free_port();
  auto primary = start_redis(primary_port, {"--repl-diskless-sync-delay", "0"});
  ASSERT_EQ(cli(port, {"REPLICAOF", "127.0.0.1", std::to_string(primary_port)}), "OK\n");
  auto expected = "PONG, replica of 127.0.0.1:" + std::to_string(primary_port) + " (connected)";
  EXPECT_TRUE(wait_until([&] { return (out = run_once(*probe)) && out->detail == expected; }, 10s))
      << (out ? out->detail : "no outcome");
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->ok);
}

TEST_F(real_servers, redis_probe_holds_and_reuses_its_connection) {
  auto port = free_port();
  auto server = start_redis(port);
  auto probe = engine.redis("127.0.0.1", port, 1s, true);
  auto first = run_once(*probe);
  ASSERT_TRUE(first && first->ok);
  EXPECT_EQ(engine.held_connections(), 1u);
  // One client besides redis-cli: the probe's connection.
  auto held = other_clients(port);
  ASSERT_EQ(held.size(), 1u);
  auto again = run_once(*probe);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->ok) << again->detail;
  EXPECT_EQ(engine.held_connections(), 1u);
  EXPECT_EQ(other_clients(port), held); // the same connection, reused

  // The server drops it (as on an idle timeout): the next probe reconnects.
  ASSERT_EQ(cli(port, {"CLIENT", "KILL", "TYPE", "normal"}), "1\n");
  auto after = run_once(*probe);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->ok) << after->detail;
  EXPECT_EQ(engine.held_connections(), 1u);
}

TEST_F(real_servers, redis_probe_is_refused_once_the_server_is_killed) {
  auto port = free_port();
  auto server = start_redis(port);
  auto fresh = engine.redis("127.0.0.1", port, 1s);
  auto holding = engine.redis("127.0.0.1", port, 1s, true);
  auto held = run_once(*holding);
  ASSERT_TRUE(held && held->ok);
  kill_and_reap(*server);
  for (auto* probe : {fresh.get(), holding.get()}) {
    auto out = run_once(*probe);
    ASSERT_TRUE(out);
    EXPECT_FALSE(out->ok);
    EXPECT_TRUE(out->refused);
    EXPECT_EQ(out->detail, "Connection refused");
  }
  EXPECT_EQ(engine.held_connections(), 0u);
}

TEST_F(real_servers, redis_probe_times_out_on_a_stopped_server) {
  auto port = free_port();
  auto server = start_redis(port);
  auto fresh = engine.redis("127.0.0.1", port, 300ms);
  auto holding = engine.redis("127.0.0.1", port, 300ms, true);
  auto held = run_once(*holding);
  ASSERT_TRUE(held && held->ok);
  server->signal(SIGSTOP); // the kernel still accepts connections; nobody answers
  for (auto* probe : {fresh.get(), holding.get()}) {
    auto start = steady::now();
    auto out = run_once(*probe);
    auto took = steady::now() - start;
    ASSERT_TRUE(out);
    EXPECT_FALSE(out->ok);
    EXPECT_FALSE(out->refused);
    EXPECT_EQ(out->detail, "timed out after 300 ms waiting for PONG");
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 300ms + 700ms);
  }
  EXPECT_EQ(engine.held_connections(), 0u); // an unanswered connection is not reused
  server->signal(SIGCONT);
}

TEST_F(real_servers, redis_probe_fails_with_the_servers_error) {
  auto port = free_port();
  auto server = start_python(loading_redis, port);
  auto probe = engine.redis("127.0.0.1", port, 1s, true);
  auto out = run_once(*probe);
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->ok);
  EXPECT_FALSE(out->refused);
  EXPECT_EQ(out->detail, "LOADING Redis is loading the dataset in memory");
  EXPECT_EQ(engine.held_connections(), 0u);
}

TEST(redis_probe, describes_the_role_reply) {
  auto bulk = [](std::string s) { return resp::reply{'$', std::move(s), {}}; };
  EXPECT_EQ(describe_role({'*', "", {bulk("master"), {':', "0", {}}, {'*', "", {}}}}), "master");
  EXPECT_EQ(describe_role({'*',
                           "",
                           {bulk("slave"),
                            bulk("10.0.0.5"),
                            {':', "6379", {}},
                            bulk("connecting"),
                            {':', "-1", {}}}}),
            "replica of 10.0.0.5:6379 (connecting)");
  EXPECT_EQ(describe_role({'-', "NOPERM this user has no permissions", {}}),
            "ROLE: NOPERM this user has no permissions");
}

TEST_F(real_servers, tcp_probe_holds_its_connection_until_the_peer_goes) {
  auto port = free_port();
  auto server = start_python(holding_listener, port);
  auto probe = engine.tcp("127.0.0.1", port, 500ms, true);
  auto first = run_once(*probe);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->ok) << first->detail;
  EXPECT_EQ(first->detail, "connected");
  EXPECT_EQ(engine.held_connections(), 1u);
  auto second = run_once(*probe);
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->ok);
  EXPECT_EQ(second->detail, "connection held"); // the same connection
  EXPECT_EQ(engine.held_connections(), 1u);

  kill_and_reap(*server);
  auto gone = run_once(*probe);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->ok);
  EXPECT_TRUE(gone->refused);
  EXPECT_EQ(engine.held_connections(), 0u);
}

// -- fast detection, end to end -----------------------------------------------

namespace {

// What the health checker reported, for the test thread to wait on.
struct transition_log {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<health_transition> seen;

  void add(health_transition t) {
    std::lock_guard<std::mutex> guard{mtx};
    seen.push_back(std::move(t));
    cv.notify_all();
  }

  /// The first transition to `to` within `limit`.
  std::optional<health_transition> wait_for(health_status to, steady::duration limit) {
    std::unique_lock<std::mutex> lock{mtx};
    std::optional<health_transition> found;
    cv.wait_for(lock, limit, [&] {
      for (const auto& t : seen)
        if (t.to == to)
          found = t;
      return found.has_value();
    });
    return found;
  }
};

classifier_actor::behavior_type recording_classifier(classifier_actor::pointer,
                                                     std::shared_ptr<transition_log> log) {
  return {
      [log](health_transition& t) { log->add(std::move(t)); },
      [](service_topology&) {},
  };
}

// Counts the probes the checker runs, for the test to wait on.
class counting_probe : public async_probe {
public:
  counting_probe(std::unique_ptr<async_probe> inner, std::shared_ptr<std::atomic<int>> count)
      : inner_(std::move(inner)), count_(std::move(count)) {}
  void start(completion done) override {
    inner_->start([count = count_, done = std::move(done)](probe_outcome out) {
      ++*count;
      done(std::move(out));
    });
  }
  void on_connection_lost(lost_callback cb) override { inner_->on_connection_lost(std::move(cb)); }

private:
  std::unique_ptr<async_probe> inner_;
  std::shared_ptr<std::atomic<int>> count_;
};

class fast_detection : public real_servers {
protected:
  fast_detection() : sys(switchyard::add_message_types(cfg)) {
    peers->set(peer::classifier, sys.spawn(recording_classifier, log));
  }

  ~fast_detection() override {
    for (auto& c : checkers)
      caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    if (auto cls = peers->actor(peer::classifier))
      caf::anon_send_exit(caf::actor_cast<caf::actor>(cls), caf::exit_reason::user_shutdown);
    peers->set(peer::classifier, caf::actor{});
  }

  /// A check that would take 30 s (3 × 10 s) to notice a crash without fast detection.
  static config::health_check_settings slow_check(config::check_type type, bool fast) {
    config::health_check_settings check;
    check.type = type;
    check.interval = 10s;
    check.timeout = 500ms;
    check.rise = 1;
    check.fall = 3;
    check.fast_detection = fast;
    return check;
  }

  void start_checker(const config::health_check_settings& check, std::uint16_t port) {
    config::instance_settings inst{"db-a", "127.0.0.1", port, "dc1", config::instance_role::primary,
                                   100,    {}};
    probe_factory factory = [inst, check, count = probes] {
      return std::make_unique<counting_probe>(make_probe("db", check, inst), count);
    };
    checkers.push_back(caf::actor_cast<caf::actor>(
        sys.spawn(health_checker, std::string{"db"}, inst, check, factory, peers, false)));
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  actors::peers_ptr peers = std::make_shared<actors::peer_table>();
  std::shared_ptr<transition_log> log = std::make_shared<transition_log>();
  std::shared_ptr<std::atomic<int>> probes = std::make_shared<std::atomic<int>>(0);
  std::vector<caf::actor> checkers;
};

} // namespace

TEST_F(fast_detection, a_killed_redis_is_unhealthy_long_before_the_next_probe) {
  auto port = free_port();
  auto server = start_redis(port);
  start_checker(slow_check(config::check_type::redis, true), port);
  auto up = log->wait_for(health_status::healthy, 5s);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->reason, "PONG, master");

  auto killed = steady::now();
  kill_and_reap(*server);
  auto down = log->wait_for(health_status::unhealthy, 3s);
  ASSERT_TRUE(down) << "no transition within 3 s of the kill";
  EXPECT_LT(steady::now() - killed, 3s);
  EXPECT_TRUE(down->fast);
  EXPECT_TRUE(down->refused);
  EXPECT_EQ(down->from, health_status::healthy);
  EXPECT_EQ(down->reason, "Connection refused");
  EXPECT_EQ(down->streak, 1u);
  EXPECT_EQ(*probes, 2); // the first probe and the confirmation, no periodic one
}

TEST_F(fast_detection, a_killed_tcp_listener_is_unhealthy_long_before_the_next_probe) {
  auto port = free_port();
  auto server = start_python(holding_listener, port);
  start_checker(slow_check(config::check_type::tcp, true), port);
  ASSERT_TRUE(log->wait_for(health_status::healthy, 5s));

  auto killed = steady::now();
  kill_and_reap(*server);
  auto down = log->wait_for(health_status::unhealthy, 3s);
  ASSERT_TRUE(down) << "no transition within 3 s of the kill";
  EXPECT_LT(steady::now() - killed, 3s);
  EXPECT_TRUE(down->fast);
  EXPECT_TRUE(down->refused);
}

TEST_F(fast_detection, a_dropped_connection_to_a_live_server_changes_nothing) {
  auto port = free_port();
  auto server = start_redis(port);
  start_checker(slow_check(config::check_type::redis, true), port);
  ASSERT_TRUE(log->wait_for(health_status::healthy, 5s));
  ASSERT_EQ(*probes, 1);

  // As a server closing an idle client does: the confirming probe reconnects and passes.
  ASSERT_EQ(cli(port, {"CLIENT", "KILL", "TYPE", "normal"}), "1\n");
  ASSERT_TRUE(wait_until([&] { return *probes == 2; }, 3s));
  EXPECT_FALSE(log->wait_for(health_status::unhealthy, 500ms));
  // Connected (and watched) again: one client besides redis-cli.
  EXPECT_TRUE(wait_until(
      [&] {
        auto clients = cli(port, {"CLIENT", "LIST"});
        return std::count(clients.begin(), clients.end(), '\n') == 2;
      },
      3s));
}

TEST_F(fast_detection, without_it_a_crash_waits_for_the_next_probes) {
  auto port = free_port();
  auto server = start_python(holding_listener, port);
  start_checker(slow_check(config::check_type::tcp, false), port);
  ASSERT_TRUE(log->wait_for(health_status::healthy, 5s));
  kill_and_reap(*server);
  EXPECT_FALSE(log->wait_for(health_status::unhealthy, 1s));
  EXPECT_EQ(*probes, 1);
}

// -- grpc probe ----------------------------------------------------------------

namespace {

// A real gRPC server in this process with the default grpc.health.v1 service,
// set up as switchyardd's own API is (its service, unimplemented here, gives
// the server the synchronous methods it needs to run at all).
class grpc_health_server {
public:
  grpc_health_server() {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&api);
    server = builder.BuildAndStart();
  }
  ~grpc_health_server() { server->Shutdown(std::chrono::system_clock::now() + 1s); }
  grpc_health_server(const grpc_health_server&) = delete;
  grpc_health_server& operator=(const grpc_health_server&) = delete;

  grpc::HealthCheckServiceInterface& health() { return *server->GetHealthCheckService(); }

  switchyard::v1::Switchyard::Service api;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
};

grpc_probe probe_of(int port, const std::string& service = {}) {
  return grpc_probe{"127.0.0.1", static_cast<std::uint16_t>(port), service, 500ms, 1s};
}

} // namespace

TEST(grpc_probe, a_serving_server_is_healthy) {
  grpc_health_server server;
  ASSERT_GT(server.port, 0);
  auto probe = probe_of(server.port);
  auto out = probe.check();
  EXPECT_TRUE(out.ok) << out.detail;
  EXPECT_EQ(out.detail, "SERVING");
  EXPECT_FALSE(out.refused);
  EXPECT_LT(out.latency, 500ms);
  // The channel is reused: the next probe works the same.
  EXPECT_TRUE(probe.check().ok);
}

TEST(grpc_probe, not_serving_is_unhealthy) {
  grpc_health_server server;
  auto probe = probe_of(server.port);
  ASSERT_TRUE(probe.check().ok);
  server.health().SetServingStatus(false);
  auto out = probe.check();
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.detail, "NOT_SERVING");
  server.health().SetServingStatus(true);
  EXPECT_TRUE(probe.check().ok);
}

TEST(grpc_probe, asks_about_the_configured_service) {
  grpc_health_server server;
  server.health().SetServingStatus("shop.Cart", true);
  server.health().SetServingStatus("shop.Billing", false);
  EXPECT_EQ(probe_of(server.port, "shop.Cart").check().detail, "SERVING");
  auto billing = probe_of(server.port, "shop.Billing").check();
  EXPECT_FALSE(billing.ok);
  EXPECT_EQ(billing.detail, "NOT_SERVING");
  auto unknown = probe_of(server.port, "shop.Nothing").check();
  EXPECT_FALSE(unknown.ok);
  EXPECT_EQ(unknown.detail.rfind("gRPC NOT_FOUND", 0), 0u) << unknown.detail;
}

TEST(grpc_probe, nothing_listening_is_refused) {
  auto probe = probe_of(free_port());
  auto out = probe.check();
  EXPECT_FALSE(out.ok);
  EXPECT_TRUE(out.refused) << out.detail;
  EXPECT_EQ(out.detail.rfind("gRPC UNAVAILABLE: ", 0), 0u) << out.detail;
}

TEST_F(real_servers, grpc_probe_gives_up_at_its_deadline) {
  // Accepts TCP and never speaks HTTP/2.
  auto port = free_port();
  auto server = start_python(holding_listener, port);
  auto probe = probe_of(port);
  auto start = steady::now();
  auto out = probe.check();
  EXPECT_LT(steady::now() - start, 2s);
  EXPECT_FALSE(out.ok);
  EXPECT_FALSE(out.refused);
  EXPECT_EQ(out.detail, "gRPC DEADLINE_EXCEEDED: no answer within 500 ms");
}

// -- metrics scrapes -------------------------------------------------------------

namespace {

// Serves /metrics in the Prometheus text format; anything else is a 404.
constexpr const char* metrics_server = R"(
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/metrics":
            self.send_response(404)
            self.end_headers()
            return
        body = (b'# TYPE http_requests_total counter\n'
                b'http_requests_total{code="200"} 40\n'
                b'http_requests_total{code="500"} 2\n'
                b'http_requests_errors_total 2\n'
                b'request_seconds_sum 2.1\n'
                b'request_seconds_count 42\n')
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
)";

scrape_target target_at(std::uint16_t port, const std::string& path = "/metrics") {
  config::metrics_settings m;
  m.path = path;
  m.timeout = 300ms;
  m.latency = "request_seconds";
  config::instance_settings inst{"web-a", "127.0.0.1", port, "dc1", config::instance_role::primary,
                                 100,     {}};
  return make_scrape_target("web", inst, m);
}

} // namespace

TEST_F(real_servers, a_scrape_reads_the_configured_metrics) {
  auto port = free_port();
  auto server = start_python(metrics_server, port);
  auto s = scrape_once(target_at(port));
  EXPECT_EQ(s.error, "");
  EXPECT_DOUBLE_EQ(s.requests, 42);
  EXPECT_DOUBLE_EQ(s.errors, 2);
  EXPECT_EQ(s.latency, latency_metric::histogram);
  EXPECT_DOUBLE_EQ(s.latency_sum, 2.1);
  EXPECT_DOUBLE_EQ(s.latency_count, 42);

  auto missing = scrape_once(target_at(port, "/nope"));
  EXPECT_EQ(missing.error, fmt::format("GET http://127.0.0.1:{}/nope: HTTP 404", port));
}

TEST_F(real_servers, a_scrape_is_bounded_by_its_timeout) {
  auto port = free_port();
  auto server = start_python(holding_listener, port); // accepts, never answers
  auto start = steady::now();
  auto s = scrape_once(target_at(port));
  auto took = steady::now() - start;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_NE(s.error.find("Timeout was reached"), std::string::npos) << s.error;
}

TEST(metrics_scrape, a_refused_connection_is_an_error_not_a_number) {
  auto s = scrape_once(target_at(free_port()));
  EXPECT_NE(s.error.find("Couldn't connect to server"), std::string::npos) << s.error;
  EXPECT_FALSE(s.has_requests);
}

// The metrics registry: values, label escaping, one HELP/TYPE per family,
// cumulative histogram buckets, stable references across remove, and text
// that both a strict checker and the project's own parser accept.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "observability/metrics.hpp"
#include "observability/metrics_server.hpp"
#include "observability/prometheus_text.hpp"
#include "tests/support/exposition_check.hpp"

using namespace switchyard;

namespace {

std::optional<double> value_of(const std::string& text, const std::string& name,
                               const std::map<std::string, std::string>& labels) {
  auto parsed = actors::parse_prometheus_text(text);
  for (const auto& s : parsed.samples)
    if (s.name == name && s.labels == labels)
      return s.value;
  return std::nullopt;
}

} // namespace

TEST(metrics, counters_and_gauges_render_with_labels) {
  metrics::registry reg;
  auto& c = reg.counter_for("sy_events_total", "Events.", {{"type", "a"}});
  c.inc();
  c.inc(2.5);
  c.inc(-1); // ignored: counters never go down
  reg.counter_for("sy_events_total", "ignored help", {{"type", "b"}}).inc();
  EXPECT_EQ(&c, &reg.counter_for("sy_events_total", "", {{"type", "a"}}));
  auto& g = reg.gauge_for("sy_depth", "Depth.");
  g.set(7);
  g.add(-2);
  EXPECT_DOUBLE_EQ(c.value(), 3.5);
  EXPECT_DOUBLE_EQ(g.value(), 5);

  auto text = reg.render();
  EXPECT_EQ(test::check_exposition(text), std::vector<std::string>{}) << text;
  EXPECT_EQ(value_of(text, "sy_events_total", {{"type", "a"}}), 3.5);
  EXPECT_EQ(value_of(text, "sy_events_total", {{"type", "b"}}), 1);
  EXPECT_EQ(value_of(text, "sy_depth", {}), 5);
  // HELP and TYPE once per family, the first help wins.
  EXPECT_NE(text.find("# HELP sy_events_total Events.\n# TYPE sy_events_total counter\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("ignored help"), std::string::npos);
  EXPECT_EQ(text.find("# TYPE sy_events_total"), text.rfind("# TYPE sy_events_total"));
  EXPECT_NE(text.find("# TYPE sy_depth gauge\n"), std::string::npos);
}

TEST(metrics, label_values_and_help_are_escaped) {
  metrics::registry reg;
  std::string nasty = "C:\\dir \"quoted\"\nline2 {x=\"y\"},";
  reg.gauge_for("sy_nasty", "Help with \\ and\nnewline.", {{"path", nasty}, {"k", ""}}).set(1);
  auto text = reg.render();
  EXPECT_EQ(test::check_exposition(text), std::vector<std::string>{}) << text;
  EXPECT_NE(text.find(R"(sy_nasty{path="C:\\dir \"quoted\"\nline2 {x=\"y\"},",k=""} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# HELP sy_nasty Help with \\\\ and\\nnewline.\n"), std::string::npos);
  EXPECT_EQ(value_of(text, "sy_nasty", {{"path", nasty}, {"k", ""}}), 1);
}

TEST(metrics, histograms_are_cumulative_with_sum_and_count) {
  metrics::registry reg;
  auto& h = reg.histogram_for("sy_step_seconds", "Steps.", {{"phase", "fence"}}, {0.1, 1, 0.5});
  for (double v : {0.05, 0.1, 0.3, 0.7, 2.0, 3.0})
    h.observe(v);
  auto text = reg.render();
  EXPECT_EQ(test::check_exposition(text), std::vector<std::string>{}) << text;
  auto b = [&](const std::string& le) {
    return value_of(text, "sy_step_seconds_bucket", {{"phase", "fence"}, {"le", le}});
  };
  EXPECT_EQ(b("0.1"), 2); // le is inclusive
  EXPECT_EQ(b("0.5"), 3);
  EXPECT_EQ(b("1"), 4);
  EXPECT_EQ(b("+Inf"), 6);
  EXPECT_EQ(value_of(text, "sy_step_seconds_count", {{"phase", "fence"}}), 6);
  auto sum = value_of(text, "sy_step_seconds_sum", {{"phase", "fence"}});
  ASSERT_TRUE(sum);
  EXPECT_NEAR(*sum, 6.15, 1e-9);
  EXPECT_NE(text.find("# TYPE sy_step_seconds histogram\n"), std::string::npos);
  // Buckets are rendered in ascending order, +Inf last.
  EXPECT_LT(text.find("le=\"0.1\""), text.find("le=\"0.5\""));
  EXPECT_LT(text.find("le=\"1\""), text.find("le=\"+Inf\""));
}

TEST(metrics, default_buckets_span_100us_to_10s) {
  auto b = metrics::default_seconds_buckets();
  ASSERT_FALSE(b.empty());
  EXPECT_DOUBLE_EQ(b.front(), 0.0001);
  EXPECT_DOUBLE_EQ(b.back(), 10);
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
}

TEST(metrics, remove_hides_a_series_but_keeps_references_valid) {
  metrics::registry reg;
  metrics::labels a{{"service", "db"}, {"instance", "a"}};
  metrics::labels b{{"service", "db"}, {"instance", "b"}};
  auto& ga = reg.gauge_for("sy_healthy", "Healthy.", a);
  reg.gauge_for("sy_healthy", "Healthy.", b).set(1);
  ga.set(1);
  reg.remove("sy_healthy", a);
  reg.remove("sy_unknown", a); // no-op
  ga.set(0);                   // still a valid object
  auto text = reg.render();
  EXPECT_FALSE(value_of(text, "sy_healthy", {{"service", "db"}, {"instance", "a"}}));
  EXPECT_EQ(value_of(text, "sy_healthy", {{"service", "db"}, {"instance", "b"}}), 1);
  EXPECT_EQ(reg.series_count(), 1u);
  // Re-registered after removal: a fresh series.
  EXPECT_DOUBLE_EQ(reg.gauge_for("sy_healthy", "Healthy.", a).value(), 0);
  reg.remove("sy_healthy", a);
  reg.remove("sy_healthy", b);
  EXPECT_EQ(reg.render(), "") << "a family without series is not rendered";
}

TEST(metrics, rejects_bad_names_and_type_clashes) {
  metrics::registry reg;
  EXPECT_THROW(reg.counter_for("1bad", ""), std::invalid_argument);
  EXPECT_THROW(reg.counter_for("bad-name", ""), std::invalid_argument);
  EXPECT_THROW(reg.counter_for("ok", "", {{"bad label", "x"}}), std::invalid_argument);
  EXPECT_THROW(reg.histogram_for("okh", "", {{"le", "x"}}), std::invalid_argument);
  reg.counter_for("sy_x", "");
  EXPECT_THROW(reg.gauge_for("sy_x", ""), std::logic_error);
}

TEST(metrics, special_values) {
  EXPECT_EQ(metrics::format_value(INFINITY), "+Inf");
  EXPECT_EQ(metrics::format_value(-INFINITY), "-Inf");
  EXPECT_EQ(metrics::format_value(NAN), "NaN");
  EXPECT_EQ(metrics::format_value(0.25), "0.25");
  EXPECT_EQ(metrics::format_value(3), "3");
}

TEST(metrics, concurrent_updates_are_not_lost) {
  metrics::registry reg;
  auto& c = reg.counter_for("sy_concurrent_total", "");
  auto& h = reg.histogram_for("sy_concurrent_seconds", "");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(0.001);
        reg.counter_for("sy_concurrent_total", ""); // lookups race with updates
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_DOUBLE_EQ(c.value(), 40000);
  EXPECT_EQ(h.count(), 40000u);
  EXPECT_EQ(value_of(reg.render(), "sy_concurrent_seconds_count", {}), 40000);
}

// -- GET /metrics over a real socket ------------------------------------------

namespace {

std::string http_exchange(std::uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "connect failed";
  }
  std::size_t off = 0;
  while (off < request.size()) {
    auto n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      break;
    off += static_cast<std::size_t>(n);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      break; // EOF: the server closed the connection
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

} // namespace

TEST(metrics_http, serves_metrics_404_405_431) {
  metrics::registry reg;
  reg.counter_for("sy_served_total", "Served.", {{"k", "v"}}).inc(3);
  metrics::http_server server{"127.0.0.1:0", reg};
  std::string error;
  auto port = server.start(error);
  ASSERT_NE(port, 0) << error;
  EXPECT_EQ(server.port(), port);

  auto ok = http_exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(ok.starts_with("HTTP/1.1 200 OK\r\n")) << ok;
  EXPECT_NE(ok.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << ok;
  EXPECT_NE(ok.find("Connection: close"), std::string::npos);
  auto body = ok.substr(ok.find("\r\n\r\n") + 4);
  EXPECT_EQ(test::check_exposition(body), std::vector<std::string>{}) << body;
  EXPECT_EQ(value_of(body, "sy_served_total", {{"k", "v"}}), 3);
  EXPECT_NE(ok.find("Content-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);

  EXPECT_TRUE(http_exchange(port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 200"));
  auto head = http_exchange(port, "HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200")) << head;
  EXPECT_TRUE(head.ends_with("\r\n\r\n")) << "HEAD has no body";
  EXPECT_TRUE(http_exchange(port, "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404")) << "path";
  auto post = http_exchange(port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(post.starts_with("HTTP/1.1 405")) << post;
  EXPECT_NE(post.find("Allow: GET, HEAD"), std::string::npos);
  EXPECT_TRUE(http_exchange(port, "garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
  auto big = http_exchange(port, "GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'a'));
  EXPECT_TRUE(big.starts_with("HTTP/1.1 431")) << big.substr(0, 40);

  server.stop();
  server.stop(); // idempotent
  EXPECT_EQ(http_exchange(port, "GET /metrics HTTP/1.1\r\n\r\n"), "connect failed");
}

TEST(metrics_http, refuses_a_bad_or_busy_address) {
  metrics::registry reg;
  std::string error;
  metrics::http_server bad{"no-port", reg};
  EXPECT_EQ(bad.start(error), 0);
  EXPECT_FALSE(error.empty());
  metrics::http_server first{"127.0.0.1:0", reg};
  auto port = first.start(error);
  ASSERT_NE(port, 0) << error;
  metrics::http_server second{"127.0.0.1:" + std::to_string(port), reg};
  error.clear();
  EXPECT_EQ(second.start(error), 0);
  EXPECT_NE(error.find("cannot listen"), std::string::npos) << error;
}

// -- idle connections cannot starve a scrape ----------------------------------

namespace {

/// A connected socket to 127.0.0.1:port (receive timeout 5 s), closed at scope end.
struct client_socket {
  explicit client_socket(std::uint16_t port)
      : fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    timeval limit{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~client_socket() { ::close(fd); }
  client_socket(const client_socket&) = delete;
  client_socket& operator=(const client_socket&) = delete;

  void send_text(const std::string& text) const {
    EXPECT_EQ(::send(fd, text.data(), text.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(text.size()));
  }
  /// True once the server closed the connection (EOF or reset), without blocking.
  bool closed_by_server() const {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0)
      return false;
    char c = 0;
    return ::recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) <= 0;
  }
  /// Everything until the server closes (or 5 s pass: the receive timeout).
  std::string read_all() const {
    std::string out;
    char buf[4096];
    for (;;) {
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0)
        return out;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }

  int fd;
  bool connected = false;
};

} // namespace

TEST(metrics_http, idle_connections_at_the_cap_do_not_keep_a_scrape_out) {
  metrics::registry reg;
  reg.gauge_for("sy_up", "Up.").set(1);
  metrics::http_server server{"127.0.0.1:0", reg};
  std::string error;
  auto port = server.start(error);
  ASSERT_NE(port, 0) << error;

  // 70 connections that each sent part of a request and then went quiet
  // (not "silent": they get the full 10 s): the server keeps 64 of them.
  auto opened = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<client_socket>> idle;
  for (int i = 0; i < 70; ++i) {
    idle.push_back(std::make_unique<client_socket>(port));
    ASSERT_TRUE(idle.back()->connected);
    idle.back()->send_text("GET /metrics HTTP/1.1\r\n");
  }
  // Once 6 are closed, the server has taken all 70 in and sits at its cap of 64.
  auto closed = [&] {
    return std::count_if(idle.begin(), idle.end(),
                         [](const auto& c) { return c->closed_by_server(); });
  };
  auto deadline = opened + std::chrono::seconds(5);
  while (closed() < 6 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(closed(), 6);

  auto started = std::chrono::steady_clock::now();
  client_socket scrape{port};
  ASSERT_TRUE(scrape.connected);
  scrape.send_text("GET /metrics HTTP/1.1\r\n\r\n");
  auto answer = scrape.read_all();
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer.substr(0, 60);
  EXPECT_NE(answer.find("sy_up 1"), std::string::npos);
  EXPECT_LT(took, std::chrono::seconds(2));
  // Not the idle timeout at work: the idle ones were still inside their 10 s.
  EXPECT_LT(std::chrono::steady_clock::now() - opened, std::chrono::seconds(10));
  EXPECT_EQ(closed(), 7) << "exactly one idle connection made room";
}

TEST(metrics_http, a_connection_that_sends_nothing_is_closed_after_2_s) {
  metrics::registry reg;
  metrics::http_server server{"127.0.0.1:0", reg};
  std::string error;
  auto port = server.start(error);
  ASSERT_NE(port, 0) << error;
  auto started = std::chrono::steady_clock::now();
  client_socket silent{port};
  client_socket talking{port};
  ASSERT_TRUE(silent.connected && talking.connected);
  talking.send_text("GET /met");
  EXPECT_EQ(silent.read_all(), ""); // returns at EOF
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, std::chrono::milliseconds(1900));
  EXPECT_LT(took, std::chrono::milliseconds(4500)) << "not the 5 s receive timeout";
  EXPECT_FALSE(talking.closed_by_server()) << "one that spoke keeps its 10 s";
}

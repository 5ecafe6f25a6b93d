// The demo service as a real process: health, role changes, errors, clean stop.
#include <csignal>
#include <string>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/actors/test_system.hpp"
#include "tests/support/process.hpp"

using namespace std::chrono_literals;
using namespace switchyard::testing;

namespace {

// A connected TCP socket to 127.0.0.1:port (or listening on it), closed at scope end.
class raw_socket {
public:
  raw_socket() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
  ~raw_socket() { ::close(fd_); }
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;
  int fd() const { return fd_; }
  bool connect(std::uint16_t port) { return ::connect(fd_, addr(port), sizeof(sa_)) == 0; }
  bool listen(std::uint16_t port) {
    return ::bind(fd_, addr(port), sizeof(sa_)) == 0 && ::listen(fd_, 4) == 0;
  }
  /// Everything the peer sends until it closes, or "" if that takes longer than `limit`.
  std::string read_all(std::chrono::milliseconds limit) {
    std::string got;
    auto deadline = std::chrono::steady_clock::now() + limit;
    char buf[512];
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd pfd{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
        return {};
      auto n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0)
        return got;
      got.append(buf, static_cast<std::size_t>(n));
    }
  }

private:
  sockaddr* addr(std::uint16_t port) {
    sa_.sin_family = AF_INET;
    sa_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa_.sin_port = htons(port);
    return reinterpret_cast<sockaddr*>(&sa_);
  }
  int fd_;
  sockaddr_in sa_{};
};

} // namespace

TEST(demo_service, answers_health_and_changes_role) {
  temp_dir dir;
  auto port = free_port();
  child_process svc({DEMO_SERVICE_PATH, "--name", "web-x", "--port", std::to_string(port)},
                    (dir.path() / "svc.log").string());
  ASSERT_TRUE(wait_until([&] { return http_request("GET", port, "/health") == "200 ok\n"; }, 10s));
  EXPECT_EQ(http_request("GET", port, "/role"), "200 standby\n");
  EXPECT_EQ(http_request("POST", port, "/promote"), "200 promoted\n");
  EXPECT_EQ(http_request("GET", port, "/role"), "200 primary\n");
  EXPECT_EQ(http_request("GET", port, "/"), "200 hello from web-x (primary)\n");
  EXPECT_EQ(http_request("POST", port, "/demote"), "200 demoted\n");
  EXPECT_EQ(http_request("GET", port, "/role"), "200 standby\n");
  EXPECT_EQ(http_request("GET", port, "/nope"), "404 not found\n");
  svc.signal(SIGTERM);
  EXPECT_EQ(svc.wait_for_exit(5s), 0);
  auto log = read_file((dir.path() / "svc.log").string());
  EXPECT_NE(log.find("role standby -> primary"), std::string::npos) << log;
}

TEST(demo_service, bad_arguments_exit_2) {
  temp_dir dir;
  child_process svc({DEMO_SERVICE_PATH, "--name", "x", "--port", "0"}, (dir.path() / "l").string());
  EXPECT_EQ(svc.wait_for_exit(5s), 2);
  EXPECT_NE(read_file((dir.path() / "l").string()).find("--port must be 1..65535"),
            std::string::npos);
}

TEST(demo_service, a_silent_client_cannot_wedge_it) {
  temp_dir dir;
  auto port = free_port();
  child_process svc({DEMO_SERVICE_PATH, "--name", "web-x", "--port", std::to_string(port)},
                    (dir.path() / "svc.log").string());
  ASSERT_TRUE(wait_until([&] { return http_request("GET", port, "/health") == "200 ok\n"; }, 10s));
  raw_socket silent;
  ASSERT_TRUE(silent.connect(port));
  // It sends nothing; the service gives up on it after its request timeout...
  auto answer = silent.read_all(10s);
  EXPECT_EQ(answer.rfind("HTTP/1.1 400 ", 0), 0u) << answer;
  // ...and serves the next client.
  EXPECT_EQ(http_request("GET", port, "/health"), "200 ok\n");
  svc.signal(SIGTERM);
  EXPECT_EQ(svc.wait_for_exit(5s), 0);
}

TEST(demo_service, answers_a_request_with_a_body_it_does_not_read) {
  temp_dir dir;
  auto port = free_port();
  child_process svc({DEMO_SERVICE_PATH, "--name", "web-x", "--port", std::to_string(port)},
                    (dir.path() / "svc.log").string());
  ASSERT_TRUE(wait_until([&] { return http_request("GET", port, "/health") == "200 ok\n"; }, 10s));
  raw_socket client;
  ASSERT_TRUE(client.connect(port));
  std::string body(2000, 'x'); // left unread: closing over it must not reset the response away
  std::string req = "POST /promote HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n"
                    "Connection: close\r\n\r\n" +
                    body;
  ASSERT_EQ(::send(client.fd(), req.data(), req.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(req.size()));
  auto answer = client.read_all(5s);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("\r\n\r\npromoted\n"), std::string::npos) << answer;
  EXPECT_EQ(http_request("GET", port, "/role"), "200 primary\n");
}

TEST(demo_service, a_port_in_use_exits_1_with_a_clear_message) {
  temp_dir dir;
  auto port = free_port();
  raw_socket holder;
  ASSERT_TRUE(holder.listen(port));
  child_process svc({DEMO_SERVICE_PATH, "--name", "web-x", "--port", std::to_string(port)},
                    (dir.path() / "l").string());
  EXPECT_EQ(svc.wait_for_exit(5s), 1);
  auto log = read_file((dir.path() / "l").string());
  EXPECT_NE(log.find("cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << log;
}

TEST(demo_service, rejects_malformed_arguments_with_usage) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"--name", "x", "--port", "80x"},
        std::vector<std::string>{"--name", "x", "--port", "70000"},
        std::vector<std::string>{"--port", "8080"},
        std::vector<std::string>{"--name", "x", "--port", "8080", "--role", "leader"},
        std::vector<std::string>{"--name", "x", "--port"},
        std::vector<std::string>{"--name", "x", "--port", "8080", "--colour", "red"}}) {
    temp_dir dir;
    args.insert(args.begin(), DEMO_SERVICE_PATH);
    child_process svc(args, (dir.path() / "l").string());
    EXPECT_EQ(svc.wait_for_exit(5s), 2) << args[args.size() - 1];
    EXPECT_NE(read_file((dir.path() / "l").string()).find("usage: demo_service"),
              std::string::npos);
  }
}

TEST(demo_service, answers_late_with_a_delay_and_counts_requests_in_its_metrics) {
  temp_dir dir;
  auto port = free_port();
  child_process svc(
      {DEMO_SERVICE_PATH, "--name", "slow", "--port", std::to_string(port), "--delay-ms", "300"},
      (dir.path() / "svc.log").string());
  ASSERT_TRUE(wait_until([&] { return http_request("GET", port, "/health") == "200 ok\n"; }, 10s));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(http_request("GET", port, "/health"), "200 ok\n");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);

  EXPECT_EQ(http_request("POST", port, "/delay?ms=0"), "200 delay 0 ms\n");
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(http_request("GET", port, "/health"), "200 ok\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 300ms);
  EXPECT_EQ(http_request("POST", port, "/delay?ms=x"), "400 ms must be 0..60000\n");

  auto metrics = http_request("GET", port, "/metrics");
  EXPECT_EQ(metrics.rfind("200 # TYPE http_requests_total counter\n", 0), 0u) << metrics;
  // A 400 is the client's error, not the service's: errors count 5xx only.
  EXPECT_NE(metrics.find("\nhttp_requests_errors_total 0\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nhttp_request_duration_seconds_sum "), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nhttp_request_duration_seconds_count "), std::string::npos) << metrics;
  svc.signal(SIGTERM);
  EXPECT_EQ(svc.wait_for_exit(5s), 0);
}

TEST(demo_service, a_bad_delay_exits_2) {
  temp_dir dir;
  child_process svc({DEMO_SERVICE_PATH, "--name", "x", "--port", "8080", "--delay-ms", "-1"},
                    (dir.path() / "l").string());
  EXPECT_EQ(svc.wait_for_exit(5s), 2);
  EXPECT_NE(read_file((dir.path() / "l").string()).find("--delay-ms must be 0..60000"),
            std::string::npos);
}

TEST(demo_service, help_prints_usage_and_exits_0) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"--help"}, std::vector<std::string>{"-h"},
        std::vector<std::string>{"--name", "x", "--help"}}) {
    temp_dir dir;
    args.insert(args.begin(), DEMO_SERVICE_PATH);
    child_process svc(args, (dir.path() / "l").string());
    EXPECT_EQ(svc.wait_for_exit(5s), 0) << args.back();
    auto out = read_file((dir.path() / "l").string());
    EXPECT_NE(out.find("usage: demo_service --name NAME --port PORT"), std::string::npos) << out;
    EXPECT_NE(out.find("--delay-ms N"), std::string::npos) << out;
    EXPECT_EQ(out.find("unknown option"), std::string::npos) << out;
  }
}

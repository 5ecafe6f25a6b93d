// The webhook action against a real HTTP server on a real socket (a small one
// in this test, so it can answer 503 first and record what it received).
#include <atomic>
#include <mutex>
#include <thread>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "strategies/action.hpp"
#include "strategies/actions/webhook_action.hpp"

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::strategies;

namespace {

// Answers each connection with the next status of `statuses` (the last one
// repeats) and keeps every request it read.
class http_server {
public:
  explicit http_server(std::vector<int> statuses) : statuses_(std::move(statuses)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    socklen_t len = sizeof(sa);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    ::listen(fd_, 16);
    thread_ = std::thread([this] { serve(); });
  }

  ~http_server() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }

  std::uint16_t port() const { return port_; }

  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> g{mutex_};
    return requests_;
  }

private:
  void serve() {
    std::size_t n = 0;
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0)
        return;
      std::string req;
      char buf[4096];
      // Headers, then Content-Length bytes of body.
      while (true) {
        auto got = ::recv(c, buf, sizeof(buf), 0);
        if (got <= 0)
          break;
        req.append(buf, static_cast<std::size_t>(got));
        auto end = req.find("\r\n\r\n");
        if (end == std::string::npos)
          continue;
        std::size_t length = 0;
        if (auto cl = req.find("Content-Length: "); cl != std::string::npos)
          length = std::stoul(req.substr(cl + 16));
        if (req.size() >= end + 4 + length)
          break;
      }
      {
        std::lock_guard<std::mutex> g{mutex_};
        requests_.push_back(req);
      }
      int status = statuses_[std::min(n++, statuses_.size() - 1)];
      auto content = fmt::format("answer {}", status / 100);
      auto answer =
          fmt::format("HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", status,
                      content.size(), content);
      ::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }

  std::vector<int> statuses_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
};

config::action_settings hook(std::uint16_t port) {
  config::action_settings a;
  a.name = "tell-lb";
  a.type = config::action_type::webhook;
  a.method = "PUT";
  a.url =
      fmt::format("http://127.0.0.1:{}/pools/{{service}}?primary={{new_primary_address}}", port);
  a.headers["X-Epoch"] = "{epoch}";
  a.body = R"({"service":"{service}","primary":"{new_primary}","switchover":{switchover_id}})";
  a.timeout = 5s;
  a.retry_backoff = 10ms;
  return a;
}

action_context context() {
  action_context ctx;
  ctx.service = "web";
  ctx.new_primary = "web-b";
  ctx.new_primary_address = "10.0.0.2:80";
  ctx.epoch = 7;
  ctx.switchover = 12;
  return ctx;
}

} // namespace

TEST(webhook_action, sends_the_filled_in_request_and_succeeds_on_2xx) {
  http_server server{{204}};
  auto r = make_action(hook(server.port()))->run(context());
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.detail, fmt::format("PUT http://127.0.0.1:{}/pools/web?primary=10.0.0.2:80: HTTP 204",
                                  server.port()));
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].rfind("PUT /pools/web?primary=10.0.0.2:80 HTTP/1.1\r\n", 0), 0u) << reqs[0];
  EXPECT_NE(reqs[0].find("X-Epoch: 7\r\n"), std::string::npos) << reqs[0];
  EXPECT_NE(reqs[0].find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(reqs[0].find(R"({"service":"web","primary":"web-b","switchover":12})"),
            std::string::npos)
      << reqs[0];
}

TEST(webhook_action, retries_5xx_with_backoff_until_it_succeeds) {
  http_server server{{503, 502, 200}};
  auto a = hook(server.port());
  a.retries = 3;
  auto r = make_action(a)->run(context());
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_NE(r.detail.find("HTTP 200 (attempt 3)"), std::string::npos) << r.detail;
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(webhook_action, a_4xx_is_not_retried_and_the_answer_is_the_reason) {
  http_server server{{409, 200}};
  auto a = hook(server.port());
  a.retries = 3;
  auto r = make_action(a)->run(context());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("HTTP 409 | answer 4"), std::string::npos) << r.detail;
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(webhook_action, expected_status_and_unreachable_servers) {
  http_server server{{200}};
  auto a = hook(server.port());
  a.expected_status = 201;
  EXPECT_FALSE(make_action(a)->run(context()).ok) << "200 is not the expected 201";
  a.url = "http://127.0.0.1:1/nothing";
  a.retries = 1;
  auto r = make_action(a)->run(context());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("Couldn't connect to server (attempt 2)"), std::string::npos) << r.detail;
}

TEST(webhook_action, placeholders_are_filled_and_unknown_braces_kept) {
  auto ctx = context();
  ctx.target = "web-a";
  EXPECT_EQ(fill_placeholders("{target}/{step}{unknown}{epoch}", ctx), "web-a/{unknown}7");
}

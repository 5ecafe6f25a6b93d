// GET /metrics: a small HTTP/1.1 server on its own thread (plain sockets and
// poll) that serves the metrics registry in the Prometheus text format.
// One request per connection (Connection: close); 404 for other paths, 405
// for other methods, 431 for requests over 8 KiB. At most 64 connections:
// one that sent nothing is closed after 2 s, any other after 10 s, and at
// the cap a new connection replaces the oldest one that has not sent a
// complete request (idle connections cannot keep a scrape out).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace switchyard::metrics {

class registry;

class http_server {
public:
  /// Serves `reg` on `listen` (host:port, [v6]:port; port 0 picks a free one).
  http_server(std::string listen, registry& reg);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds and starts the thread. Returns the port it listens on, or 0 and
  /// sets `error` when it cannot listen.
  std::uint16_t start(std::string& error);
  /// Stops the thread and closes every connection (idempotent).
  void stop();

  [[nodiscard]] std::uint16_t port() const { return port_; }

private:
  void run();

  std::string listen_;
  registry& reg_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::thread thread_;
};

/// The response to one raw request (the server's logic, pure; for tests).
std::string http_response_for(const std::string& request, registry& reg);

} // namespace switchyard::metrics

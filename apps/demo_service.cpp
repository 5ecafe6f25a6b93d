// demo_service: a tiny HTTP service for the demo and the integration tests.
// One request per connection; answers GET /health, GET /role, POST /promote,
// POST /demote, GET /metrics (Prometheus text), POST /delay?ms=N and GET /.
// Single-threaded, POSIX sockets only. With a delay every answer is sent that
// many milliseconds late (a slow instance, for performance monitoring).
//   demo_service --name web-a --port 18081 [--host 127.0.0.1] [--role primary|standby]
//                [--delay-ms N]
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void on_signal(int) {
  stop_requested = 1;
}

struct options {
  std::string name;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string role = "standby";
  int delay_ms = 0; ///< every answer waits this long
};

// What GET /metrics reports.
struct counters {
  long long requests = 0;
  long long errors = 0;     ///< answers with a status of 500 or more
  double seconds_total = 0; ///< time from accepting to answering, summed
};

constexpr const char* usage_text =
    "usage: demo_service --name NAME --port PORT [--host HOST] [--role primary|standby] "
    "[--delay-ms N]\n";

int usage(const char* why) {
  std::fprintf(stderr, "demo_service: %s\n%s", why, usage_text);
  return 2;
}

// --help / -h: what it is and how to start it, on stdout, exit 0.
int help() {
  std::printf("demo_service: a tiny HTTP service for the Switchyard demo and tests.\n%s"
              "  --name NAME         instance name (required)\n"
              "  --port PORT         TCP port to listen on, 1..65535 (required)\n"
              "  --host HOST         IPv4 address to listen on (default 127.0.0.1)\n"
              "  --role ROLE         primary or standby (default standby)\n"
              "  --delay-ms N        answer every request N ms late, 0..60000 (default 0)\n"
              "  -h, --help          print this help and exit\n"
              "Answers GET /health, GET /role, POST /promote, POST /demote, GET /metrics,\n"
              "POST /delay?ms=N and GET /.\n",
              usage_text);
  return 0;
}

constexpr int request_timeout_ms = 2000; // the whole request head, not per read

int ms_until(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Reads the request head (up to the blank line) within one overall deadline,
// so neither a silent nor a trickling client can wedge the service.
std::string read_head(int fd) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(request_timeout_ms);
  std::string head;
  char buf[1024];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 8192) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, ms_until(deadline)) <= 0)
      break;
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    head.append(buf, static_cast<std::size_t>(n));
  }
  return head;
}

// Closes a connection so the response is not lost: closing with unread input
// (e.g. a request body) makes the kernel send a reset that can overtake it.
void finish_connection(int fd) {
  ::shutdown(fd, SHUT_WR);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  char buf[1024];
  pollfd pfd{fd, POLLIN, 0};
  while (::poll(&pfd, 1, ms_until(deadline)) > 0 && ::recv(fd, buf, sizeof(buf), 0) > 0) {
  }
  ::close(fd);
}

// Parses a whole decimal port; 0 when it is not one.
int parse_port(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || errno != 0 || end == nullptr || *end != '\0' || v < 1 || v > 65535)
    return 0;
  return static_cast<int>(v);
}

// Parses a whole decimal number of milliseconds, 0..60000; -1 when it is not one.
int parse_delay(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || errno != 0 || end == nullptr || *end != '\0' || v < 0 || v > 60000)
    return -1;
  return static_cast<int>(v);
}

void send_response(int fd, int status, const char* reason, const std::string& body,
                   const options& opt, counters& count) {
  if (opt.delay_ms > 0)
    ::poll(nullptr, 0, opt.delay_ms); // a slow instance: late, not wrong
  ++count.requests;
  if (status >= 500)
    ++count.errors;
  std::string out =
      "HTTP/1.1 " + std::to_string(status) + " " + reason +
      "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + body;
  std::size_t sent = 0;
  while (sent < out.size()) {
    auto n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      return;
    sent += static_cast<std::size_t>(n);
  }
}

std::string metrics_text(const counters& c) {
  char sum[64];
  std::snprintf(sum, sizeof(sum), "%.6f", c.seconds_total);
  return "# TYPE http_requests_total counter\nhttp_requests_total " + std::to_string(c.requests) +
         "\n# TYPE http_requests_errors_total counter\nhttp_requests_errors_total " +
         std::to_string(c.errors) +
         "\n# TYPE http_request_duration_seconds summary\nhttp_request_duration_seconds_sum " +
         sum + "\nhttp_request_duration_seconds_count " + std::to_string(c.requests) + "\n";
}

void handle(int fd, options& opt, counters& count) {
  auto respond = [&](int status, const char* reason, const std::string& body) {
    send_response(fd, status, reason, body, opt, count);
  };
  auto head = read_head(fd);
  auto line_end = head.find("\r\n");
  auto line = head.substr(0, line_end);
  auto sp1 = line.find(' ');
  auto sp2 = line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) {
    respond(400, "Bad Request", "bad request\n");
    return;
  }
  auto method = line.substr(0, sp1);
  auto path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (method == "GET" && path == "/health") {
    respond(200, "OK", "ok\n");
  } else if (method == "GET" && path == "/role") {
    respond(200, "OK", opt.role + "\n");
  } else if (method == "POST" && (path == "/promote" || path == "/demote")) {
    auto next = path == "/promote" ? "primary" : "standby";
    if (opt.role != next) {
      std::printf("demo_service %s: role %s -> %s\n", opt.name.c_str(), opt.role.c_str(), next);
      std::fflush(stdout);
    }
    opt.role = next;
    respond(200, "OK", path == "/promote" ? "promoted\n" : "demoted\n");
  } else if (method == "GET" && path == "/metrics") {
    respond(200, "OK", metrics_text(count));
  } else if (method == "POST" && path.rfind("/delay?ms=", 0) == 0) {
    int ms = parse_delay(path.substr(std::strlen("/delay?ms=")));
    if (ms < 0) {
      respond(400, "Bad Request", "ms must be 0..60000\n");
      return;
    }
    opt.delay_ms = ms;
    std::printf("demo_service %s: delay %d ms\n", opt.name.c_str(), ms);
    std::fflush(stdout);
    respond(200, "OK", "delay " + std::to_string(ms) + " ms\n");
  } else if (method == "GET" && path == "/") {
    respond(200, "OK", "hello from " + opt.name + " (" + opt.role + ")\n");
  } else {
    respond(404, "Not Found", "not found\n");
  }
}

} // namespace

int main(int argc, char** argv) {
  options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h")
      return help();
    if (i + 1 >= argc)
      return usage(("missing value for " + a).c_str());
    std::string v = argv[++i];
    if (a == "--name")
      opt.name = v;
    else if (a == "--host")
      opt.host = v;
    else if (a == "--role")
      opt.role = v;
    else if (a == "--port")
      opt.port = parse_port(v);
    else if (a == "--delay-ms")
      opt.delay_ms = parse_delay(v);
    else
      return usage(("unknown option " + a).c_str());
  }
  if (opt.name.empty())
    return usage("--name is required");
  if (opt.port < 1 || opt.port > 65535)
    return usage("--port must be 1..65535");
  if (opt.role != "primary" && opt.role != "standby")
    return usage("--role must be primary or standby");
  if (opt.delay_ms < 0)
    return usage("--delay-ms must be 0..60000");

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // Non-blocking: a client that resets between poll and accept must not block accept.
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listener < 0) {
    std::fprintf(stderr, "demo_service %s: cannot create a socket: %s\n", opt.name.c_str(),
                 std::strerror(errno));
    return 1;
  }
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(opt.port));
  if (::inet_pton(AF_INET, opt.host.c_str(), &addr.sin_addr) != 1)
    return usage("--host must be an IPv4 address");
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listener, 64) != 0) {
    std::fprintf(stderr, "demo_service %s: cannot listen on %s:%d: %s\n", opt.name.c_str(),
                 opt.host.c_str(), opt.port, std::strerror(errno));
    return 1;
  }
  counters count;
  std::printf("demo_service %s: listening on %s:%d as %s (pid %d)\n", opt.name.c_str(),
              opt.host.c_str(), opt.port, opt.role.c_str(), static_cast<int>(::getpid()));
  std::fflush(stdout);
  while (stop_requested == 0) {
    pollfd pfd{listener, POLLIN, 0};
    int ready = ::poll(&pfd, 1, 200);
    if (ready <= 0)
      continue;
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    auto accepted = std::chrono::steady_clock::now();
    handle(fd, opt, count);
    count.seconds_total +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - accepted).count();
    finish_connection(fd);
  }
  ::close(listener);
  std::printf("demo_service %s: stopped\n", opt.name.c_str());
  return 0;
}

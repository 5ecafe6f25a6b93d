// demo_service: a tiny HTTP service for the demo and the integration tests.
// One request per connection; answers GET /health, GET /role, POST /promote,
// POST /demote and GET /. Single-threaded, POSIX sockets only.
//   demo_service --name web-a --port 18081 [--host 127.0.0.1] [--role primary|standby]
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
};

int usage(const char* why) {
  std::fprintf(stderr,
               "demo_service: %s\nusage: demo_service --name NAME --port PORT [--host HOST] "
               "[--role primary|standby]\n",
               why);
  return 2;
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

void respond(int fd, int status, const char* reason, const std::string& body) {
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

void handle(int fd, options& opt) {
  auto head = read_head(fd);
  auto line_end = head.find("\r\n");
  auto line = head.substr(0, line_end);
  auto sp1 = line.find(' ');
  auto sp2 = line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) {
    respond(fd, 400, "Bad Request", "bad request\n");
    return;
  }
  auto method = line.substr(0, sp1);
  auto path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (method == "GET" && path == "/health") {
    respond(fd, 200, "OK", "ok\n");
  } else if (method == "GET" && path == "/role") {
    respond(fd, 200, "OK", opt.role + "\n");
  } else if (method == "POST" && (path == "/promote" || path == "/demote")) {
    auto next = path == "/promote" ? "primary" : "standby";
    if (opt.role != next) {
      std::printf("demo_service %s: role %s -> %s\n", opt.name.c_str(), opt.role.c_str(), next);
      std::fflush(stdout);
    }
    opt.role = next;
    respond(fd, 200, "OK", path == "/promote" ? "promoted\n" : "demoted\n");
  } else if (method == "GET" && path == "/") {
    respond(fd, 200, "OK", "hello from " + opt.name + " (" + opt.role + ")\n");
  } else {
    respond(fd, 404, "Not Found", "not found\n");
  }
}

} // namespace

int main(int argc, char** argv) {
  options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
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
    else
      return usage(("unknown option " + a).c_str());
  }
  if (opt.name.empty())
    return usage("--name is required");
  if (opt.port < 1 || opt.port > 65535)
    return usage("--port must be 1..65535");
  if (opt.role != "primary" && opt.role != "standby")
    return usage("--role must be primary or standby");

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
    handle(fd, opt);
    finish_connection(fd);
  }
  ::close(listener);
  std::printf("demo_service %s: stopped\n", opt.name.c_str());
  return 0;
}

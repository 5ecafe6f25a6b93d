#include "tests/support/process.hpp"

#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <netinet/in.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <arpa/inet.h>

extern char** environ;

namespace switchyard::testing {

child_process::child_process(std::vector<std::string> argv, const std::string& log_file) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
}

child_process::~child_process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait_for_exit(std::chrono::seconds(5));
  }
}

bool child_process::running() {
  if (reaped_)
    return false;
  int status = 0;
  auto r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    status_ = status;
    return false;
  }
  return r == 0;
}

void child_process::signal(int sig) {
  if (!reaped_)
    ::kill(pid_, sig);
}

int child_process::wait_for_exit(std::chrono::milliseconds limit) {
  wait_until([this] { return !running(); }, limit);
  if (!reaped_)
    return -1;
  if (WIFEXITED(status_))
    return WEXITSTATUS(status_);
  return 128 + WTERMSIG(status_);
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    if (condition())
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); // polling a real process
  }
}

namespace {

// Whether a listener could bind `port` on 127.0.0.1 right now.
bool bindable(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// Claims `port` for this process until it exits: an advisory lock on a file
// named after it, which ctest's other test processes (run in parallel) see.
// Without it two of them could pick the same free port a moment apart, and
// the second daemon would fail to listen on it.
bool claim(std::uint16_t port) {
  static const std::string dir = "/tmp/switchyard-test-ports";
  ::mkdir(dir.c_str(), 01777);
  auto path = dir + "/" + std::to_string(port);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0)
    return true; // no lock to be had: bindable() alone decides, as before
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return false; // another test process holds it
  }
  return true; // the descriptor stays open: the lock ends with the process
}

} // namespace

// Below Linux's ephemeral range (32768-60999), which bind(0) picks from:
// outgoing connections take ports there too, and the probe tests make
// thousands, so a port picked that way could be taken by one before the
// server under test bound it. Each process walks 10000-19999 from a start of
// its own (probe_bench's targets use 20000 and up), never hands out a port
// twice, nor one another test process has claimed.
std::uint16_t free_port() {
  constexpr std::uint16_t first = 10000;
  constexpr std::uint16_t count = 10000;
  static std::mutex mtx;
  static std::uint16_t next = static_cast<std::uint16_t>(
      first + (static_cast<unsigned>(::getpid()) * 7919u +
               static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count())) %
                  count);
  std::lock_guard<std::mutex> guard{mtx};
  for (int tried = 0; tried < count; ++tried) {
    auto port = next;
    next = next + 1 == first + count ? first : static_cast<std::uint16_t>(next + 1);
    if (bindable(port) && claim(port))
      return port;
  }
  return 0;
}

std::string http_request(const std::string& method, std::uint16_t port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return {};
  }
  auto req = method + " " + path +
             " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
             "Content-Length: 0\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) < 0) {
    ::close(fd);
    return {};
  }
  std::string response;
  char buf[1024];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0)
    response.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  if (response.size() < 12)
    return {};
  auto body_at = response.find("\r\n\r\n");
  auto body = body_at == std::string::npos ? std::string{} : response.substr(body_at + 4);
  return response.substr(9, 3) + " " + body;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace switchyard::testing

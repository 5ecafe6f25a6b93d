// A throwaway redis-server on a unix socket, for checking RDBs.
#include "backups/scratch_redis.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "backups/sha256.hpp"
#include "messages/error.hpp"
#include "strategies/actions/resp.hpp"
#include "strategies/actions/stream_socket.hpp"

namespace switchyard::backups {

namespace {

using clock = std::chrono::steady_clock;
using strategies::stream_socket;

std::string flatten(const resp::reply& r) {
  if (r.type != '*')
    return r.text;
  std::string out;
  for (const auto& item : r.items)
    out += (out.empty() ? "" : "\n") + flatten(item);
  return out;
}

// One request and its reply on an open connection.
caf::expected<resp::reply> exchange(stream_socket& conn, const std::vector<std::string>& args,
                                    clock::time_point deadline, const std::string& address) {
  std::string why;
  if (!conn.send_all(resp::encode(args), deadline, why))
    return make_sy_error(sy_errc::backup_failed, fmt::format("redis {}: {}", address, why));
  std::string buffer;
  std::optional<resp::reply> reply;
  auto complete = [&](const std::string& b) {
    std::size_t pos = 0;
    reply = resp::parse(b, pos);
    return reply.has_value();
  };
  if (!conn.receive(buffer, complete, false, deadline, why) || !reply)
    return make_sy_error(sy_errc::backup_failed,
                         fmt::format("redis {}: no reply to {}: {}", address, args.front(),
                                     why.empty() ? "closed" : why));
  if (reply->is_error())
    return make_sy_error(sy_errc::backup_failed,
                         fmt::format("redis {}: {}: {}", address, args.front(), reply->text));
  return *reply;
}

// Resolved before fork(): the child only calls async-signal-safe functions.
std::string redis_server_binary() {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    auto dir = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    auto candidate = (dir.empty() ? std::string{"."} : dir) + "/redis-server";
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  return {};
}

std::string tail_of(const std::string& path) {
  std::ifstream in(path);
  std::string text{std::istreambuf_iterator<char>(in), {}};
  return text.size() > 600 ? text.substr(text.size() - 600) : text;
}

} // namespace

caf::expected<std::string> redis_call(const std::string& address,
                                      const std::vector<std::string>& args,
                                      std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  std::string why;
  auto conn = stream_socket::connect(address, deadline, why);
  if (!conn)
    return make_sy_error(sy_errc::backup_failed, fmt::format("redis {}: {}", address, why));
  auto reply = exchange(*conn, args, deadline, address);
  if (!reply)
    return reply.error();
  return flatten(*reply);
}

caf::expected<std::unique_ptr<scratch_redis>>
scratch_redis::start(const std::string& dir, std::chrono::milliseconds timeout) {
  auto socket = dir + "/redis.sock";
  auto log = dir + "/redis.log";
  std::vector<std::string> args{"redis-server",
                                "--port",
                                "0",
                                "--unixsocket",
                                socket,
                                "--unixsocketperm",
                                "700",
                                "--dir",
                                dir,
                                "--dbfilename",
                                "dump.rdb",
                                "--save",
                                "",
                                "--appendonly",
                                "no",
                                "--logfile",
                                log,
                                "--daemonize",
                                "no"};
  auto binary = redis_server_binary();
  if (binary.empty())
    return make_sy_error(sy_errc::backup_failed,
                         "redis-server is not installed (not in PATH): it is needed to check RDBs");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0)
    return make_sy_error(sy_errc::backup_failed,
                         fmt::format("cannot start redis-server: fork: {}", std::strerror(errno)));
  if (pid == 0) {
    ::setpgid(0, 0);
    // Gone with the thread that started it, even when switchyardd is killed
    // or exits mid-job: a check's server must never outlive its job.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  std::unique_ptr<scratch_redis> server{new scratch_redis(pid, socket, log)};
  // Ready when PING answers PONG (while it loads, Redis answers -LOADING).
  auto deadline = clock::now() + timeout;
  std::string last = "not started";
  while (clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      server->pid_ = -1;
      return make_sy_error(sy_errc::corrupt,
                           fmt::format("a test redis-server would not load the RDB (exit {}): {}",
                                       WIFEXITED(status) ? WEXITSTATUS(status) : 128,
                                       tail_of(log)));
    }
    auto pong = redis_call(socket, {"PING"}, std::chrono::milliseconds{500});
    if (pong && *pong == "PONG")
      return server;
    last = pong ? *pong : describe(pong.error());
    std::this_thread::sleep_for(std::chrono::milliseconds{20}); // polling a child process
  }
  return make_sy_error(sy_errc::backup_failed,
                       fmt::format("a test redis-server did not become ready within {} ms ({}): {}",
                                   timeout.count(), last, tail_of(log)));
}

scratch_redis::~scratch_redis() {
  if (pid_ <= 0)
    return;
  ::kill(-pid_, SIGKILL); // nothing of it is worth keeping
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

caf::expected<std::map<std::string, std::string>>
scratch_redis::dump_sums(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  std::string why;
  auto conn = stream_socket::connect(socket_, deadline, why);
  if (!conn)
    return make_sy_error(sy_errc::backup_failed, fmt::format("redis {}: {}", socket_, why));
  std::map<std::string, std::string> sums;
  for (const auto& key : keys) {
    auto r = exchange(*conn, {"DUMP", key}, deadline, socket_);
    if (!r)
      return r.error();
    sums[key] = r->text.empty() ? std::string{} : detail::sha256_hex(r->text); // empty: no such key
  }
  return sums;
}

caf::expected<rdb_facts> scratch_redis::facts(std::size_t sample_size,
                                              std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  std::string why;
  auto conn = stream_socket::connect(socket_, deadline, why);
  if (!conn)
    return make_sy_error(sy_errc::backup_failed, fmt::format("redis {}: {}", socket_, why));
  auto size = exchange(*conn, {"DBSIZE"}, deadline, socket_);
  if (!size)
    return size.error();
  rdb_facts out;
  out.keys = std::strtoull(size->text.c_str(), nullptr, 10);
  // SCAN's first page: the same keys for the same data loaded the same way.
  auto page =
      exchange(*conn, {"SCAN", "0", "COUNT", std::to_string(sample_size)}, deadline, socket_);
  if (!page)
    return page.error();
  std::vector<std::string> keys;
  if (page->items.size() == 2)
    for (const auto& key : page->items[1].items)
      if (keys.size() < sample_size)
        keys.push_back(key.text);
  auto sums = dump_sums(
      keys, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()));
  if (!sums)
    return sums.error();
  out.sample = std::move(*sums);
  return out;
}

caf::expected<rdb_facts> read_rdb_facts(const std::string& rdb, const std::string& scratch,
                                        std::chrono::milliseconds timeout) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(scratch, ec);
  fs::copy_file(rdb, scratch + "/dump.rdb", fs::copy_options::overwrite_existing, ec);
  if (ec)
    return make_sy_error(sy_errc::backup_failed,
                         fmt::format("cannot copy {} into {}: {}", rdb, scratch, ec.message()));
  auto server = scratch_redis::start(scratch, timeout);
  if (!server)
    return server.error();
  return (*server)->facts(16, timeout);
}

} // namespace switchyard::backups

#include "tests/support/etcd_cluster.hpp"

#include <csignal>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <unistd.h>

namespace switchyard::testing {

namespace {

constexpr const char* etcd_binary = "/usr/bin/etcd";
constexpr const char* setpriv_binary = "/usr/bin/setpriv"; // util-linux: always on Debian

std::string url(std::uint16_t port) {
  return "http://127.0.0.1:" + std::to_string(port);
}

// Running, not a zombie (a test killed under a parent that does not reap).
bool alive(long pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text))
    return false;
  auto close = text.rfind(") ");
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

// The folders of test processes that died without their destructors (killed
// by ctest's timeout): on tmpfs they would hold their memory until a reboot.
// Each folder is named after its process: "switchyard-etcd-<pid>-XXXXXX".
void remove_orphans(const std::filesystem::path& base) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(base, ec)) {
    auto name = entry.path().filename().string();
    const std::string prefix = "switchyard-etcd-";
    if (!name.starts_with(prefix))
      continue;
    auto pid = std::atol(name.c_str() + prefix.size());
    if (pid > 0 && !alive(pid))
      std::filesystem::remove_all(entry.path(), ec);
  }
}

// tmpfs when the machine has one with room: every etcd write is an fsync,
// which costs milliseconds on a disk and nothing in memory. Each member
// preallocates a 64 MB write-ahead log (about 125 MB a member in all), more
// than a container's default 64 MB /dev/shm holds. The data dies with the test.
std::string make_dir() {
  std::error_code ec;
  std::filesystem::path base = "/dev/shm";
  remove_orphans(base);
  auto space = std::filesystem::space(base, ec);
  if (ec || space.available < (std::uintmax_t{1} << 30) || ::access(base.c_str(), W_OK) != 0)
    base = std::filesystem::temp_directory_path();
  std::string pattern =
      (base / ("switchyard-etcd-" + std::to_string(::getpid()) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("etcd_cluster: mkdtemp in " + base.string() + " failed");
  return pattern;
}

} // namespace

etcd_cluster::etcd_cluster(std::size_t members) : dir_(make_dir()) {
  members_.resize(members);
  for (std::size_t i = 0; i < members; ++i) {
    auto& m = members_[i];
    m.name = "m" + std::to_string(i);
    m.client_port = free_port();
    m.peer_port = free_port();
    m.data_dir = dir_ + "/" + m.name;
    m.log_file = dir_ + "/" + m.name + ".log";
    initial_cluster_ += (i == 0 ? "" : ",") + m.name + "=" + url(m.peer_port);
  }
}

etcd_cluster::~etcd_cluster() {
  for (auto& m : members_) {
    if (m.process) {
      m.process->signal(SIGCONT); // a stopped process dies of SIGKILL too, but be plain
      m.process->signal(SIGKILL);
      (void)m.process->wait_for_exit(std::chrono::seconds(5));
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void etcd_cluster::launch(node& m) {
  // Heartbeat 50 ms, election 500 ms: elections in well under a second, and
  // the shortest lease etcd grants becomes 1 s (1.5 election timeouts,
  // rounded up). pre-vote: a restarted member does not depose a healthy leader.
  // The cluster token is the folder's name: members of two tests running in
  // parallel can never join each other.
  std::vector<std::string> argv;
  // A test process that dies without its destructors (a crash, ctest's
  // timeout) takes its members with it: setpriv execs etcd (same pid) with
  // SIGKILL as its parent-death signal.
  if (::access(setpriv_binary, X_OK) == 0)
    argv = {setpriv_binary, "--pdeathsig", "SIGKILL", "--"};
  argv.insert(argv.end(),
              {etcd_binary, "--name=" + m.name, "--data-dir=" + m.data_dir,
               "--listen-client-urls=" + url(m.client_port),
               "--advertise-client-urls=" + url(m.client_port),
               "--listen-peer-urls=" + url(m.peer_port),
               "--initial-advertise-peer-urls=" + url(m.peer_port),
               "--initial-cluster=" + initial_cluster_, "--initial-cluster-state=new",
               "--initial-cluster-token=" + std::filesystem::path(dir_).filename().string(),
               "--heartbeat-interval=50", "--election-timeout=500", "--pre-vote=true",
               "--logger=zap", "--log-outputs=stderr", "--log-level=warn"});
  m.process = std::make_unique<child_process>(argv, m.log_file);
}

std::string etcd_cluster::start(std::chrono::milliseconds limit) {
  if (::access(etcd_binary, X_OK) != 0)
    return std::string(etcd_binary) + " is missing: install etcd-server (scripts/install-deps.sh)";
  std::vector<std::size_t> all;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    launch(members_[i]);
    all.push_back(i);
  }
  return wait_healthy(all, limit);
}

std::string etcd_cluster::wait_healthy(const std::vector<std::size_t>& which,
                                       std::chrono::milliseconds limit) const {
  bool ok = wait_until(
      [&] {
        for (auto i : which)
          if (!healthy(i))
            return false;
        return true;
      },
      limit);
  if (ok)
    return {};
  std::string why = "etcd members not healthy within " + std::to_string(limit.count()) + " ms:";
  for (auto i : which)
    why += "\n-- " + members_[i].name + " (" + endpoint(i) + ", " +
           (running(i) ? "running" : "exited") + ", healthy: " + (healthy(i) ? "yes" : "no") +
           "):\n" + log_tail(i);
  return why;
}

std::string etcd_cluster::endpoints() const {
  std::string out;
  for (std::size_t i = 0; i < members_.size(); ++i)
    out += (i == 0 ? "" : ",") + endpoint(i);
  return out;
}

std::string etcd_cluster::endpoint(std::size_t member) const {
  return "127.0.0.1:" + std::to_string(members_.at(member).client_port);
}

void etcd_cluster::kill(std::size_t member) {
  auto& m = members_.at(member);
  if (!m.process)
    return;
  m.process->signal(SIGKILL);
  (void)m.process->wait_for_exit(std::chrono::seconds(5));
}

void etcd_cluster::pause(std::size_t member) {
  if (auto& p = members_.at(member).process)
    p->signal(SIGSTOP);
}

void etcd_cluster::resume(std::size_t member) {
  if (auto& p = members_.at(member).process)
    p->signal(SIGCONT);
}

std::string etcd_cluster::restart(std::size_t member, std::chrono::milliseconds limit) {
  auto& m = members_.at(member);
  if (m.process && m.process->running())
    return m.name + " is still running";
  launch(m); // its data directory holds its identity: the --initial-* flags are ignored
  return wait_healthy({member}, limit);
}

std::size_t etcd_cluster::leader() const {
  for (std::size_t i = 0; i < members_.size(); ++i)
    if (running(i) && http_request("GET", members_[i].client_port, "/metrics")
                              .find("\netcd_server_is_leader 1") != std::string::npos)
      return i;
  return members_.size();
}

std::size_t etcd_cluster::wait_for_leader(std::chrono::milliseconds limit) const {
  std::size_t found = members_.size();
  (void)wait_until([&] { return (found = leader()) < members_.size(); }, limit);
  return found;
}

bool etcd_cluster::healthy(std::size_t member) const {
  // /health answers {"health":"true"} when the member has a leader and a
  // linearizable read goes through.
  auto reply = http_request("GET", members_.at(member).client_port, "/health");
  return reply.starts_with("200 ") && reply.find("\"health\":\"true\"") != std::string::npos;
}

bool etcd_cluster::running(std::size_t member) const {
  const auto& p = members_.at(member).process;
  return p && p->running();
}

std::string etcd_cluster::log_tail(std::size_t member, std::size_t lines) const {
  std::ifstream in(members_.at(member).log_file);
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(line);
    if (tail.size() > lines)
      tail.pop_front();
  }
  std::string out;
  for (const auto& line : tail)
    out += line + "\n";
  return out;
}

} // namespace switchyard::testing

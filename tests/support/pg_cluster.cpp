#include "tests/support/pg_cluster.hpp"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace switchyard::testing {

namespace fs = std::filesystem;

namespace {

constexpr const char* setpriv_binary = "/usr/bin/setpriv"; // util-linux: always on Debian

// initdb and postgres refuse to run as root: a root test process runs them
// as the postgres system user (uid, gid); nullopt: as itself.
std::optional<std::pair<uid_t, gid_t>> server_user() {
  static const auto user = []() -> std::optional<std::pair<uid_t, gid_t>> {
    const passwd* pw = ::geteuid() == 0 ? ::getpwnam("postgres") : nullptr;
    if (pw == nullptr)
      return std::nullopt;
    return std::pair{pw->pw_uid, pw->pw_gid};
  }();
  return user;
}

// `argv` run as the server user; the process gets SIGKILL when the test
// process dies (setpriv execs it: same pid, so signals reach it directly).
std::vector<std::string> as_server_user(std::vector<std::string> argv) {
  std::vector<std::string> out{setpriv_binary};
  if (auto u = server_user())
    out.insert(out.end(), {"--reuid=" + std::to_string(u->first),
                           "--regid=" + std::to_string(u->second), "--init-groups"});
  out.insert(out.end(), {"--pdeathsig", "SIGKILL", "--"});
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

void give_to_server_user(const fs::path& path) {
  auto u = server_user();
  if (!u)
    return;
  (void)::lchown(path.c_str(), u->first, u->second);
  std::error_code ec;
  if (!fs::is_directory(path, ec))
    return;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it);
       it.increment(ec))
    (void)::lchown(it->path().c_str(), u->first, u->second);
}

// Running, not a zombie.
bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (pid <= 0 || !std::getline(stat, text))
    return false;
  auto close = text.rfind(") ");
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

std::vector<pid_t> children_of(pid_t parent) {
  std::ifstream in(fmt::format("/proc/{0}/task/{0}/children", parent));
  std::vector<pid_t> out;
  for (long pid = 0; in >> pid;)
    out.push_back(static_cast<pid_t>(pid));
  return out;
}

// `p` stopped (it cannot start another child while they are collected),
// with its children.
std::vector<pid_t> stopped_with_children(pid_t p) {
  ::kill(p, SIGSTOP);
  auto pids = children_of(p);
  pids.push_back(p);
  return pids;
}

bool all_gone(const std::vector<pid_t>& pids, std::chrono::milliseconds limit) {
  return wait_until(
      [&] {
        for (auto p : pids)
          if (alive(p))
            return false;
        return true;
      },
      limit);
}

// tmpfs when there is room: pg_rewind, initdb and checkpoints fsync, which
// costs seconds on a disk. Named after the process ("switchyard-pg-<pid>-"),
// so that the folders of a test process killed before its destructors ran
// are found and removed.
std::string make_dir(const std::string& what) {
  std::error_code ec;
  fs::path base = "/dev/shm";
  auto space = fs::space(base, ec);
  if (ec || space.available < (std::uintmax_t{1} << 30) || ::access(base.c_str(), W_OK) != 0)
    base = fs::temp_directory_path();
  const std::string prefix = "switchyard-pg-";
  for (const auto& entry : fs::directory_iterator(base, ec)) {
    auto name = entry.path().filename().string();
    auto pid = name.starts_with(prefix) ? std::atol(name.c_str() + prefix.size()) : 0;
    if (pid > 0 && pid != ::getpid() && !alive(static_cast<pid_t>(pid)))
      fs::remove_all(entry.path(), ec);
  }
  std::string pattern = (base / fmt::format("{}{}-{}-XXXXXX", prefix, ::getpid(), what)).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("pg_cluster: mkdtemp in " + base.string() + " failed");
  ::chmod(pattern.c_str(), 0755); // the server user must reach the data directories
  give_to_server_user(pattern);
  return pattern;
}

bool append(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::app);
  out << text;
  return static_cast<bool>(out);
}

// One initdb per test process (~0.5 s); every node of every cluster is a
// copy of it. Copies of one shut-down cluster share its system identifier
// and WAL: a copy with standby.signal streams from another at once, as if
// made by pg_basebackup, for the price of a file copy.
struct pg_template {
  std::string dir;   ///< its data directory
  std::string error; ///< why there is none
  pg_template() {
    try {
      root = make_dir("template");
    } catch (const std::exception& e) {
      error = e.what();
      return;
    }
    dir = root + "/data";
    auto log = root + "/initdb.log";
    child_process initdb(as_server_user({pg_cluster::bin_dir() + "/initdb", "-D", dir, "-U",
                                         "postgres", "-A", "trust", "-k", "--no-sync", "-E", "UTF8",
                                         "--locale=C", "--no-instructions"}),
                         log);
    auto status = initdb.wait_for_exit(std::chrono::seconds(60));
    if (status != 0) {
      error = fmt::format("initdb exited with {}: {}", status, read_file(log));
      return;
    }
    // Fast and disposable, but with what failover needs: streaming
    // replication, hot standby, and pg_rewind (checksums from -k, full page
    // writes, WAL kept). max_connections stays at initdb's value: a standby
    // refuses to run with less than its primary's. Dynamic shared memory in
    // the data directory: a killed server's segments go with the folder.
    const char* conf = R"(
listen_addresses = '127.0.0.1'
fsync = off
shared_buffers = 16MB
dynamic_shared_memory_type = mmap
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
wal_log_hints = on
wal_keep_size = 128MB
max_wal_size = 256MB
wal_retrieve_retry_interval = 100ms
wal_receiver_status_interval = 1s
autovacuum = off
jit = off
)";
    if (!append(dir + "/postgresql.conf", conf))
      error = "cannot write " + dir + "/postgresql.conf";
  }
  ~pg_template() {
    std::error_code ec;
    if (!root.empty())
      fs::remove_all(root, ec);
  }
  pg_template(const pg_template&) = delete;
  pg_template& operator=(const pg_template&) = delete;
  std::string root;
};

const pg_template& template_cluster() {
  static const pg_template t;
  return t;
}

} // namespace

pg_cluster::pg_cluster(pg_cluster_options options)
    : options_(std::move(options)), root_(make_dir("cluster")) {}

pg_cluster::~pg_cluster() {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto& n = nodes_[i];
    std::vector<pid_t> pids = n.orphans;
    for (auto p : {pid(i), n.process ? n.process->pid() : -1}) {
      if (p <= 0 || !alive(p))
        continue;
      auto all = stopped_with_children(p);
      pids.insert(pids.end(), all.begin(), all.end());
    }
    for (auto p : pids) {
      ::kill(p, SIGKILL);
      ::kill(p, SIGCONT);
    }
    (void)all_gone(pids, std::chrono::seconds(5));
    n.process.reset(); // reaps our own child
  }
  std::error_code ec;
  fs::remove_all(root_, ec);
}

std::string pg_cluster::address(std::size_t i) const {
  return fmt::format("127.0.0.1:{}", port(i));
}

std::string pg_cluster::configure(std::size_t i, std::size_t standbys) {
  const auto& n = nodes_[i];
  std::error_code ec;
  fs::copy(template_cluster().dir, n.dir, fs::copy_options::recursive, ec);
  if (ec)
    return fmt::format("cannot copy {} to {}: {}", template_cluster().dir, n.dir, ec.message());
  auto conf = fmt::format("port = {}\nunix_socket_directories = '{}'\n", n.port, root_);
  if (i == 0 && options_.synchronous && standbys > 0)
    conf += "synchronous_standby_names = 'ANY 1 (*)'\n";
  for (const auto& line : options_.extra_conf)
    conf += line + "\n";
  bool ok = append(n.dir + "/postgresql.conf", conf) && append(log_file(i), "");
  if (ok && i > 0) // what pg_basebackup -R writes
    ok = append(n.dir + "/standby.signal", "") &&
         append(n.dir + "/postgresql.auto.conf",
                fmt::format("primary_conninfo = 'host=127.0.0.1 port={} user=postgres "
                            "application_name={}'\n",
                            nodes_[0].port, name(i)));
  if (!ok)
    return "cannot write the configuration of " + n.dir;
  give_to_server_user(n.dir);
  give_to_server_user(log_file(i)); // pg_ctl -l appends to it as the server user
  return {};
}

std::string pg_cluster::start(std::size_t standbys, std::chrono::milliseconds limit) {
  if (!nodes_.empty())
    return "pg_cluster::start called twice";
  if (::access(setpriv_binary, X_OK) != 0 || ::access((bin_dir() + "/postgres").c_str(), X_OK) != 0)
    return fmt::format("{} or {}/postgres is missing: install util-linux and postgresql-15 "
                       "(scripts/install-deps.sh)",
                       setpriv_binary, bin_dir());
  if (::geteuid() == 0 && !server_user())
    return "running as root and there is no postgres user to run the servers as";
  if (!template_cluster().error.empty())
    return "pg_cluster: " + template_cluster().error;
  auto deadline = std::chrono::steady_clock::now() + limit;
  nodes_.resize(standbys + 1);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i].port = free_port();
    nodes_[i].dir = root_ + "/" + name(i);
  }
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (auto why = configure(i, standbys); !why.empty())
      return why;
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    launch(i);
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
  };
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (auto why = wait_ready(i, left()); !why.empty())
      return why;
  for (std::size_t i = 1; i < nodes_.size(); ++i)
    if (auto why = wait_until_streaming(i, port(0), left()); !why.empty())
      return why + "\n" + logs();
  return {};
}

void pg_cluster::launch(std::size_t i) {
  auto& n = nodes_[i];
  n.process = std::make_unique<child_process>(
      as_server_user({bin_dir() + "/postgres", "-D", n.dir}), log_file(i));
}

pid_t pg_cluster::pid(std::size_t i) const {
  const auto& n = nodes_.at(i);
  std::ifstream pidfile(n.dir + "/postmaster.pid");
  long from_file = 0;
  if (pidfile >> from_file && alive(static_cast<pid_t>(from_file)))
    return static_cast<pid_t>(from_file);
  // Started but not yet written its pid file, or one the rig started.
  if (n.process && n.process->running())
    return n.process->pid();
  return -1;
}

void pg_cluster::kill(std::size_t i, int sig) {
  auto p = pid(i);
  if (p <= 0)
    return;
  auto& n = nodes_[i];
  if (sig == SIGKILL) {
    auto kids = children_of(p);
    n.orphans.insert(n.orphans.end(), kids.begin(), kids.end());
  }
  ::kill(p, sig);
  if (sig == SIGKILL) {
    (void)all_gone({p}, std::chrono::seconds(5));
    if (n.process)
      (void)n.process->running(); // reaps it
  }
}

void pg_cluster::crash(std::size_t i) {
  auto p = pid(i);
  if (p <= 0)
    return;
  auto pids = stopped_with_children(p);
  for (auto c : pids)
    ::kill(c, SIGKILL);
  (void)all_gone(pids, std::chrono::seconds(5));
  if (auto& proc = nodes_[i].process)
    (void)proc->running();
}

std::string pg_cluster::stop(std::size_t i) {
  auto p = pid(i);
  if (p <= 0)
    return {};
  ::kill(p, SIGINT);
  if (!all_gone({p}, std::chrono::seconds(20)))
    return fmt::format("{} (pid {}) did not stop within 20 s:\n{}", name(i), p, log_tail(i));
  if (auto& proc = nodes_[i].process)
    (void)proc->running();
  return {};
}

std::string pg_cluster::start_again(std::size_t i, std::chrono::milliseconds limit) {
  auto& n = nodes_.at(i);
  if (running(i))
    return name(i) + " is running";
  // A new postmaster refuses while children of the old one hold its shared memory.
  (void)all_gone(n.orphans, std::chrono::seconds(5));
  n.orphans.clear();
  launch(i);
  return wait_ready(i, limit);
}

std::string pg_cluster::wait_ready(std::size_t i, std::chrono::milliseconds limit) const {
  std::string why = "not started";
  bool exited = false;
  bool ok = wait_until(
      [&] {
        if (exited)
          return true;
        if (query(i, "SELECT 1", &why, std::chrono::seconds(1)))
          return true;
        exited = nodes_[i].process && !nodes_[i].process->running();
        return false;
      },
      limit);
  if (ok && !exited)
    return {};
  return fmt::format("{} (port {}) {}: {}\n{}", name(i), port(i),
                     exited ? "exited" : "does not accept connections", why, log_tail(i));
}

std::optional<pg::result> pg_cluster::query(std::size_t i, const std::string& sql,
                                            std::string* error,
                                            std::chrono::milliseconds timeout) const {
  auto deadline = pg::clock::now() + timeout;
  std::string why;
  auto s = pg::session::connect("127.0.0.1", port(i), options(), deadline, why);
  std::optional<pg::result> out;
  if (s)
    out = s->query(sql, deadline, why);
  if (!out && error != nullptr)
    *error = why;
  return out;
}

std::string pg_cluster::value(std::size_t i, const std::string& sql) const {
  std::string error;
  auto r = query(i, sql, &error);
  if (!r)
    return "error: " + error;
  if (r->rows.empty() || r->rows[0].empty())
    return {};
  return r->rows[0][0].value_or("NULL");
}

std::string pg_cluster::wait_until_streaming(std::size_t i, std::uint16_t from_port,
                                             std::chrono::milliseconds limit) const {
  std::string seen;
  bool ok = wait_until(
      [&] {
        seen = value(i, "SELECT status || ' from port ' || sender_port FROM pg_stat_wal_receiver");
        return seen == fmt::format("streaming from port {}", from_port);
      },
      limit);
  if (ok)
    return {};
  return fmt::format("{} does not stream from port {} within {} ms (wal receiver: '{}')", name(i),
                     from_port, limit.count(), seen);
}

std::string pg_cluster::wait_until_replayed(std::size_t i, std::size_t primary,
                                            std::chrono::milliseconds limit) const {
  auto lsn = value(primary, "SELECT pg_current_wal_lsn()");
  if (lsn.starts_with("error"))
    return name(primary) + ": " + lsn;
  std::string seen;
  bool ok = wait_until(
      [&] {
        seen = value(i, "SELECT pg_last_wal_replay_lsn()");
        return value(i, fmt::format("SELECT pg_last_wal_replay_lsn() >= '{}'", lsn)) == "t";
      },
      limit);
  if (ok)
    return {};
  return fmt::format("{} replayed up to {}, not {} ({}), within {} ms", name(i), seen, lsn,
                     name(primary), limit.count());
}

std::string pg_cluster::log_tail(std::size_t i, std::size_t lines) const {
  auto text = read_file(log_file(i));
  std::size_t at = text.size();
  for (std::size_t n = 0; n <= lines && at != std::string::npos && at > 0; ++n)
    at = text.rfind('\n', at - 1);
  return at == std::string::npos ? text : text.substr(at + 1);
}

std::string pg_cluster::logs() const {
  std::string out;
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    out += fmt::format("-- {} (port {}, {}):\n{}", name(i), port(i),
                       running(i) ? "running" : "not running", log_tail(i));
  return out;
}

} // namespace switchyard::testing

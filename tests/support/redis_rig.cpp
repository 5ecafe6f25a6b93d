#include "tests/support/redis_rig.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include <fmt/format.h>

#include "strategies/actions/resp.hpp"
#include "strategies/actions/stream_socket.hpp"
#include "tests/support/haproxy_admin.hpp"
#include "tests/support/test_tokens.hpp"

namespace switchyard::testing {

using strategies::stream_socket;

namespace {

std::string flatten(const resp::reply& r) {
  if (r.items.empty())
    return r.text;
  std::string out;
  for (const auto& i : r.items)
    out += (out.empty() ? "" : "\n") + flatten(i);
  return out;
}

// One request/reply on an open connection before `deadline`.
std::optional<resp::reply> exchange(stream_socket& conn, const std::vector<std::string>& args,
                                    rig_clock::time_point deadline, std::string& error) {
  if (!conn.send_all(resp::encode(args), deadline, error))
    return std::nullopt;
  std::optional<resp::reply> out;
  std::string buffer;
  auto complete = [&out](const std::string& buf) {
    std::size_t pos = 0;
    out = buf.empty() ? std::nullopt : resp::parse(buf, pos);
    return out.has_value();
  };
  if (!conn.receive(buffer, complete, false, deadline, error))
    return std::nullopt;
  return out;
}

} // namespace

std::string redis_command(std::uint16_t port, const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout, std::string* error) {
  std::string why;
  auto deadline = rig_clock::now() + timeout;
  auto conn = stream_socket::connect(fmt::format("127.0.0.1:{}", port), deadline, why);
  std::optional<resp::reply> r;
  if (conn)
    r = exchange(*conn, args, deadline, why);
  if (r && r->is_error())
    why = r->text;
  if (error != nullptr)
    *error = why;
  return r && !r->is_error() ? flatten(*r) : std::string{};
}

redis_rig::redis_rig(redis_rig_options options) : options_(std::move(options)) {
  root = dir.path().string();
  std::vector<std::uint16_t> used;
  auto fresh = [&used] {
    while (true) {
      auto p = free_port();
      if (std::find(used.begin(), used.end(), p) == used.end()) {
        used.push_back(p);
        return p;
      }
    }
  };
  port_a = fresh();
  port_b = fresh();
  front_port = fresh();
  api_port = fresh();
  haproxy_socket = root + "/haproxy.sock";
}

redis_rig::~redis_rig() {
  // The daemon first, so it does not act on the servers going away.
  for (auto* p : {&daemon, &haproxy, &redis_a, &redis_b})
    if (*p) {
      (*p)->signal(SIGCONT); // a test may have stopped it
      (*p)->signal(SIGKILL);
      (*p)->wait_for_exit(5s);
    }
}

std::unique_ptr<child_process> redis_rig::start_redis(std::uint16_t port, std::uint16_t replica_of,
                                                      const std::string& name) {
  std::vector<std::string> argv{"/usr/bin/redis-server", "--port", std::to_string(port), "--bind",
                                "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", root,
                                // full syncs start at once instead of after 5 s
                                "--repl-diskless-sync-delay", "0"};
  if (replica_of != 0)
    argv.insert(argv.end(), {"--replicaof", "127.0.0.1", std::to_string(replica_of)});
  return std::make_unique<child_process>(argv, root + "/" + name + ".log");
}

void redis_rig::restart_a() {
  redis_a = start_redis(port_a, 0, "redis-a-restarted");
}

void redis_rig::write_configs() {
  std::ofstream cfg(root + "/haproxy.cfg");
  cfg << "global\n"
      << "  stats socket " << haproxy_socket << " level admin\n"
      << "  log stdout format raw local0\n"
      << "defaults\n"
      << "  mode tcp\n"
      // one line per connection once it is established: Tw/Tc/Tt, retries
      << "  log global\n  option tcplog\n  option logasap\n"
      << "  timeout connect 100ms\n"
      << "  timeout client 30s\n"
      << "  timeout server 30s\n";
  if (options_.haproxy_checks)
    cfg << "  retries 3\n  option redispatch\n";
  else // a refused connection is not retried against the same dead server
    cfg << "  retries 0\n";
  cfg << "frontend fe_redis\n"
      << "  bind 127.0.0.1:" << front_port << "\n"
      << "  default_backend be_redis\n"
      << "backend be_redis\n";
  std::string check;
  if (options_.haproxy_checks) {
    // The usual Redis role check: only the master passes.
    cfg << "  option tcp-check\n"
        << "  tcp-check connect\n"
        << "  tcp-check send PING\\r\\n\n  tcp-check expect string +PONG\n"
        << "  tcp-check send info\\ replication\\r\\n\n"
        << "  tcp-check expect string role:master\n"
        << "  tcp-check send QUIT\\r\\n\n  tcp-check expect string +OK\n";
    if (options_.abort_on_close)
      cfg << "  option abortonclose\n";
    check = " check inter 1s";
  }
  // Without checks, which server takes writes is switchyardd's decision alone.
  auto standby_off = !options_.haproxy_checks || options_.standby_in_maint;
  cfg << "  server redis-a 127.0.0.1:" << port_a << check << "\n"
      << "  server redis-b 127.0.0.1:" << port_b << check << (standby_off ? " disabled" : "")
      << "\n";
  cfg.close();
  write_test_tokens(root + "/tokens.yaml");
  auto haproxy_step = [&](const char* name, const std::string& state, const std::string& socket,
                          bool shutdown_sessions, const std::string& health) {
    return fmt::format("        - {{name: {}, type: haproxy, socket: {}, backend: be_redis, "
                       "state: {}{}{}, timeout: 500ms}}\n",
                       name, socket, state, shutdown_sessions ? ", shutdown_sessions: true" : "",
                       health.empty() ? "" : ", health: " + health);
  };
  auto fence_socket = options_.fence_socket.empty() ? haproxy_socket : options_.fence_socket;
  std::ofstream(root + "/switchyard.yaml")
      << "orchestrator:\n  data_dir: data\n  log_level: info\n"
      << fmt::format("api:\n  listen: 127.0.0.1:{}\n  tokens_file: tokens.yaml\n", api_port)
      << "services:\n"
      << "  - name: cache\n"
      << "    block_period: 60s\n"
      << "    objectives: {rto: 5s, rpo: 0s}\n"
      << fmt::format("    health_check: {{type: redis, interval: {}ms, timeout: 200ms, rise: 2, "
                     "fall: 2, fast_detection: {}}}\n",
                     options_.probe_interval.count(), options_.fast_detection ? "true" : "false")
      << "    instances:\n"
      << fmt::format("      - {{name: redis-a, address: 127.0.0.1:{}, site: dc1, role: primary, "
                     "priority: 100}}\n",
                     port_a)
      << fmt::format("      - {{name: redis-b, address: 127.0.0.1:{}, site: dc1, role: standby, "
                     "priority: 90}}\n",
                     port_b)
      << "    strategy:\n"
      << "      type: active_passive\n"
      << "      dead_when: " << options_.dead_when << "\n"
      << "      position: {name: offset, type: redis, operation: offset, timeout: 300ms}\n"
      << "      fence:\n"
      << haproxy_step("take-old-out", options_.fence_state, fence_socket,
                      options_.fence_shutdown_sessions, "")
      << "      promote:\n"
      << "        - {name: promote, type: redis, operation: promote, timeout: 1s}\n"
      << "      reroute:\n"
      << haproxy_step("send-writes-to-new", "ready", haproxy_socket, false, options_.reroute_health)
      << "      rejoin:\n"
      << "        - {name: follow-new-primary, type: redis, operation: follow, timeout: 2s}\n";
}

std::string redis_rig::start() {
  write_configs();
  redis_a = start_redis(port_a, 0, "redis-a");
  redis_b = start_redis(port_b, port_a, "redis-b");
  auto synced = wait_until(
      [&] {
        auto r = redis_command(port_b, {"ROLE"}, 200ms);
        return r.rfind("slave", 0) == 0 && r.find("connected") != std::string::npos;
      },
      10s);
  if (!synced)
    return "redis-b did not start replicating redis-a: " + read_file(root + "/redis-b.log");
  haproxy = std::make_unique<child_process>(
      std::vector<std::string>{"/usr/sbin/haproxy", "-f", root + "/haproxy.cfg", "-db"},
      root + "/haproxy.log");
  if (!wait_until([&] { return redis_command(front_port, {"PING"}, 200ms) == "PONG"; }, 10s))
    return "HAProxy does not pass PING to redis-a: " + read_file(root + "/haproxy.log");
  // An enabled standby starts up in HAProxy until its first role check fails:
  // until then it would be sent writes.
  auto op_state = [&](const std::string& server) {
    std::istringstream in(haproxy_server_state(server));
    std::vector<std::string> f{std::istream_iterator<std::string>(in), {}};
    return f.size() > 5 ? f[5] : std::string{}; // srv_op_state
  };
  if (options_.haproxy_checks && !options_.standby_in_maint &&
      !wait_until([&] { return op_state("redis-b") == "0"; }, 10s))
    return "HAProxy's role check does not take redis-b out: " + haproxy_server_state("redis-b");
  // $SWITCHYARDD: another daemon binary than the build's, e.g. a copy a
  // benchmark series pins so that a rebuild cannot change it midway.
  const char* binary = std::getenv("SWITCHYARDD");
  daemon = std::make_unique<child_process>(
      std::vector<std::string>{binary != nullptr && *binary != '\0' ? binary : SWITCHYARDD_PATH,
                               "--config", root + "/switchyard.yaml"},
      root + "/switchyardd.log");
  auto healthy = wait_until(
      [&] {
        auto log = daemon_log();
        return log.find("cache/redis-a: unknown -> healthy") != std::string::npos &&
               log.find("cache/redis-b: unknown -> healthy") != std::string::npos;
      },
      15s);
  if (!healthy)
    return "switchyardd did not see both healthy: " + daemon_log();
  return "";
}

std::string redis_rig::role(std::uint16_t port, std::chrono::milliseconds timeout) const {
  auto r = redis_command(port, {"ROLE"}, timeout);
  return r.substr(0, r.find('\n'));
}

std::string redis_rig::haproxy_api(const std::string& command) const {
  return haproxy_command(haproxy_socket, command, 1s);
}

std::string redis_rig::haproxy_server_state(const std::string& server) const {
  return haproxy_server_line(haproxy_socket, "be_redis", server);
}

std::string redis_rig::daemon_log() const {
  return read_file(root + "/switchyardd.log");
}

std::string redis_rig::db_path() const {
  return root + "/data/switchyard.db";
}

redis_writer::redis_writer(std::uint16_t port, std::chrono::milliseconds period,
                           std::chrono::milliseconds timeout)
    : port_(port), period_(period), timeout_(timeout), thread_([this] { run(); }) {}

redis_writer::~redis_writer() {
  stop();
}

void redis_writer::stop() {
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
}

void redis_writer::run() {
  std::unique_ptr<stream_socket> conn;
  long long n = 0;
  auto next = rig_clock::now();
  while (!stop_) {
    ++n;
    auto sent = rig_clock::now();
    auto deadline = sent + timeout_;
    std::string why;
    if (!conn)
      conn = stream_socket::connect(fmt::format("127.0.0.1:{}", port_), deadline, why);
    auto r = conn ? exchange(*conn, {"RPUSH", "writes", std::to_string(n)}, deadline, why)
                  : std::nullopt;
    if (r && r->type == ':') {
      std::lock_guard lock{mu_};
      acked_.push_back({n, rig_clock::now(), sent});
    } else {
      ++failures_;
      conn.reset(); // whatever went wrong, the next write starts on a fresh connection
    }
    next += period_;
    auto now = rig_clock::now();
    if (next > now)
      std::this_thread::sleep_until(next); // the client's own pace, not a synchronisation
    else
      next = now;
  }
}

std::vector<redis_writer::ack> redis_writer::acked() const {
  std::lock_guard lock{mu_};
  return acked_;
}

std::optional<rig_clock::time_point> redis_writer::first_ack_after(rig_clock::time_point t) const {
  std::lock_guard lock{mu_};
  for (const auto& a : acked_)
    if (a.at >= t)
      return a.at;
  return std::nullopt;
}

std::optional<rig_clock::time_point>
redis_writer::first_ack_sent_after(rig_clock::time_point t) const {
  std::lock_guard lock{mu_};
  for (const auto& a : acked_)
    if (a.sent >= t)
      return a.at;
  return std::nullopt;
}

role_sampler::role_sampler(std::vector<std::uint16_t> ports, std::chrono::milliseconds period)
    : ports_(std::move(ports)), period_(period), thread_([this] {
        while (!stop_) {
          int masters = 0;
          for (auto p : ports_)
            if (redis_command(p, {"ROLE"}, 50ms).rfind("master", 0) == 0)
              ++masters;
          ++samples_;
          if (masters > max_masters_)
            max_masters_ = masters;
          std::this_thread::sleep_for(period_);
        }
      }) {}

role_sampler::~role_sampler() {
  stop();
}

void role_sampler::stop() {
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
}

} // namespace switchyard::testing

#include "tests/support/redis_rig.hpp"

#include <algorithm>
#include <csignal>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "strategies/actions/resp.hpp"
#include "strategies/actions/stream_socket.hpp"
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
  std::ofstream(root + "/haproxy.cfg")
      << "global\n"
      << "  stats socket " << haproxy_socket << " level admin\n"
      << "defaults\n"
      << "  mode tcp\n"
      << "  timeout connect 100ms\n"
      << "  timeout client 30s\n"
      << "  timeout server 30s\n"
      // a refused connection is not retried against the same dead server
      << "  retries 0\n"
      << "frontend fe_redis\n"
      << "  bind 127.0.0.1:" << front_port << "\n"
      << "  default_backend be_redis\n"
      << "backend be_redis\n"
      // No HAProxy health checks: which server takes writes is switchyardd's decision.
      << "  server redis-a 127.0.0.1:" << port_a << "\n"
      << "  server redis-b 127.0.0.1:" << port_b << " disabled\n";
  write_test_tokens(root + "/tokens.yaml");
  auto haproxy_step = [&](const char* name, const std::string& state, const std::string& socket) {
    return fmt::format("        - {{name: {}, type: haproxy, socket: {}, backend: be_redis, "
                       "state: {}, timeout: 500ms}}\n",
                       name, socket, state);
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
      << haproxy_step("take-old-out", options_.fence_state, fence_socket) << "      promote:\n"
      << "        - {name: promote, type: redis, operation: promote, timeout: 1s}\n"
      << "      reroute:\n"
      << haproxy_step("send-writes-to-new", "ready", haproxy_socket) << "      rejoin:\n"
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
  daemon = std::make_unique<child_process>(
      std::vector<std::string>{SWITCHYARDD_PATH, "--config", root + "/switchyard.yaml"},
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

std::string redis_rig::haproxy_server_state(const std::string& server) const {
  std::string why;
  auto deadline = rig_clock::now() + 1s;
  auto conn = stream_socket::connect(haproxy_socket, deadline, why);
  if (!conn || !conn->send_all("show servers state be_redis\n", deadline, why))
    return "";
  std::string out;
  conn->receive(
      out, [](const std::string&) { return false; }, true, deadline, why);
  // Lines: be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ...
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (line.find(" " + server + " ") != std::string::npos)
      return line;
  return "";
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
    auto deadline = rig_clock::now() + timeout_;
    std::string why;
    if (!conn)
      conn = stream_socket::connect(fmt::format("127.0.0.1:{}", port_), deadline, why);
    auto r = conn ? exchange(*conn, {"RPUSH", "writes", std::to_string(n)}, deadline, why)
                  : std::nullopt;
    if (r && r->type == ':') {
      std::lock_guard lock{mu_};
      acked_.push_back({n, rig_clock::now()});
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

// Three switchyardd replicas on a real three-member etcd cluster, guarding the
// two demo_service instances of `deployment`. Each replica's actions append to
// a log of its own, which is how the tests tell who acted; /metrics says who
// may act. Variants: one replica "cut off" from web-a (its file has web-a on a
// dead port), and replicas reaching etcd through proxies a test can cut.
#pragma once

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/integration/cli_fixture.hpp"
#include "tests/support/etcd_cluster.hpp"
#include "tests/support/tcp_proxy.hpp"

namespace switchyard::testing {

struct replica {
  std::string name;
  std::string dir;
  std::string actions;
  std::uint16_t api = 0;
  std::uint16_t metrics = 0;
  std::unique_ptr<child_process> process;
  /// Its way to each etcd member, when the fixture cuts replicas off etcd.
  std::vector<std::unique_ptr<tcp_proxy>> to_etcd;
};

// A gauge of `body` (a /metrics answer), or -1 when it is absent.
inline double gauge(const std::string& body, const std::string& name) {
  std::smatch m;
  if (std::regex_search(body, m, std::regex("\n" + name + " ([-0-9.e+]+)")))
    return std::stod(m[1]);
  return -1;
}

class cluster_replicas : public cli_integration {
protected:
  void SetUp() override {
    cli_integration::SetUp();
    if (HasFatalFailure())
      return;
    ASSERT_EQ(etcd.start(), "");
    const char* names[] = {"sy-a", "sy-b", "sy-c"};
    for (const char* n : names) {
      replica r;
      r.name = n;
      r.dir = root + "/" + n;
      r.actions = root + "/actions-" + n + ".log";
      r.api = free_port();
      r.metrics = free_port();
      replicas.push_back(std::move(r));
    }
    std::string members;
    for (const auto& r : replicas)
      members += fmt::format("    - {{name: {}, api: 127.0.0.1:{}}}\n", r.name, r.api);
    for (auto& r : replicas) {
      std::filesystem::create_directories(r.dir);
      api_port = r.api;
      actions_log = r.actions;
      metrics_listen = "127.0.0.1:" + std::to_string(r.metrics);
      configure_replica(r);
      // A replica "cut off" from web-a: its file has web-a on a port nothing
      // listens on, so its probes are refused, as behind a firewall rule
      // (which would need root and a network namespace per replica).
      auto real_a = port_a;
      if (r.name == cut_off_from_a)
        port_a = free_port();
      write_config();
      port_a = real_a;
      std::filesystem::rename(root + "/switchyard.yaml", r.dir + "/switchyard.yaml");
      std::filesystem::copy_file(root + "/tokens.yaml", r.dir + "/tokens.yaml");
      // Through proxies of its own when a test cuts replicas off etcd.
      std::string endpoints = etcd.endpoints();
      if (proxied) {
        endpoints.clear();
        for (std::size_t m = 0; m < etcd.size(); ++m) {
          auto port = static_cast<std::uint16_t>(std::stoi(etcd.endpoint(m).substr(10)));
          r.to_etcd.push_back(std::make_unique<tcp_proxy>(port));
          endpoints += fmt::format("{}127.0.0.1:{}", m == 0 ? "" : ",", r.to_etcd.back()->port());
        }
      }
      std::ofstream out(r.dir + "/switchyard.yaml", std::ios::app);
      out << extra_yaml << "cluster:\n"
          << "  member: " << r.name << "\n"
          << "  members:\n"
          << members << "  endpoints: [" << endpoints << "]\n"
          << "  lease_ttl: 2s\n";
    }
  }

  /// A derived fixture's changes to the deployment before `r`'s file is
  /// written (actions_log and metrics_listen are already `r`'s), e.g.
  /// extra_services, which may name `r.actions`.
  virtual void configure_replica(replica& /*r*/) {}

  /// Starts `r`; with `fault_at`, armed to kill itself at that journal point
  /// (actors/fault_injection.hpp; the variable is only in its environment).
  void start(replica& r, const std::string& fault_at = {}) {
    if (!fault_at.empty())
      ::setenv("SWITCHYARD_FAULT_AT", fault_at.c_str(), 1);
    r.process = std::make_unique<child_process>(
        std::vector<std::string>{SWITCHYARDD_PATH, "--config", r.dir + "/switchyard.yaml"},
        r.dir + "/switchyardd.log");
    ::unsetenv("SWITCHYARD_FAULT_AT");
  }

  void start_all() {
    for (auto& r : replicas)
      start(r);
  }

  /// The replica's /metrics, "" when it does not answer.
  static std::string metrics_of(const replica& r) {
    if (!r.process)
      return {};
    auto answer = http_request("GET", r.metrics, "/metrics");
    return answer.rfind("200", 0) == 0 ? answer : std::string{};
  }

  /// The replicas that say they may act now; `skip` is not asked (a stopped
  /// process would hold each poll for the request's 2 s timeout).
  std::vector<replica*> acting(const replica* skip = nullptr) {
    std::vector<replica*> out;
    for (auto& r : replicas)
      if (&r != skip && gauge(metrics_of(r), "switchyard_cluster_may_act") == 1)
        out.push_back(&r);
    return out;
  }

  /// The one replica acting, once exactly one is and it is not `not_this`
  /// (nullptr after `limit`). `not_asked` (a stopped process) is not polled.
  replica* wait_for_leader(std::chrono::milliseconds limit, const replica* not_this = nullptr,
                           const replica* not_asked = nullptr) {
    replica* leader = nullptr;
    (void)wait_until(
        [&] {
          auto now = acting(not_asked);
          leader = now.size() == 1 && now.front() != not_this ? now.front() : nullptr;
          return leader != nullptr;
        },
        limit);
    return leader;
  }

  cli_result cli_at(const replica& r, std::vector<std::string> args,
                    const std::string& token = "viewer-token") {
    auto saved = api_port;
    api_port = r.api;
    auto out = cli(std::move(args), token);
    api_port = saved;
    return out;
  }

  /// `r` ran a failover of web to its end (its last step, verify, ran).
  bool failed_over_by(const replica& r) {
    return wait_until(
        [&] { return read_file(r.actions).find("verify verify-role") != std::string::npos; }, 20s);
  }

  /// Starts every replica; the leader once one leads and every replica
  /// follows it (all are up and campaigning), else nullptr.
  replica* start_all_and_elect() {
    start_all();
    auto* leader = wait_for_leader(30s);
    return leader != nullptr && all_follow(*leader) ? leader : nullptr;
  }

  /// Every running replica knows the current leader's epoch (within a bound):
  /// all of them are up and campaigning.
  bool all_follow(const replica& leader) {
    return wait_until(
        [&] {
          auto epoch = gauge(metrics_of(leader), "switchyard_cluster_epoch");
          for (const auto& r : replicas)
            if (r.process && gauge(metrics_of(r), "switchyard_cluster_epoch") != epoch)
              return false;
          return epoch > 0;
        },
        20s);
  }

  /// The replica sees both instances of web healthy (within a bound).
  bool both_healthy(const replica& r) {
    return wait_until(
        [&] {
          auto out = cli_at(r, {"services"});
          return out.exit_code == 0 && out.output.find("2/2 healthy") != std::string::npos;
        },
        15s);
  }

  static std::string tail(const std::string& file, std::size_t bytes = 3000) {
    auto text = read_file(file);
    return text.size() > bytes ? text.substr(text.size() - bytes) : text;
  }

  std::string logs() {
    std::string out;
    for (const auto& r : replicas)
      out += "--- " + r.name + "\n" + tail(r.dir + "/switchyardd.log", 20000);
    return out;
  }

  void TearDown() override {
    for (auto& r : replicas)
      if (r.process) {
        r.process->signal(SIGCONT);
        r.process->signal(SIGTERM);
        EXPECT_EQ(r.process->wait_for_exit(15s), 0)
            << r.name << ": " << tail(r.dir + "/switchyardd.log");
      }
  }

  etcd_cluster etcd;
  std::vector<replica> replicas;
  std::string cut_off_from_a; ///< the replica that cannot reach web-a, if any
  bool proxied = false;       ///< each replica reaches etcd through tcp_proxy
  std::string extra_yaml;     ///< top-level YAML before each file's `cluster:` (e.g. sites:)
};

class cluster_replicas_one_cut_off : public cluster_replicas {
protected:
  void SetUp() override {
    cut_off_from_a = "sy-c";
    cluster_replicas::SetUp();
  }
};

} // namespace switchyard::testing

// Service backups in a cluster (replicas_fixture.hpp): the leader takes and
// verifies them and writes each to etcd; every replica merges them into its
// catalog, so after the leader is killed the next one lists them (with the
// replica that took them) and restores from them.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "tests/integration/replicas_fixture.hpp"

namespace switchyard::testing {
namespace {

class cluster_backups : public cluster_replicas {
protected:
  void configure_replica(replica&) override {
    std::filesystem::create_directories(root + "/files-src");
    std::ofstream(root + "/files-src/data.txt") << "the data";
    extra_yaml = fmt::format("backups:\n"
                             "  policies:\n"
                             "    - name: shared\n"
                             "      tiers:\n"
                             "        - {{name: nas, destination: {{path: {}/nas}}, every: 1h}}\n",
                             root);
    extra_services = fmt::format(
        "  - name: files\n"
        "    health_check: {{type: tcp, interval: 300ms, timeout: 200ms}}\n"
        "    backup: {{policy: shared, source: exec, command: 'cp {}/files-src/data.txt "
        "{{output}}'}}\n"
        "    instances:\n"
        // Instances that only need to listen: two replicas' API ports (the
        // demo services answer one connection at a time: a held probe
        // connection would starve web's checks).
        "      - {{name: files-a, address: 127.0.0.1:{}, role: primary}}\n"
        "      - {{name: files-b, address: 127.0.0.1:{}, role: standby}}\n"
        "    strategy:\n      type: active_passive\n"
        "      promote:\n        - {{name: promote, type: exec, command: 'true'}}\n",
        root, replicas[1].api, replicas[2].api);
  }

  // The backups of `files` as `r` lists them (JSON rows).
  nlohmann::json backups_at(const replica& r) {
    auto out = cli_at(r, {"--output", "json", "backup", "list", "files"});
    auto j = nlohmann::json::parse(out.output, nullptr, false);
    return j.is_discarded() ? nlohmann::json::array() : j.value("backups", nlohmann::json::array());
  }
};

TEST_F(cluster_backups, the_next_leader_lists_and_restores_what_the_last_one_took) {
  auto* leader = start_all_and_elect();
  ASSERT_NE(leader, nullptr) << logs();
  // Taken at start by the leader, then verified; on every replica's list.
  std::string artifact;
  for (auto& r : replicas)
    ASSERT_TRUE(wait_until(
        [&] {
          for (const auto& b : backups_at(r))
            if (b.value("status", "") == "complete" &&
                std::stoll(b.value("verified_ms", std::string{"0"})) > 0) {
              artifact = b.value("artifact", "");
              return true;
            }
          return false;
        },
        30s))
        << r.name << " does not list the leader's verified backup\n"
        << logs();
  EXPECT_NE(artifact.find(leader->name + "-"), std::string::npos)
      << "named after the replica that took it: " << artifact;

  leader->process->signal(SIGKILL);
  ASSERT_EQ(leader->process->wait_for_exit(10s), 128 + SIGKILL);
  leader->process.reset();
  auto* next = wait_for_leader(20s, leader);
  ASSERT_NE(next, nullptr) << logs();
  auto restored = root + "/restored.txt";
  auto r = cli_at(*next, {"backup", "restore", "files", "--to", restored}, "operator-token");
  ASSERT_EQ(r.exit_code, 0) << r.output << logs();
  EXPECT_EQ(read_file(restored), "the data");
  EXPECT_NE(r.output.find("tier nas"), std::string::npos) << r.output;
}

} // namespace
} // namespace switchyard::testing

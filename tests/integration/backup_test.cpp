// Backups end to end: a real switchyardd backing up a real Redis (primary and
// replica) to two directory tiers and its own state to a third, driven by the
// real CLI: scheduled backups and verification, restore by tier preference
// compared key by key, a corrupt artifact found and passed over, the state
// rebuilt offline, kill -9 in the middle of a backup.
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/mount.h>

#include "tests/support/process.hpp"
#include "tests/support/redis_rig.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_tokens.hpp"

using namespace switchyard::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct cli_out {
  int code = -1;
  std::string text;
};

class backups_e2e : public ::testing::Test {
protected:
  void SetUp() override {
    root = dir.path().string();
    port_a = free_port();
    port_b = free_port();
    api_port = free_port();
    redis_a = start_redis(port_a, 0, "redis-a");
    ASSERT_TRUE(wait_until([&] { return redis_command(port_a, {"PING"}, 200ms) == "PONG"; }, 10s));
    redis_b = start_redis(port_b, port_a, "redis-b");
    // Data the backups must carry: strings, a hash, a list.
    for (int i = 0; i < 300; ++i)
      redis_command(port_a, {"SET", fmt::format("key:{}", i), fmt::format("value-{}-{}", i, i * 7)},
                    1s);
    redis_command(port_a, {"HSET", "h", "f1", "v1", "f2", "v2"}, 1s);
    redis_command(port_a, {"RPUSH", "l", "a", "b", "c"}, 1s);
    ASSERT_TRUE(wait_until([&] { return redis_command(port_b, {"DBSIZE"}, 200ms) == "302"; }, 10s))
        << "redis-b did not replicate";
    fs::create_directories(root + "/files-src/sub");
    for (int i = 0; i < 20; ++i)
      std::ofstream(fmt::format("{}/files-src/sub/f{}.txt", root, i)) << "content " << i;
    write_test_tokens(root + "/tokens.yaml");
  }

  void TearDown() override {
    if (daemon) {
      daemon->signal(SIGTERM);
      daemon->wait_for_exit(15s);
    }
  }

  std::unique_ptr<child_process> start_redis(std::uint16_t port, std::uint16_t replica_of,
                                             const std::string& name) {
    std::vector<std::string> argv{"/usr/bin/redis-server",
                                  "--port",
                                  std::to_string(port),
                                  "--bind",
                                  "127.0.0.1",
                                  "--save",
                                  "",
                                  "--appendonly",
                                  "no",
                                  "--dir",
                                  root,
                                  "--dbfilename",
                                  name + ".rdb",
                                  "--repl-diskless-sync-delay",
                                  "0"};
    if (replica_of != 0)
      argv.insert(argv.end(), {"--replicaof", "127.0.0.1", std::to_string(replica_of)});
    return std::make_unique<child_process>(argv, root + "/" + name + ".log");
  }

  void write_config(const std::string& files_command = "cp -a {src}/. {output}/") {
    auto command = files_command;
    command.replace(command.find("{src}"), 5, root + "/files-src");
    std::ofstream(root + "/switchyard.yaml")
        << "orchestrator:\n  data_dir: data\n  log_level: info\n"
        << fmt::format("api:\n  listen: 127.0.0.1:{}\n  tokens_file: tokens.yaml\n", api_port)
        << "backups:\n"
        << "  state: {policy: own}\n"
        << "  policies:\n"
        << "    - name: standard\n"
        << "      tiers:\n"
        << "        - {name: local, destination: {path: tier-local}, site: dc1, every: 1h, "
           "full_every: 3}\n"
        << "        - {name: remote, destination: {path: tier-remote}, site: dc2, medium: "
           "object-store, every: 1h, full_every: 3}\n"
        << extra_tiers << "    - name: own\n"
        << "      tiers:\n"
        << "        - {name: local, destination: {path: tier-state}, site: dc1, every: 1h, "
           "full_every: 10}\n"
        << "services:\n"
        << "  - name: cache\n"
        << "    objectives: {rto: 5s, rpo: 1h}\n"
        << "    health_check: {type: redis, interval: 300ms, timeout: 200ms, rise: 1, fall: 2}\n"
        << "    backup: {policy: standard, source: redis, timeout: 30s}\n"
        << "    instances:\n"
        << fmt::format("      - {{name: cache-a, address: 127.0.0.1:{}, site: dc1, role: "
                       "primary}}\n",
                       port_a)
        << fmt::format("      - {{name: cache-b, address: 127.0.0.1:{}, site: {}, role: "
                       "standby}}\n",
                       port_b, standby_site)
        << "    strategy:\n      type: active_passive\n"
        << "      promote:\n        - {name: promote, type: exec, command: 'true'}\n"
        << "  - name: files\n"
        << "    health_check: {type: tcp, interval: 300ms, timeout: 200ms}\n"
        << "    backup: {policy: standard, source: exec, directory: true, command: \"" << command
        << "\", timeout: 30s}\n"
        << "    instances:\n"
        << fmt::format("      - {{name: files-a, address: 127.0.0.1:{}, site: dc1, role: "
                       "primary}}\n",
                       port_a)
        << fmt::format("      - {{name: files-b, address: 127.0.0.1:{}, site: {}, role: "
                       "standby}}\n",
                       port_b, standby_site)
        << "    strategy:\n      type: active_passive\n"
        << "      promote:\n        - {name: promote, type: exec, command: 'true'}\n";
  }

  void start_daemon() {
    daemon = std::make_unique<child_process>(
        std::vector<std::string>{SWITCHYARDD_PATH, "--config", root + "/switchyard.yaml"},
        root + "/switchyardd.log");
  }

  cli_out cli(std::vector<std::string> args, const std::string& token = "operator-token") {
    std::vector<std::string> argv{SWITCHYARD_CLI_PATH, "--server",
                                  fmt::format("127.0.0.1:{}", api_port), "--token", token};
    argv.insert(argv.end(), args.begin(), args.end());
    auto log = fmt::format("{}/cli-{}.out", root, ++calls);
    child_process p(argv, log);
    cli_out r;
    r.code = p.wait_for_exit(60s);
    r.text = read_file(log);
    return r;
  }

  nlohmann::json backups(const std::string& service) {
    auto r = cli({"--output", "json", "backup", "list", service}, "viewer-token");
    auto j = nlohmann::json::parse(r.text, nullptr, false);
    return j.is_discarded() ? nlohmann::json::object()
                            : j.value("backups", nlohmann::json::array());
  }

  // Polls until `service` has a verified complete backup in each of `tiers`.
  bool verified_in(const std::string& service, std::vector<std::string> tiers) {
    return wait_until(
        [&] {
          auto list = backups(service);
          for (const auto& t : tiers) {
            bool found = false;
            for (const auto& b : list)
              found = found || (b.value("tier", "") == t && b.value("status", "") == "complete" &&
                                std::stoll(b.value("verified_ms", std::string{"0"})) > 0);
            if (!found)
              return false;
          }
          return true;
        },
        60s);
  }

  std::string log() { return read_file(root + "/switchyardd.log"); }

  // Whether a backup of `service` has `text` in its field `field`.
  bool has_backup(const std::string& service, const char* field, const std::string& text) {
    for (const auto& b : backups(service))
      if (b.value(field, std::string{}).find(text) != std::string::npos)
        return true;
    return false;
  }

  temp_dir dir;
  std::string root;
  std::string extra_tiers;          ///< YAML appended to policy standard's tiers
  std::string standby_site = "dc1"; ///< the standbys' site (a drill needs another one)
  std::uint16_t port_a = 0, port_b = 0, api_port = 0;
  std::unique_ptr<child_process> redis_a, redis_b, daemon;
  int calls = 0;
};

} // namespace

TEST_F(backups_e2e, redis_backups_are_taken_from_the_replica_verified_and_restored_key_by_key) {
  write_config();
  start_daemon();
  // At start every tier is due: both are taken, then verified, unasked.
  ASSERT_TRUE(verified_in("cache", {"local", "remote"})) << log();
  auto list = backups("cache");
  for (const auto& b : list) {
    EXPECT_EQ(b.value("kind", ""), "full") << "an RDB is always a full backup";
    EXPECT_NE(b.value("source", "").find("cache-b"), std::string::npos)
        << "taken from the healthy replica, not the primary: " << b.dump();
    EXPECT_EQ(b.value("sha256", "").size(), 64u);
  }
  auto compliance = cli({"backup", "compliance", "cache"}, "viewer-token");
  ASSERT_EQ(compliance.code, 0) << compliance.text;
  EXPECT_NE(compliance.text.find("2 verified copies, 3 needed"), std::string::npos)
      << compliance.text;

  auto restored = root + "/restored";
  auto r = cli({"backup", "restore", "cache", "--prefer", "remote,local", "--to", restored});
  ASSERT_EQ(r.code, 0) << r.text << log();
  EXPECT_NE(r.text.find("tier remote"), std::string::npos) << r.text;
  // A redis-server on the restored file holds every key as the primary does.
  auto port = free_port();
  child_process check({"/usr/bin/redis-server", "--port", std::to_string(port), "--bind",
                       "127.0.0.1", "--save", "", "--dir", restored, "--dbfilename", "dump.rdb"},
                      root + "/check.log");
  ASSERT_TRUE(wait_until([&] { return redis_command(port, {"PING"}, 200ms) == "PONG"; }, 10s));
  EXPECT_EQ(redis_command(port, {"DBSIZE"}, 1s), "302");
  for (int i = 0; i < 300; ++i) {
    auto key = fmt::format("key:{}", i);
    ASSERT_EQ(redis_command(port, {"GET", key}, 1s), redis_command(port_a, {"GET", key}, 1s));
  }
  EXPECT_EQ(redis_command(port, {"HGET", "h", "f2"}, 1s), "v2");
  EXPECT_EQ(redis_command(port, {"LINDEX", "l", "2"}, 1s), "c");

  auto again = cli({"backup", "restore", "cache", "--to", restored});
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.text.find("exists and is not empty"), std::string::npos) << again.text;
  check.signal(SIGTERM);
  check.wait_for_exit(5s);
  auto forced = cli({"backup", "restore", "cache", "--to", restored, "--force", "--yes"});
  ASSERT_EQ(forced.code, 0) << forced.text;
  bool kept = false;
  for (const auto& e : fs::directory_iterator(root))
    kept = kept || (e.path().filename().string().rfind("restored.before-restore-", 0) == 0 &&
                    fs::exists(e.path() / "dump.rdb"));
  EXPECT_TRUE(kept) << "what was there is kept, renamed";
  // The primary's data folder (its CONFIG GET dir) is refused, --force or not.
  auto over_primary = cli({"backup", "restore", "cache", "--to", root, "--force", "--yes"});
  EXPECT_NE(over_primary.code, 0);
  EXPECT_NE(over_primary.text.find("is the data folder of cache-a, which is running"),
            std::string::npos)
      << over_primary.text;
  auto viewer = cli({"backup", "create", "cache"}, "viewer-token");
  EXPECT_NE(viewer.code, 0) << "a viewer may not take backups";
  auto audit = cli({"audit"}, "admin-token");
  EXPECT_NE(audit.text.find("RestoreBackup"), std::string::npos) << audit.text;
  EXPECT_NE(audit.text.find("\"force\":true"), std::string::npos)
      << "the forced restore is audited: " << audit.text;
}

TEST_F(backups_e2e, a_corrupt_artifact_fails_verification_and_restore_uses_another_tier) {
  write_config();
  start_daemon();
  ASSERT_TRUE(verified_in("cache", {"local", "remote"})) << log();
  std::string artifact;
  std::int64_t id = 0;
  for (const auto& b : backups("cache"))
    if (b.value("tier", "") == "local") {
      artifact = root + "/tier-local/" + b.value("artifact", "");
      id = std::stoll(b.value("id", std::string{"0"}));
    }
  ASSERT_TRUE(fs::exists(artifact)) << artifact;
  {
    std::fstream f(artifact, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(artifact) / 2));
    f.put('\x5a');
  }
  auto v = cli({"backup", "verify", std::to_string(id)});
  EXPECT_NE(v.code, 0) << v.text;
  EXPECT_NE(v.text.find(fmt::format("#{}", id)), std::string::npos) << v.text;
  EXPECT_NE(v.text.find("SHA-256"), std::string::npos) << v.text;
  bool corrupt = false;
  for (const auto& b : backups("cache"))
    corrupt =
        corrupt || (b.value("id", "") == std::to_string(id) && b.value("status", "") == "corrupt");
  EXPECT_TRUE(corrupt) << "the catalog marks it corrupt";

  auto r =
      cli({"backup", "restore", "cache", "--prefer", "local,remote", "--to", root + "/restored"});
  ASSERT_EQ(r.code, 0) << r.text << log();
  EXPECT_NE(r.text.find("tier remote"), std::string::npos) << r.text;
}

TEST_F(backups_e2e, a_folder_is_backed_up_incrementally_and_restored_whole) {
  write_config();
  start_daemon();
  ASSERT_TRUE(verified_in("files", {"local"})) << log();
  std::ofstream(root + "/files-src/sub/f3.txt", std::ios::trunc) << "changed";
  fs::remove(root + "/files-src/sub/f4.txt");
  auto r = cli({"backup", "create", "files", "--tier", "local"});
  ASSERT_EQ(r.code, 0) << r.text << log();
  EXPECT_NE(r.text.find("incr on #"), std::string::npos) << r.text;
  auto restored = root + "/files-restored";
  auto rr = cli({"backup", "restore", "files", "--prefer", "local", "--to", restored});
  ASSERT_EQ(rr.code, 0) << rr.text << log();
  EXPECT_EQ(read_file(restored + "/sub/f3.txt"), "changed");
  EXPECT_FALSE(fs::exists(restored + "/sub/f4.txt")) << "deleted since the full backup";
  EXPECT_EQ(read_file(restored + "/sub/f7.txt"), "content 7");
}

TEST_F(backups_e2e, the_state_is_rebuilt_offline_from_a_full_copy_and_its_changesets) {
  write_config();
  start_daemon();
  ASSERT_TRUE(verified_in("@switchyard", {"local"})) << log();
  // Rows written after the full copy: audited calls.
  ASSERT_EQ(cli({"maintenance", "on", "cache", "--reason", "after the full copy", "--yes"}).code,
            0);
  auto inc = cli({"backup", "create", "@switchyard"});
  ASSERT_EQ(inc.code, 0) << inc.text << log();
  EXPECT_NE(inc.text.find("incr on #"), std::string::npos) << inc.text;
  daemon->signal(SIGTERM);
  ASSERT_EQ(daemon->wait_for_exit(15s), 0);
  daemon.reset();
  fs::rename(root + "/data", root + "/data-lost");
  fs::create_directories(root + "/data");
  child_process restore({SWITCHYARDD_PATH, "--config", root + "/switchyard.yaml", "--restore-state",
                         "--from", root + "/tier-state"},
                        root + "/restore.log");
  ASSERT_EQ(restore.wait_for_exit(30s), 0) << read_file(root + "/restore.log");
  EXPECT_NE(read_file(root + "/restore.log").find("integrity_check: ok"), std::string::npos)
      << read_file(root + "/restore.log");
  start_daemon();
  ASSERT_TRUE(wait_until([&] { return cli({"audit"}, "admin-token").code == 0; }, 15s)) << log();
  auto audit = cli({"audit"}, "admin-token");
  EXPECT_NE(audit.text.find("after the full copy"), std::string::npos)
      << "the maintenance call came back from the changeset: " << audit.text;
}

TEST_F(backups_e2e, kill_9_during_a_backup_leaves_it_failed_and_nothing_restorable) {
  // A folder copy that takes a while: long enough to be killed in the middle.
  write_config("sleep 3 && cp -a {src}/. {output}/");
  start_daemon();
  ASSERT_TRUE(wait_until([&] { return has_backup("files", "status", "running"); }, 20s)) << log();
  daemon->signal(SIGKILL);
  daemon->wait_for_exit(5s);
  daemon.reset();
  write_config(); // a quick command from now on
  start_daemon();
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& b : backups("files"))
          if (b.value("status", "") == "failed" &&
              b.value("error", "").find("interrupted") != std::string::npos)
            return true;
        return false;
      },
      20s))
      << log();
  // Every artifact at the destinations belongs to a complete backup.
  std::set<std::string> complete;
  for (const auto& b : backups("files"))
    if (b.value("status", "") == "complete")
      complete.insert(b.value("artifact", ""));
  for (const auto* tier : {"tier-local", "tier-remote"})
    if (fs::exists(root + "/" + tier))
      for (const auto& e :
           fs::recursive_directory_iterator(root + "/" + tier, fs::directory_options::none)) {
        if (e.is_regular_file() && e.path().string().find("/files/") != std::string::npos &&
            e.path().extension() == ".zst") {
          EXPECT_TRUE(complete.count(fs::relative(e.path(), root + "/" + tier).string()) > 0)
              << e.path() << " is at a destination but no complete backup names it";
        }
      }
}

TEST_F(backups_e2e, a_full_destination_fails_its_tier_and_the_other_tiers_proceed) {
  fs::create_directories(root + "/tier-tiny");
  // A 16 KB tmpfs: the RDB with a 200 KB random value (about 100 KB compressed) does not fit.
  if (::mount("tmpfs", (root + "/tier-tiny").c_str(), "tmpfs", 0, "size=16k") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
  struct unmount {
    std::string path;
    ~unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } cleanup{root + "/tier-tiny"};
  std::string big;
  std::mt19937 rng{3};
  for (int i = 0; i < 200'000; ++i)
    big += "0123456789abcdef"[rng() % 16];
  redis_command(port_a, {"SET", "big", big}, 2s);
  ASSERT_TRUE(wait_until([&] { return redis_command(port_b, {"DBSIZE"}, 200ms) == "303"; }, 10s));
  extra_tiers = "        - {name: tiny, destination: {path: tier-tiny}, site: dc3, every: 1h}\n";
  write_config();
  start_daemon();
  ASSERT_TRUE(verified_in("cache", {"local", "remote"})) << log();
  std::string error;
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& b : backups("cache"))
          if (b.value("tier", "") == "tiny" && b.value("status", "") == "failed")
            error = b.value("error", "");
        return !error.empty();
      },
      20s))
      << log();
  EXPECT_NE(error.find("No space left on device"), std::string::npos) << error;
  // The folder service's small backup fits; of the cache's nothing is left, not even partly.
  if (fs::exists(root + "/tier-tiny/cache")) {
    for (const auto& e : fs::recursive_directory_iterator(root + "/tier-tiny/cache"))
      EXPECT_FALSE(e.is_regular_file()) << e.path() << ": nothing partial is left behind";
  }
}

TEST_F(backups_e2e, a_drill_reports_each_moved_services_backups_and_test_restores_them) {
  standby_site = "dc2";
  write_config();
  start_daemon();
  ASSERT_TRUE(verified_in("cache", {"local", "remote"})) << log();
  ASSERT_TRUE(verified_in("files", {"local", "remote"})) << log();
  auto drill = cli({"drill", "--site", "dc2", "--restore-backups", "--yes", "--wait", "120"});
  ASSERT_EQ(drill.code, 0) << drill.text << log();
  auto list = cli({"drill", "list"}, "viewer-token");
  auto report = cli({"drill", "report", "1", "--format", "markdown"}, "viewer-token");
  ASSERT_EQ(report.code, 0) << report.text;
  for (const char* part :
       {"backups", "newest verified backup", "backup restore",
        "test restore into a scratch redis-server: 302 keys", "test restore: 20 files"})
    EXPECT_NE(report.text.find(part), std::string::npos) << "missing: " << part << "\n"
                                                         << report.text;
}

TEST_F(backups_e2e, a_stop_does_not_wait_for_a_backup_in_the_middle_of_its_io) {
  write_config("sleep 60 && cp -a {src}/. {output}/");
  start_daemon();
  ASSERT_TRUE(wait_until([&] { return has_backup("files", "status", "running"); }, 20s)) << log();
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait_for_exit(10s), 0) << "a 60 s backup command held the stop: " << log();
  EXPECT_NE(log().find("backup job(s) abandoned"), std::string::npos) << log();
  daemon.reset();
  // Its command went with it.
  EXPECT_TRUE(wait_until(
      [&] { return std::system("pgrep -f '[s]leep 60 && cp -a' > /dev/null") != 0; }, 5s))
      << "the backup command outlived switchyardd";
  write_config();
  start_daemon();
  ASSERT_TRUE(wait_until([&] { return has_backup("files", "error", "interrupted"); }, 20s))
      << log();
}

// Backup and restore throughput of Switchyard's building blocks, side by side
// with the command-line tools an operator would use, in the same run on the
// same files (docs/benchmarks.md#backups):
//   redis:  fetch_rdb + pack (zstd) + put (directory)  vs  redis-cli --rdb + zstd + cp
//           and back: get + unpack                      vs  cp + zstd -d
//   folder: archive (SHA-256 manifest) + pack + put      vs  tar | zstd, cp
//           an incremental after 1 % of the files changed: its size vs the full's
//   state:  a switchyardd database with N journal rows: full (snapshot + online
//           backup API + pack) and incremental (changeset of 1 % more rows + pack)
// Usage: backup_bench [--mb 1024] [--rows 100000] [--dir /tmp]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include <unistd.h>

#include <fmt/format.h>
#include <sqlite3.h>

#include "backups/artifact.hpp"
#include "backups/backup_jobs.hpp"
#include "backups/backup_source.hpp"
#include "backups/destination.hpp"
#include "backups/directory_archive.hpp"
#include "backups/redis_source.hpp"
#include "backups/sqlite_state.hpp"
#include "messages/error.hpp"
#include "persistence/sqlite_store.hpp"
#include "tests/support/process.hpp"

using namespace switchyard;
using namespace switchyard::backups;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

double mb(std::uint64_t bytes) {
  return static_cast<double>(bytes) / 1e6;
}

// Runs a shell command; its wall time in seconds (exits on failure).
double timed_shell(const std::string& command) {
  auto t = clock_type::now();
  if (std::system(command.c_str()) != 0) {
    fmt::print(stderr, "backup_bench: failed: {}\n", command);
    std::exit(1);
  }
  return seconds_since(t);
}

template <class T> T must(caf::expected<T> x, const char* what) {
  if (!x) {
    fmt::print(stderr, "backup_bench: {}: {}\n", what, describe(x.error()));
    std::exit(1);
  }
  return std::move(*x);
}

void must_ok(caf::expected<void> x, const char* what) {
  if (!x) {
    fmt::print(stderr, "backup_bench: {}: {}\n", what, describe(x.error()));
    std::exit(1);
  }
}

// Text of 64 symbols, random: compresses to about 75 %, like much real data.
std::string payload(std::mt19937_64& rng, std::size_t n) {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
  std::string s(n, ' ');
  for (auto& c : s)
    c = alphabet[rng() & 63];
  return s;
}

// One figure, and its RESULT line for scripts/bench.sh.
void row(const char* key, const std::string& what, std::uint64_t raw, std::uint64_t stored,
         double secs) {
  fmt::print("{:<58} {:>9.1f} MB -> {:>8.1f} MB  {:>7.2f} s  {:>7.1f} MB/s\n", what, mb(raw),
             mb(stored), secs, secs > 0 ? mb(raw) / secs : 0.0);
  fmt::print("RESULT {}_seconds {:.3f} s\n", key, secs);
}

backup_record record(const std::string& service, std::int64_t id, const std::string& artifact,
                     const std::string& sha256) {
  backup_record b;
  b.id = id;
  b.service = service;
  b.tier = "local";
  b.artifact = artifact;
  b.sha256 = sha256;
  b.status = backup_status::complete;
  return b;
}

std::vector<std::string> fetch(destination& dest, const std::vector<backup_record>& chain,
                               const std::string& dir) {
  std::int64_t failed = 0;
  return must(fetch_chain(dest, chain, dir, failed), "fetch_chain");
}

void bench_redis(const std::string& root, std::size_t megabytes) {
  auto port = testing::free_port();
  testing::child_process redis({"/usr/bin/redis-server", "--port", std::to_string(port), "--bind",
                                "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", root,
                                "--dbfilename", "source.rdb",
                                // A SYNC waits this long for more replicas (default 5 s);
                                // measured apart: the transfer itself, not the wait.
                                "--repl-diskless-sync-delay", "0"},
                               root + "/redis.log");
  auto address = fmt::format("127.0.0.1:{}", port);
  if (!testing::wait_until([&] { return static_cast<bool>(key_count(address, 1s)); }, 10s)) {
    fmt::print(stderr, "backup_bench: redis-server did not start\n");
    std::exit(1);
  }
  // Loaded with redis-cli --pipe: 1 KB values.
  {
    std::mt19937_64 rng{42};
    std::ofstream cmds(root + "/load.txt");
    for (std::size_t i = 0; i < megabytes * 1000; ++i) {
      auto key = fmt::format("key:{}", i);
      auto value = payload(rng, 1000);
      cmds << fmt::format("*3\r\n$3\r\nSET\r\n${}\r\n{}\r\n${}\r\n{}\r\n", key.size(), key,
                          value.size(), value);
    }
  }
  timed_shell(fmt::format("redis-cli -p {} --pipe < {}/load.txt > /dev/null", port, root));
  fs::remove(root + "/load.txt");
  fmt::print("redis: {} keys of 1 KB\n", must(key_count(address, 10s), "key count"));

  auto dest = make_destination({root + "/dest", "", "", "", 600'000ms});
  auto t = clock_type::now();
  auto dump = must(fetch_rdb(address, root + "/fetched.rdb", 600'000ms), "fetch_rdb");
  auto packed = must(pack_file(root + "/fetched.rdb", root + "/rdb.zst", 3), "pack");
  must_ok(dest->put(root + "/rdb.zst", "cache/local/1-full.rdb.zst"), "put");
  row("redis_backup", "switchyard: fetch RDB + zstd -3 + store", dump.bytes, packed.stored_bytes,
      seconds_since(t));
  // The restore a job runs: fetch_chain (in place for a directory), then the source's restore.
  t = clock_type::now();
  auto rec = record("cache", 1, "cache/local/1-full.rdb.zst", packed.sha256);
  auto raw = fetch(*dest, {rec}, root + "/fetch");
  must(make_redis_source({}, 60s)->restore(raw, root + "/restored"), "restore");
  row("redis_restore", "switchyard: restore (check + unzstd + place)", dump.bytes,
      packed.stored_bytes, seconds_since(t));
  fs::remove_all(root + "/fetch");
  fs::remove_all(root + "/restored");
  for (const auto* f : {"/fetched.rdb", "/rdb.zst", "/got.zst", "/restored.rdb"})
    fs::remove(root + f);

  auto cli = timed_shell(fmt::format(
      "redis-cli -p {0} --rdb {1}/cli.rdb > /dev/null 2>&1 && zstd -3 -q -f {1}/cli.rdb -o "
      "{1}/cli.rdb.zst && cp {1}/cli.rdb.zst {1}/dest/cli.rdb.zst && sync -f {1}/dest/cli.rdb.zst",
      port, root));
  row("redis_backup_cli", "command line: redis-cli --rdb + zstd -3 + cp",
      fs::file_size(root + "/cli.rdb"), fs::file_size(root + "/cli.rdb.zst"), cli);
  auto back = timed_shell(fmt::format("cp {0}/dest/cli.rdb.zst {0}/back.zst && zstd -d -q -f "
                                      "{0}/back.zst -o {0}/back.rdb && sync -f {0}/back.rdb",
                                      root));
  row("redis_restore_cli", "command line: cp + zstd -d + sync", fs::file_size(root + "/back.rdb"),
      fs::file_size(root + "/back.zst"), back);
  fs::remove_all(root + "/dest");
  for (const auto* f : {"/cli.rdb", "/cli.rdb.zst", "/back.zst", "/back.rdb", "/source.rdb"})
    fs::remove(root + f);
}

void bench_folder(const std::string& root, std::size_t megabytes) {
  auto src = root + "/folder";
  std::mt19937_64 rng{7};
  const std::size_t files = megabytes; // 1 MB each
  for (std::size_t i = 0; i < files; ++i) {
    auto dir = fmt::format("{}/d{}", src, i / 100);
    fs::create_directories(dir);
    std::ofstream(fmt::format("{}/f{}.txt", dir, i)) << payload(rng, 1'000'000);
  }
  fmt::print("folder: {} files of 1 MB\n", files);
  auto dest = make_destination({root + "/dest", "", "", "", 600'000ms});
  auto t = clock_type::now();
  auto full = must(write_archive(src, nullptr, root + "/full.archive"), "archive");
  auto packed = must(pack_file(root + "/full.archive", root + "/full.zst", 3), "pack");
  must_ok(dest->put(root + "/full.zst", "files/local/1-full.archive.zst"), "put");
  row("folder_backup", "switchyard: archive (SHA-256 manifest) + zstd + store", full.bytes_stored,
      packed.stored_bytes, seconds_since(t));
  // 1 % of the files change.
  for (std::size_t i = 0; i < files / 100 + 1; ++i)
    std::ofstream(fmt::format("{}/d{}/f{}.txt", src, (i * 97 % files) / 100, i * 97 % files))
        << payload(rng, 1'000'000);
  t = clock_type::now();
  auto inc = must(write_archive(src, &full.contents, root + "/inc.archive"), "incremental");
  auto inc_packed = must(pack_file(root + "/inc.archive", root + "/inc.zst", 3), "pack");
  must_ok(dest->put(root + "/inc.zst", "files/local/2-incremental.archive.zst"), "put");
  auto inc_secs = seconds_since(t);
  row("folder_incremental", "switchyard: incremental after 1 % changed", inc.bytes_stored,
      inc_packed.stored_bytes, inc_secs);
  fmt::print("  incremental / full stored: {:.2f} % ({} of {} files)\n",
             100.0 * static_cast<double>(inc_packed.stored_bytes) /
                 static_cast<double>(packed.stored_bytes),
             inc.files_stored, inc.files);
  t = clock_type::now();
  auto chain =
      fetch(*dest,
            {record("files", 1, "files/local/1-full.archive.zst", packed.sha256),
             record("files", 2, "files/local/2-incremental.archive.zst", inc_packed.sha256)},
            root + "/fetch");
  auto fetched_secs = seconds_since(t);
  auto extract = clock_type::now();
  auto restored = must(restore_archives(chain, root + "/restored"), "restore");
  auto extract_secs = seconds_since(extract);
  row("folder_restore", "switchyard: restore full + incremental (every file checked)",
      full.bytes_stored, packed.stored_bytes + inc_packed.stored_bytes, seconds_since(t));
  fmt::print("  of which fetch + check + unzstd {:.2f} s, extract + flush {:.2f} s\n", fetched_secs,
             extract_secs);
  fmt::print("  restored {} files\n", restored);
  fs::remove_all(root + "/restored");
  fs::remove_all(root + "/fetch");
  for (const auto* f : {"/full.archive", "/full.zst", "/inc.archive", "/inc.zst"})
    fs::remove(root + f);

  auto cli = timed_shell(fmt::format("tar -C {0} -cf - . | zstd -3 -q -o {1}/cli.tar.zst && cp "
                                     "{1}/cli.tar.zst {1}/dest/cli.tar.zst && sync -f "
                                     "{1}/dest/cli.tar.zst",
                                     src, root));
  row("folder_backup_cli", "command line: tar | zstd -3 + cp", full.bytes_stored,
      fs::file_size(root + "/cli.tar.zst"), cli);
  fs::create_directories(root + "/untar");
  auto back = timed_shell(
      fmt::format("cp {0}/dest/cli.tar.zst {0}/back.zst && zstd -d -q -c {0}/back.zst | tar -C "
                  "{0}/untar -xf - && sync -f {0}/untar",
                  root));
  row("folder_restore_cli", "command line: cp + zstd -d | tar -x + sync", full.bytes_stored,
      fs::file_size(root + "/back.zst"), back);
  fs::remove_all(root + "/untar");
  fs::remove_all(src);
  fs::remove_all(root + "/dest");
  fs::remove(root + "/cli.tar.zst");
  fs::remove(root + "/back.zst");
}

void bench_state(const std::string& root, std::size_t rows) {
  auto path = root + "/state.db";
  auto store = must(persistence::sqlite_store::open(path), "open the store");
  auto write = [&](std::size_t n, std::size_t from) {
    must_ok(store->begin_batch(), "begin");
    for (std::size_t i = 0; i < n; ++i) {
      audit_record a{0,
                     "bench",
                     "operator",
                     "RequestSwitchover",
                     fmt::format("{{\"service\": \"svc-{}\", \"reason\": \"bench\"}}", from + i),
                     "completed: switchover",
                     0};
      (void)must(store->record_audit(a), "write");
      if ((i + 1) % 10'000 == 0) {
        must_ok(store->commit_batch(), "commit");
        must_ok(store->begin_batch(), "begin");
      }
    }
    must_ok(store->commit_batch(), "commit");
  };
  write(rows, 0);
  auto t = clock_type::now();
  auto snapshot = must(state_snapshot::open(path), "snapshot");
  auto recorder = must(change_recorder::start(store->connection()), "recorder");
  auto size = must(snapshot->copy_to(root + "/full.db"), "copy");
  auto packed = must(pack_file(root + "/full.db", root + "/full.zst", 3), "pack");
  row("state_full", fmt::format("state: full ({} journal rows)", rows), size, packed.stored_bytes,
      seconds_since(t));
  write(rows / 100, rows);
  t = clock_type::now();
  auto changes = must(recorder->take(), "changeset");
  auto inc = must(pack_bytes(changes, root + "/inc.zst", 3), "pack");
  row("state_incremental", fmt::format("state: incremental ({} more rows)", rows / 100),
      changes.size(), inc.stored_bytes, seconds_since(t));
  t = clock_type::now();
  std::ofstream(root + "/inc.changeset", std::ios::binary) << changes;
  auto report =
      must(rebuild_database(root + "/full.db", {root + "/inc.changeset"}, root + "/rebuilt.db"),
           "rebuild");
  row("state_rebuild", "state: rebuild (full + changeset, integrity_check)", size + changes.size(),
      packed.stored_bytes + inc.stored_bytes, seconds_since(t));
  fmt::print("  {} changes applied; integrity_check: {}\n", report.changes, report.integrity);
}

} // namespace

int main(int argc, char** argv) {
  std::size_t megabytes = 1024;
  std::size_t rows = 100'000;
  std::string base = "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string opt = argv[i];
    if (opt == "--mb")
      megabytes = std::strtoull(argv[i + 1], nullptr, 10);
    else if (opt == "--rows")
      rows = std::strtoull(argv[i + 1], nullptr, 10);
    else if (opt == "--dir")
      base = argv[i + 1];
  }
  auto root = fmt::format("{}/backup-bench-{}", base, ::getpid());
  fs::create_directories(root);
  fmt::print("backup_bench: {} MB datasets, {} journal rows, in {} ({} hardware threads)\n",
             megabytes, rows, root, std::thread::hardware_concurrency());
  fmt::print("{:<52} {:>12}    {:>11}  {:>9}  {:>12}\n", "", "raw", "stored", "time", "raw/time");
  bench_redis(root, megabytes);
  bench_folder(root, megabytes);
  bench_state(root, rows);
  fs::remove_all(root);
  return 0;
}

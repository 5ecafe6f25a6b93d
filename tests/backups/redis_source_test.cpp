// RDBs from a real redis-server: fetched over replication (disk-based and
// diskless), loaded by a second server and compared key by key; BGSAVE waits.
#include "backups/redis_source.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <random>

#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "strategies/actions/resp.hpp"
#include "strategies/actions/stream_socket.hpp"
#include "tests/support/process.hpp"
#include "tests/support/silent_listener.hpp"
#include "tests/support/temp_dir.hpp"

namespace switchyard::backups {
namespace {

using namespace std::chrono_literals;
using strategies::stream_socket;
using testing::child_process;
using command = std::vector<std::string>;
namespace fs = std::filesystem;

constexpr std::size_t key_total = 2000;

std::string address_of(std::uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

/// A redis-server of its own in `dir`, stopped by the destructor.
struct redis_server {
  redis_server(const std::string& dir, const std::vector<std::string>& extra)
      : port(testing::free_port()), log(dir + "/redis-" + std::to_string(port) + ".log") {
    command argv{"/usr/bin/redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1"};
    argv.insert(argv.end(), {"--save", "", "--appendonly", "no", "--dir", dir});
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = std::make_unique<child_process>(argv, log);
  }
  std::string address() const { return address_of(port); }
  std::uint16_t port;
  std::string log;
  std::unique_ptr<child_process> process;
};

/// The replies to `commands`, sent at once on one connection (empty on failure).
std::vector<resp::reply> pipeline(std::uint16_t port, const std::vector<command>& commands) {
  auto deadline = stream_socket::clock::now() + 10s;
  std::string why;
  auto conn = stream_socket::connect(address_of(port), deadline, why);
  std::string out;
  for (const auto& c : commands)
    out += resp::encode(c);
  if (!conn || !conn->send_all(out, deadline, why))
    return {};
  std::vector<resp::reply> replies;
  std::size_t pos = 0;
  auto complete = [&](const std::string& buf) {
    while (replies.size() < commands.size()) {
      auto at = pos;
      auto r = resp::parse(buf, at);
      if (!r)
        return false;
      pos = at;
      replies.push_back(std::move(*r));
    }
    return true;
  };
  std::string buffer;
  if (!conn->receive(buffer, complete, false, deadline, why))
    ADD_FAILURE() << "redis on " << port << ": " << why;
  return replies;
}

bool pings(std::uint16_t port) {
  auto r = pipeline(port, {{"PING"}});
  return r.size() == 1 && r[0].text == "PONG";
}

/// 2,000 keys: strings of varied sizes and bytes (one of 1 MB, so the RDB
/// arrives in many chunks), hashes, lists, sets and sorted sets.
std::vector<command> sample_data() {
  std::mt19937 rng{42};
  auto bytes = [&rng](std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s)
      c = static_cast<char>(rng() & 0xff);
    return s;
  };
  std::vector<command> out;
  out.push_back({"SET", "big", bytes(1 << 20)});
  for (int i = 0; i < 5; ++i) {
    auto n = std::to_string(i);
    command hash{"HSET", "hash:" + n}, list{"RPUSH", "list:" + n}, set{"SADD", "set:" + n},
        zset{"ZADD", "zset:" + n};
    for (int j = 0; j < 50 * (i + 1); ++j) {
      auto m = std::to_string(j);
      hash.insert(hash.end(), {"f" + m, bytes(rng() % 64)});
      list.push_back(bytes(rng() % 64));
      set.push_back("member-" + m + bytes(rng() % 8));
      zset.insert(zset.end(), {std::to_string(rng() % 1000) + ".5", "z" + m});
    }
    for (auto* c : {&hash, &list, &set, &zset})
      out.push_back(*c);
  }
  while (out.size() < key_total)
    out.push_back({"SET", "str:" + std::to_string(out.size()), bytes(rng() % 700)});
  return out;
}

/// Every key with its type and value, rendered so that equal data compares
/// equal (members of hashes and sets sorted; lists and sorted sets in order).
std::map<std::string, std::string> contents(std::uint16_t port) {
  auto keys = pipeline(port, {{"KEYS", "*"}});
  if (keys.size() != 1)
    return {};
  std::vector<command> types;
  for (const auto& k : keys[0].items)
    types.push_back({"TYPE", k.text});
  auto type_of = pipeline(port, types);
  std::vector<command> reads;
  for (std::size_t i = 0; i < type_of.size(); ++i) {
    const auto& key = keys[0].items[i].text;
    const auto& t = type_of[i].text;
    if (t == "string")
      reads.push_back({"GET", key});
    else if (t == "hash")
      reads.push_back({"HGETALL", key});
    else if (t == "list")
      reads.push_back({"LRANGE", key, "0", "-1"});
    else if (t == "set")
      reads.push_back({"SMEMBERS", key});
    else
      reads.push_back({"ZRANGE", key, "0", "-1", "WITHSCORES"});
  }
  auto values = pipeline(port, reads);
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::vector<std::string> parts;
    const auto& v = values[i];
    for (std::size_t j = 0; j < v.items.size(); j += (type_of[i].text == "hash" ? 2u : 1u))
      parts.push_back(type_of[i].text == "hash" ? v.items[j].text + '=' + v.items[j + 1].text
                                                : v.items[j].text);
    if (type_of[i].text == "hash" || type_of[i].text == "set")
      std::sort(parts.begin(), parts.end());
    std::string rendered = type_of[i].text + ':' + v.text;
    for (const auto& p : parts)
      rendered += '\n' + std::to_string(p.size()) + ':' + p;
    out[keys[0].items[i].text] = rendered;
  }
  return out;
}

class rdb_fetch : public ::testing::TestWithParam<bool> {};

TEST_P(rdb_fetch, the_fetched_rdb_loads_into_a_second_server_with_every_key_equal) {
  testing::temp_dir tmp;
  fs::create_directories(tmp.path() / "source");
  fs::create_directories(tmp.path() / "restored");
  bool diskless = GetParam();
  redis_server source{
      (tmp.path() / "source").string(),
      {"--repl-diskless-sync", diskless ? "yes" : "no", "--repl-diskless-sync-delay", "0"}};
  ASSERT_TRUE(testing::wait_until([&] { return pings(source.port); }, 10s));
  auto written = pipeline(source.port, sample_data());
  ASSERT_EQ(written.size(), key_total);
  auto source_keys = key_count(source.address(), 2s);
  ASSERT_TRUE(source_keys) << describe(source_keys.error());
  ASSERT_EQ(*source_keys, key_total);

  auto target = (tmp.path() / "restored" / "dump.rdb").string();
  auto dump = fetch_rdb(source.address(), target, 20s);
  ASSERT_TRUE(dump) << describe(dump.error());
  EXPECT_EQ(dump->bytes, fs::file_size(target));
  EXPECT_GT(dump->bytes, 1u << 20); // the 1 MB value came through whole
  EXPECT_GT(dump->lastsave, 0);
  EXPECT_LT(dump->took, 20s);
  EXPECT_FALSE(fs::exists(target + ".partial"));
  // The transfer this case is about ($EOF:<mark> when diskless, $<len> from disk).
  EXPECT_NE(
      testing::read_file(source.log).find(diskless ? "target: replicas sockets" : "target: disk"),
      std::string::npos)
      << testing::read_file(source.log);
  // The connection was closed after the payload: the source has no replica left.
  EXPECT_TRUE(testing::wait_until(
      [&] {
        auto r = pipeline(source.port, {{"INFO", "replication"}});
        return r.size() == 1 && resp::info_fields(r[0].text)["connected_slaves"] == "0";
      },
      5s));

  redis_server restored{(tmp.path() / "restored").string(), {"--dbfilename", "dump.rdb"}};
  ASSERT_TRUE(testing::wait_until([&] { return pings(restored.port); }, 10s));
  auto count = key_count(restored.address(), 2s);
  ASSERT_TRUE(count) << describe(count.error());
  EXPECT_EQ(*count, key_total);
  auto expected = contents(source.port);
  ASSERT_EQ(expected.size(), key_total);
  auto actual = contents(restored.port);
  ASSERT_EQ(actual.size(), expected.size());
  for (const auto& [key, value] : expected)
    EXPECT_EQ(actual[key], value) << "key " << key;
}

INSTANTIATE_TEST_SUITE_P(transfers, rdb_fetch, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "diskless" : "disk_based"; });

TEST(bgsave_and_wait, returns_the_dump_path_after_each_of_two_saves_within_a_second) {
  testing::temp_dir tmp;
  redis_server server{tmp.str(), {}};
  ASSERT_TRUE(testing::wait_until([&] { return pings(server.port); }, 10s));
  ASSERT_EQ(pipeline(server.port, {{"SET", "k-first", "1"}}).size(), 1u);

  auto path = bgsave_and_wait(server.address(), 5s);
  ASSERT_TRUE(path) << describe(path.error());
  EXPECT_TRUE(fs::equivalent(*path, tmp.path() / "dump.rdb")) << *path;
  EXPECT_NE(testing::read_file(*path).find("k-first"), std::string::npos);

  // At once again: LASTSAVE may not move, the save must still be waited for.
  ASSERT_EQ(pipeline(server.port, {{"SET", "k-second", "2"}}).size(), 1u);
  auto again = bgsave_and_wait(server.address(), 5s);
  ASSERT_TRUE(again) << describe(again.error());
  EXPECT_EQ(*again, *path);
  EXPECT_NE(testing::read_file(*path).find("k-second"), std::string::npos);
  auto info = pipeline(server.port, {{"INFO", "persistence"}});
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(resp::info_fields(info[0].text)["rdb_saves"], "2");
}

TEST(bgsave_and_wait, waits_for_a_save_already_running_then_saves_again) {
  testing::temp_dir tmp;
  redis_server server{tmp.str(), {}};
  ASSERT_TRUE(testing::wait_until([&] { return pings(server.port); }, 10s));
  std::vector<command> keys;
  for (int i = 0; i < 100; ++i)
    keys.push_back({"SET", "k" + std::to_string(i), "v"});
  ASSERT_EQ(pipeline(server.port, keys).size(), keys.size());
  // 2 ms per key: a save that takes about 200 ms, still running when we ask.
  auto started = pipeline(server.port, {{"CONFIG", "SET", "rdb-key-save-delay", "2000"},
                                        {"BGSAVE"},
                                        {"SET", "k-late", "1"},
                                        {"CONFIG", "SET", "rdb-key-save-delay", "0"}});
  ASSERT_EQ(started.size(), 4u);
  ASSERT_FALSE(started[1].is_error()) << started[1].text;

  auto path = bgsave_and_wait(server.address(), 10s);
  ASSERT_TRUE(path) << describe(path.error());
  auto info = pipeline(server.port, {{"INFO", "persistence"}});
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(resp::info_fields(info[0].text)["rdb_saves"], "2"); // the running one, then ours
  EXPECT_NE(testing::read_file(*path).find("k-late"), std::string::npos);
}

TEST(fetch_rdb, names_the_address_when_nothing_listens) {
  testing::temp_dir tmp;
  auto address = address_of(testing::free_port());
  auto target = tmp.str() + "/dump.rdb";
  auto dump = fetch_rdb(address, target, 2s);
  ASSERT_FALSE(dump);
  auto text = describe(dump.error());
  EXPECT_EQ(text.rfind("backup_failed: ", 0), 0u) << text;
  EXPECT_NE(text.find(address), std::string::npos) << text;
  EXPECT_NE(text.find("refused"), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(target));
  EXPECT_FALSE(fs::exists(target + ".partial"));
}

TEST(fetch_rdb, gives_up_within_the_timeout_on_a_server_that_never_answers) {
  testing::temp_dir tmp;
  testing::silent_listener silent;
  auto target = tmp.str() + "/dump.rdb";
  auto began = std::chrono::steady_clock::now();
  auto dump = fetch_rdb(address_of(silent.port()), target, 500ms);
  auto elapsed = std::chrono::steady_clock::now() - began;
  ASSERT_FALSE(dump);
  EXPECT_LT(elapsed, 2500ms);
  EXPECT_GE(elapsed, 450ms); // it did wait for an answer
  auto text = describe(dump.error());
  EXPECT_NE(text.find(address_of(silent.port())), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(target));
  EXPECT_FALSE(fs::exists(target + ".partial"));
}

TEST(key_count, names_the_address_when_nothing_listens) {
  auto address = address_of(testing::free_port());
  auto n = key_count(address, 1s);
  ASSERT_FALSE(n);
  EXPECT_NE(describe(n.error()).find(address), std::string::npos);
}

} // namespace
} // namespace switchyard::backups

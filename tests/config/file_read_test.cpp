// Bounded reads of the configuration, tokens and TLS files
// (config/file_read.hpp): only regular files, only up to a size limit, and
// a FIFO is refused without waiting for a writer.
#include <chrono>
#include <fcntl.h>
#include <future>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "config/file_read.hpp"
#include "config/tokens.hpp"
#include "tests/config/config_test_support.hpp"

using namespace switchyard::config;
using namespace switchyard::config::testing;
using namespace std::chrono_literals;

namespace {

/// Runs `f` on its own thread; fails (instead of hanging the suite) when it
/// takes longer than `limit`. A thread stuck forever is left behind detached.
template <class F> auto within(std::chrono::milliseconds limit, F f) -> decltype(f()) {
  std::packaged_task<decltype(f())()> task(std::move(f));
  auto result = task.get_future();
  std::thread(std::move(task)).detach();
  if (result.wait_for(limit) != std::future_status::ready) {
    ADD_FAILURE() << "still blocked after " << limit.count() << " ms";
    return {};
  }
  return result.get();
}

/// A file of `size` bytes that takes no space (a hole): ftruncate only.
std::string sparse_file(const temp_dir& dir, const std::string& name, off_t size) {
  auto path = dir.str() + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::ftruncate(fd, size), 0);
  ::close(fd);
  return path;
}

std::string fifo(const temp_dir& dir, const std::string& name) {
  auto path = dir.str() + "/" + name;
  EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0);
  return path;
}

std::vector<std::string> texts(const std::vector<config_error>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors)
    out.push_back(to_string(e));
  return out;
}

} // namespace

TEST(file_read, reads_a_regular_file_within_the_limit) {
  temp_dir dir;
  auto path = dir.write("a.txt", "hello\n");
  std::string out;
  EXPECT_EQ(read_regular_file(path, 6, out), "");
  EXPECT_EQ(out, "hello\n");
  EXPECT_EQ(read_regular_file(path, 5, out), "it is 6 bytes; the limit is 5 bytes");
}

TEST(file_read, refuses_dev_zero_without_reading_it) {
  std::string out;
  auto why = within(5s, [&] { return read_regular_file("/dev/zero", max_config_file_bytes, out); });
  EXPECT_EQ(why, "it is a character device, not a regular file");
  EXPECT_TRUE(out.empty());
}

TEST(file_read, refuses_a_fifo_without_waiting_for_a_writer) {
  temp_dir dir;
  auto path = fifo(dir, "pipe.yaml");
  std::string out;
  auto why = within(5s, [&] { return read_regular_file(path, max_config_file_bytes, out); });
  EXPECT_EQ(why, "it is a FIFO (named pipe), not a regular file");
}

TEST(file_read, refuses_an_oversized_sparse_file_before_reading_it) {
  temp_dir dir;
  auto path = sparse_file(dir, "huge.yaml", off_t{1} << 40); // 1 TiB of hole
  std::string out;
  auto why = within(5s, [&] { return read_regular_file(path, max_config_file_bytes, out); });
  EXPECT_EQ(why, "it is 1099511627776 bytes; the limit is 16 MiB");
}

TEST(file_read, names_the_os_reason_and_directories) {
  temp_dir dir;
  std::string out;
  EXPECT_EQ(read_regular_file(dir.str() + "/missing.yaml", 100, out), "No such file or directory");
  EXPECT_EQ(read_regular_file(dir.str(), 100, out), "it is a directory, not a file");
}

TEST(file_read, the_configuration_is_refused_with_the_file_named) {
  auto r = within(5s, [] { return load_config_file("/dev/zero"); });
  EXPECT_EQ(
      texts(r.errors),
      std::vector<std::string>{
          "/dev/zero:0:0: (file): cannot read: it is a character device, not a regular file"});

  temp_dir dir;
  auto pipe = fifo(dir, "switchyard.yaml");
  r = within(5s, [&] { return load_config_file(pipe); });
  EXPECT_EQ(texts(r.errors),
            std::vector<std::string>{pipe + ":0:0: (file): cannot read: it is a "
                                            "FIFO (named pipe), not a regular file"});

  auto big = sparse_file(dir, "big.yaml", (off_t{16} << 20) + 1);
  r = within(5s, [&] { return load_config_file(big); });
  EXPECT_EQ(texts(r.errors),
            std::vector<std::string>{big + ":0:0: (file): cannot read: it is 16777217 bytes; "
                                           "the limit is 16 MiB"});
}

TEST(file_read, the_tokens_file_is_limited_to_1_mib) {
  temp_dir dir;
  auto big = sparse_file(dir, "tokens.yaml", (off_t{1} << 20) + 1);
  auto r = within(5s, [&] { return load_tokens_file(big); });
  EXPECT_EQ(texts(r.errors),
            std::vector<std::string>{big + ":0:0: (file): cannot read: it is 1048577 bytes; "
                                           "the limit is 1 MiB"});
  auto pipe = fifo(dir, "tokens-pipe.yaml");
  r = within(5s, [&] { return load_tokens_file(pipe); });
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "cannot read: it is a FIFO (named pipe), not a regular file");
}

TEST(file_read, tls_files_of_the_configuration_are_checked_the_same_way) {
  temp_dir dir;
  auto pipe = fifo(dir, "server.crt");
  dir.write("server.key", "-----BEGIN PRIVATE KEY-----\n");
  auto yaml = valid_yaml + "api:\n  tls:\n    cert_file: server.crt\n    key_file: /dev/zero\n";
  auto r = within(5s, [&] { return load_config_text(yaml, dir.str() + "/switchyard.yaml"); });
  auto errors = texts(r.errors);
  ASSERT_EQ(errors.size(), 2u) << ::testing::PrintToString(errors);
  EXPECT_NE(errors[0].find("api.tls.cert_file: cannot read " + pipe +
                           ": it is a FIFO (named pipe), not a regular file"),
            std::string::npos)
      << errors[0];
  EXPECT_NE(errors[1].find("api.tls.key_file: cannot read /dev/zero: it is a character device, "
                           "not a regular file"),
            std::string::npos)
      << errors[1];
}

TEST(file_read, describes_sizes) {
  EXPECT_EQ(describe_size(16u << 20), "16 MiB");
  EXPECT_EQ(describe_size(512u << 10), "512 KiB");
  EXPECT_EQ(describe_size(1000), "1000 bytes");
}

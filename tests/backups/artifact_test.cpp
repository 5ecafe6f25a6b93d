// Artifacts on real files: round trips checked against sha256sum and the zstd
// CLI, a flipped byte, a truncated frame, and a full tmpfs.
#include "backups/artifact.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sys/mount.h>

#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "tests/backups/error_code.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace switchyard;
using namespace switchyard::backups;
using switchyard::testing::read_file;
using switchyard::testing::temp_dir;
namespace fs = std::filesystem;

using switchyard::testing::code_of;

/// Alternating 64 KiB blocks of log-like text and random bytes.
std::string mixed_content(std::size_t size) {
  std::mt19937_64 rng{42};
  std::string out;
  out.reserve(size);
  for (std::size_t block = 0; out.size() < size; ++block) {
    auto end = std::min(size, out.size() + 64 * 1024);
    if (block % 2 == 0) {
      for (int line = 0; out.size() < end; ++line)
        out += "GET /api/items/" + std::to_string(line % 97) + " 200 12ms\n";
      out.resize(end);
    } else {
      while (out.size() < end)
        out += static_cast<char>(rng() & 0xff);
    }
  }
  return out;
}

std::string random_bytes(std::size_t size) {
  std::mt19937_64 rng{7};
  std::string out(size, '\0');
  for (auto& c : out)
    c = static_cast<char>(rng() & 0xff);
  return out;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

/// The sum as coreutils computes it, independent of our code.
std::string sha256sum(const std::string& path) {
  std::string command = "sha256sum '" + path + "'";
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr)
    return "popen failed";
  char buf[65] = {};
  auto n = std::fread(buf, 1, 64, p);
  ::pclose(p);
  return std::string(buf, n);
}

bool has_partials(const fs::path& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.path().extension() == ".partial")
      return true;
  return false;
}

/// A tmpfs mounted for one test, unmounted when the test ends (also on failure).
class scoped_tmpfs {
public:
  scoped_tmpfs(const fs::path& dir, const char* options) : dir_(dir) {
    fs::create_directories(dir_);
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options) == 0)
      mounted_ = true;
    else
      error_ = std::strerror(errno);
  }
  ~scoped_tmpfs() {
    if (mounted_ && ::umount2(dir_.c_str(), 0) != 0)
      ::umount2(dir_.c_str(), MNT_DETACH);
  }
  scoped_tmpfs(const scoped_tmpfs&) = delete;
  scoped_tmpfs& operator=(const scoped_tmpfs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

private:
  fs::path dir_;
  bool mounted_ = false;
  std::string error_;
};

TEST(Artifact, FileRoundTripMatchesSha256sumAndZstd) {
  temp_dir dir;
  auto content = mixed_content(4 * 1024 * 1024 + 123);
  auto source = (dir.path() / "dump.rdb").string();
  write_bytes(source, content);
  auto artifact = (dir.path() / "1-full.zst").string();

  auto info = pack_file(source, artifact, 3);
  ASSERT_TRUE(info) << describe(info.error());
  EXPECT_EQ(info->raw_bytes, content.size());
  EXPECT_EQ(info->stored_bytes, fs::file_size(artifact));
  EXPECT_LT(info->stored_bytes, info->raw_bytes * 3 / 4); // the text half compresses
  EXPECT_GE(info->took.count(), 0);
  EXPECT_EQ(info->sha256, sha256sum(artifact));
  EXPECT_EQ(*sha256_file(artifact), info->sha256);
  auto size = check_artifact(artifact, info->sha256);
  ASSERT_TRUE(size) << describe(size.error());
  EXPECT_EQ(*size, info->stored_bytes);
  EXPECT_FALSE(has_partials(dir.path()));

  // A standard zstd frame: the zstd CLI reads it too.
  if (fs::exists("/usr/bin/zstd")) {
    auto cli = (dir.path() / "cli.out").string();
    std::string command = "zstd -q -d -o '" + cli + "' '" + artifact + "'";
    ASSERT_EQ(std::system(command.c_str()), 0);
    EXPECT_TRUE(read_file(cli) == content);
  }

  auto target = (dir.path() / "restored.rdb").string();
  auto restored = unpack_file(artifact, info->sha256, target);
  ASSERT_TRUE(restored) << describe(restored.error());
  EXPECT_EQ(*restored, content.size());
  EXPECT_TRUE(read_file(target) == content);
  EXPECT_FALSE(has_partials(dir.path()));
}

TEST(Artifact, BytesRoundTripIncludingEmpty) {
  temp_dir dir;
  for (const std::string& bytes :
       {std::string{}, std::string{"changeset \0 with nul", 20}, mixed_content(300 * 1024)}) {
    auto artifact = (dir.path() / "c.zst").string();
    auto info = pack_bytes(bytes, artifact, 19);
    ASSERT_TRUE(info) << describe(info.error());
    EXPECT_EQ(info->raw_bytes, bytes.size());
    EXPECT_GT(info->stored_bytes, 0u); // even an empty input is a whole frame
    EXPECT_EQ(info->sha256, sha256sum(artifact));
    auto back = unpack_bytes(artifact, info->sha256);
    ASSERT_TRUE(back) << describe(back.error());
    EXPECT_TRUE(*back == bytes) << "size " << back->size() << " vs " << bytes.size();
    auto unchecked = unpack_bytes(artifact, "");
    ASSERT_TRUE(unchecked) << describe(unchecked.error());
    EXPECT_EQ(unchecked->size(), bytes.size());
  }
}

TEST(Artifact, FlippedByteIsCorruptAndLeavesNoTarget) {
  temp_dir dir;
  auto artifact = (dir.path() / "2-full.zst").string();
  auto info = pack_bytes(mixed_content(512 * 1024), artifact);
  ASSERT_TRUE(info) << describe(info.error());
  auto bytes = read_file(artifact);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10);
  write_bytes(artifact, bytes);
  auto actual = sha256sum(artifact);

  auto checked = check_artifact(artifact, info->sha256);
  ASSERT_FALSE(checked);
  EXPECT_EQ(code_of(checked.error()), "corrupt");
  auto text = describe(checked.error());
  EXPECT_NE(text.find(artifact), std::string::npos) << text;
  EXPECT_NE(text.find(info->sha256), std::string::npos) << text;
  EXPECT_NE(text.find(actual), std::string::npos) << text;

  auto target = (dir.path() / "restored").string();
  auto unpacked = unpack_file(artifact, info->sha256, target);
  ASSERT_FALSE(unpacked);
  EXPECT_EQ(code_of(unpacked.error()), "corrupt");
  EXPECT_NE(describe(unpacked.error()).find(actual), std::string::npos);
  EXPECT_FALSE(fs::exists(target));
  EXPECT_FALSE(has_partials(dir.path()));

  // Without a sum to check, zstd's own frame checksum still catches it.
  auto unchecked = unpack_file(artifact, "", target);
  ASSERT_FALSE(unchecked);
  EXPECT_EQ(code_of(unchecked.error()), "corrupt") << describe(unchecked.error());
  EXPECT_FALSE(fs::exists(target));
  EXPECT_FALSE(has_partials(dir.path()));
}

TEST(Artifact, TruncatedArtifactIsCorruptAndLeavesNoTarget) {
  temp_dir dir;
  auto artifact = (dir.path() / "3-full.zst").string();
  auto info = pack_bytes(mixed_content(512 * 1024), artifact);
  ASSERT_TRUE(info) << describe(info.error());
  fs::resize_file(artifact, info->stored_bytes - 100);
  auto target = (dir.path() / "restored").string();

  auto with_sum = unpack_file(artifact, info->sha256, target);
  ASSERT_FALSE(with_sum);
  EXPECT_EQ(code_of(with_sum.error()), "corrupt");
  EXPECT_FALSE(fs::exists(target));

  auto without_sum = unpack_file(artifact, "", target);
  ASSERT_FALSE(without_sum);
  EXPECT_EQ(code_of(without_sum.error()), "corrupt");
  EXPECT_NE(describe(without_sum.error()).find("truncated"), std::string::npos)
      << describe(without_sum.error());
  EXPECT_FALSE(fs::exists(target));
  EXPECT_FALSE(has_partials(dir.path()));

  fs::resize_file(artifact, 0);
  auto empty = unpack_bytes(artifact, "");
  ASSERT_FALSE(empty);
  EXPECT_EQ(code_of(empty.error()), "corrupt");
}

TEST(Artifact, MissingArtifactAndBadLevel) {
  temp_dir dir;
  auto missing = (dir.path() / "gone.zst").string();
  auto checked = check_artifact(missing, "00");
  ASSERT_FALSE(checked);
  EXPECT_EQ(code_of(checked.error()), "not_found");
  auto unpacked = unpack_file(missing, "", (dir.path() / "out").string());
  ASSERT_FALSE(unpacked);
  EXPECT_EQ(code_of(unpacked.error()), "not_found");
  EXPECT_FALSE(fs::exists(dir.path() / "out"));
  EXPECT_FALSE(has_partials(dir.path()));

  auto no_source = pack_file(missing, (dir.path() / "x.zst").string());
  ASSERT_FALSE(no_source);
  EXPECT_EQ(code_of(no_source.error()), "backup_failed");
  EXPECT_NE(describe(no_source.error()).find(missing), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.path() / "x.zst.partial"));

  auto bad_level = pack_bytes("x", (dir.path() / "y.zst").string(), 0);
  ASSERT_FALSE(bad_level);
  EXPECT_EQ(code_of(bad_level.error()), "invalid_config");
}

TEST(Artifact, PackIntoFullFilesystemFailsAndLeavesNothing) {
  temp_dir dir;
  auto source = (dir.path() / "big").string();
  write_bytes(source, random_bytes(1024 * 1024)); // incompressible: larger than the tmpfs
  auto mount_dir = dir.path() / "full";
  scoped_tmpfs tmpfs{mount_dir, "size=256k"};
  if (!tmpfs.mounted())
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << tmpfs.error();

  auto target = (mount_dir / "4-full.zst").string();
  auto info = pack_file(source, target);
  ASSERT_FALSE(info);
  EXPECT_EQ(code_of(info.error()), "backup_failed");
  auto text = describe(info.error());
  EXPECT_NE(text.find("No space left on device"), std::string::npos) << text;
  EXPECT_NE(text.find(target), std::string::npos) << text;
  EXPECT_TRUE(fs::is_empty(mount_dir)) << "left behind in the tmpfs";
}

} // namespace

// Destinations on real files and processes: a directory (also full and
// read-only), and exec commands (round trip, failure, timeout, quoting).
#include "backups/destination.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/mount.h>

#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "tests/backups/error_code.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using namespace switchyard;
using namespace switchyard::backups;
using switchyard::testing::read_file;
using switchyard::testing::temp_dir;
namespace fs = std::filesystem;

using switchyard::testing::code_of;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Regular files under `dir`, relative: what a failed copy may have left.
std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file())
      out.push_back(fs::relative(entry.path(), dir).string());
  return out;
}

/// A mount for one test (a tmpfs, or a read-only bind), unmounted when the
/// test ends, also on failure.
class scoped_mount {
public:
  explicit scoped_mount(fs::path dir) : dir_(std::move(dir)) { fs::create_directories(dir_); }
  ~scoped_mount() {
    if (mounted_ && ::umount2(dir_.c_str(), 0) != 0)
      ::umount2(dir_.c_str(), MNT_DETACH);
  }
  scoped_mount(const scoped_mount&) = delete;
  scoped_mount& operator=(const scoped_mount&) = delete;

  bool tmpfs(const char* options) {
    return done(::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options) == 0);
  }
  bool read_only_bind(const fs::path& source) {
    if (!done(::mount(source.c_str(), dir_.c_str(), nullptr, MS_BIND, nullptr) == 0))
      return false;
    return ::mount(nullptr, dir_.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) ==
               0 ||
           note_error();
  }
  const std::string& error() const { return error_; }

private:
  bool done(bool ok) {
    mounted_ = mounted_ || ok;
    return ok || note_error();
  }
  bool note_error() {
    error_ = std::strerror(errno);
    return false;
  }

  fs::path dir_;
  bool mounted_ = false;
  std::string error_;
};

std::unique_ptr<destination> directory_at(const fs::path& root) {
  config::backup_destination_settings s;
  s.path = root.string();
  return make_destination(s);
}

/// An exec destination that keeps artifacts under `store` with sh and cp.
std::unique_ptr<destination> exec_into(const fs::path& store) {
  std::string dir = "'" + store.string() + "'";
  config::backup_destination_settings s;
  s.upload = "mkdir -p \"$(dirname " + dir + "/{name})\" && cp {file} " + dir + "/{name}";
  s.download = "cp " + dir + "/{name} {file}";
  s.remove = "rm -f " + dir + "/{name}";
  s.timeout = 10s;
  return make_destination(s);
}

TEST(DirectoryDestination, PutGetRemove) {
  temp_dir dir;
  auto local = dir.write("local/42-full.zst", "artifact bytes");
  auto root = dir.path() / "store";
  auto dest = directory_at(root);
  EXPECT_EQ(dest->describe(), "dir " + root.string());

  auto put = dest->put(local, "web/42-full.zst");
  ASSERT_TRUE(put) << describe(put.error());
  EXPECT_EQ(read_file((root / "web/42-full.zst").string()), "artifact bytes");
  EXPECT_EQ(files_under(root), std::vector<std::string>{"web/42-full.zst"});

  auto back = (dir.path() / "restore/42.zst").string();
  auto got = dest->get("web/42-full.zst", back);
  ASSERT_TRUE(got) << describe(got.error());
  EXPECT_EQ(read_file(back), "artifact bytes");
  EXPECT_FALSE(fs::exists(back + ".partial"));

  auto missing = dest->get("web/41-full.zst", back + "2");
  ASSERT_FALSE(missing);
  EXPECT_EQ(code_of(missing.error()), "not_found");
  EXPECT_FALSE(fs::exists(back + "2"));

  ASSERT_TRUE(dest->remove("web/42-full.zst"));
  EXPECT_FALSE(fs::exists(root / "web/42-full.zst"));
  EXPECT_TRUE(dest->remove("web/42-full.zst")) << "removing what is gone is fine";

  auto escape = dest->put(local, "../outside.zst");
  ASSERT_FALSE(escape);
  EXPECT_FALSE(fs::exists(dir.path() / "outside.zst"));
  auto no_source = dest->put((dir.path() / "nope").string(), "web/1.zst");
  ASSERT_FALSE(no_source);
  EXPECT_EQ(code_of(no_source.error()), "backup_failed");
}

TEST(DirectoryDestination, FullDestinationFailsAndLeavesNothing) {
  temp_dir dir;
  auto local = dir.write("big.zst", std::string(1024 * 1024, 'x'));
  auto root = dir.path() / "full";
  scoped_mount mount{root};
  if (!mount.tmpfs("size=256k"))
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << mount.error();

  auto dest = directory_at(root);
  auto put = dest->put(local, "web/5-full.zst");
  ASSERT_FALSE(put);
  EXPECT_EQ(code_of(put.error()), "backup_failed");
  auto text = describe(put.error());
  EXPECT_TRUE(contains(text, "No space left on device")) << text;
  EXPECT_TRUE(contains(text, (root / "web/5-full.zst.partial").string())) << text;
  EXPECT_TRUE(files_under(root).empty());
}

TEST(DirectoryDestination, ReadOnlyDestinationFails) {
  temp_dir dir;
  auto local = dir.write("a.zst", "bytes");
  fs::create_directories(dir.path() / "backing/web");
  auto root = dir.path() / "ro";
  scoped_mount mount{root};
  if (!mount.read_only_bind(dir.path() / "backing"))
    GTEST_SKIP() << "cannot make a read-only bind mount here (needs root): " << mount.error();

  auto dest = directory_at(root);
  for (const char* name : {"web/6-full.zst", "api/6-full.zst"}) { // existing and new folder
    auto put = dest->put(local, name);
    ASSERT_FALSE(put) << name;
    EXPECT_EQ(code_of(put.error()), "backup_failed");
    auto text = describe(put.error());
    EXPECT_TRUE(contains(text, "Read-only file system")) << text;
    EXPECT_TRUE(contains(text, root.string())) << text;
  }
  EXPECT_TRUE(files_under(dir.path() / "backing").empty());
}

TEST(ExecDestination, UploadDownloadRemove) {
  temp_dir dir;
  auto local = dir.write("7-full.zst", "exec artifact");
  auto store = dir.path() / "bucket";
  auto dest = exec_into(store);
  EXPECT_EQ(dest->describe(), "exec");

  auto put = dest->put(local, "web/7-full.zst");
  ASSERT_TRUE(put) << describe(put.error());
  EXPECT_EQ(read_file((store / "web/7-full.zst").string()), "exec artifact");

  auto back = (dir.path() / "restore/7.zst").string();
  auto got = dest->get("web/7-full.zst", back);
  ASSERT_TRUE(got) << describe(got.error());
  EXPECT_EQ(read_file(back), "exec artifact");
  EXPECT_FALSE(fs::exists(back + ".partial"));

  auto missing = dest->get("web/8-full.zst", (dir.path() / "restore/8.zst").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(code_of(missing.error()), "backup_failed");
  EXPECT_TRUE(contains(describe(missing.error()), "No such file")) << describe(missing.error());
  EXPECT_FALSE(fs::exists(dir.path() / "restore/8.zst"));

  ASSERT_TRUE(dest->remove("web/7-full.zst"));
  EXPECT_FALSE(fs::exists(store / "web/7-full.zst"));
}

TEST(ExecDestination, NameWithSpaceAndQuoteIsQuoted) {
  temp_dir dir;
  auto local = dir.write("my file's.zst", "quoted");
  auto store = dir.path() / "bucket";
  auto dest = exec_into(store);
  std::string name = "web/it's a {file} backup; rm -rf x.zst";

  auto put = dest->put(local, name);
  ASSERT_TRUE(put) << describe(put.error());
  EXPECT_EQ(read_file((store / name).string()), "quoted");
  auto back = (dir.path() / "back 'here'.zst").string();
  auto got = dest->get(name, back);
  ASSERT_TRUE(got) << describe(got.error());
  EXPECT_EQ(read_file(back), "quoted");
  ASSERT_TRUE(dest->remove(name));
  EXPECT_FALSE(fs::exists(store / name));
}

TEST(ExecDestination, FailingCommandReportsExitStatusAndOutput) {
  temp_dir dir;
  auto local = dir.write("9.zst", "x");
  config::backup_destination_settings s;
  s.upload = "echo uploading; echo 'AccessDenied: bucket policy' >&2; exit 3";
  s.download = "true"; // "succeeds" without writing the file
  s.timeout = 10s;
  auto dest = make_destination(s);

  auto put = dest->put(local, "web/9.zst");
  ASSERT_FALSE(put);
  EXPECT_EQ(code_of(put.error()), "backup_failed");
  auto text = describe(put.error());
  EXPECT_TRUE(contains(text, "exit status 3")) << text;
  EXPECT_TRUE(contains(text, "AccessDenied: bucket policy")) << text;
  EXPECT_TRUE(contains(text, "web/9.zst")) << text;

  auto back = (dir.path() / "back.zst").string();
  auto got = dest->get("web/9.zst", back);
  ASSERT_FALSE(got);
  EXPECT_EQ(code_of(got.error()), "backup_failed");
  EXPECT_TRUE(contains(describe(got.error()), "did not create")) << describe(got.error());
  EXPECT_FALSE(fs::exists(back));

  EXPECT_TRUE(dest->remove("web/9.zst")) << "no remove command: nothing to do";
  s.upload.clear();
  auto no_upload = make_destination(s)->put(local, "web/9.zst");
  ASSERT_FALSE(no_upload);
  EXPECT_EQ(code_of(no_upload.error()), "invalid_config");
}

TEST(ExecDestination, HangingCommandTimesOut) {
  temp_dir dir;
  auto local = dir.write("10.zst", "x");
  config::backup_destination_settings s;
  s.upload = "sleep 30";
  s.timeout = 300ms;
  auto dest = make_destination(s);

  auto start = std::chrono::steady_clock::now();
  auto put = dest->put(local, "web/10.zst");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(put);
  EXPECT_EQ(code_of(put.error()), "backup_failed");
  EXPECT_TRUE(contains(describe(put.error()), "timed out after 300 ms")) << describe(put.error());
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
}

} // namespace

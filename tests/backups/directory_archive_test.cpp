// Directory archives on real folders: a full round trip, a chain of
// incrementals, a chain with a hole, truncation and hostile paths.
#include "backups/directory_archive.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace switchyard::backups {
namespace {

namespace fs = std::filesystem;
using testing::read_file;
using testing::temp_dir;

std::string code_of(const caf::error& e) {
  auto text = describe(e);
  return text.substr(0, text.find(':'));
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng{seed};
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng() & 0xff);
  return s;
}

void write(const fs::path& file, const std::string& content, fs::perms mode = fs::perms(0644)) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
  fs::permissions(file, mode);
}

std::uint32_t mode_of(const fs::path& file) {
  struct stat st {};
  ::stat(file.c_str(), &st);
  return st.st_mode & 07777;
}

/// Expects `restored` to hold exactly the regular files of `source`, byte for
/// byte and with the same permission bits (checked without the code under test).
void expect_same_tree(const fs::path& source, const fs::path& restored) {
  std::vector<std::string> want, got;
  for (const auto& e : fs::recursive_directory_iterator(source))
    if (e.is_regular_file() && !e.is_symlink())
      want.push_back(fs::relative(e.path(), source).string());
  for (const auto& e : fs::recursive_directory_iterator(restored))
    if (e.is_regular_file())
      got.push_back(fs::relative(e.path(), restored).string());
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  ASSERT_EQ(got, want);
  for (const auto& f : want) {
    EXPECT_EQ(read_file((restored / f).string()), read_file((source / f).string())) << f;
    EXPECT_EQ(mode_of(restored / f), mode_of(source / f)) << f;
  }
}

TEST(directory_archive, a_full_archive_restores_the_tree) {
  temp_dir tmp;
  auto src = tmp.path() / "src";
  write(src / "top.txt", "top");
  write(src / "empty", "");
  write(src / "a/b/c/deep.bin", random_bytes(1000, 1));
  write(src / "a/big.bin", random_bytes(3 << 20, 2));
  write(src / "a/run.sh", "#!/bin/sh\n", fs::perms(0755));
  write(src / "secret", "s", fs::perms(0600));
  write(src / "frozen", "f", fs::perms(0444));
  fs::create_directories(src / "empty-dir");
  fs::create_symlink(src / "top.txt", src / "link"); // skipped: not a regular file

  auto scanned = scan_directory(src.string());
  ASSERT_TRUE(scanned) << describe(scanned.error());
  ASSERT_EQ(scanned->size(), 7u);
  EXPECT_EQ(scanned->front().path, "a/b/c/deep.bin"); // sorted, '/'-separated
  auto empty = std::find_if(scanned->begin(), scanned->end(),
                            [](const auto& e) { return e.path == "empty"; });
  ASSERT_NE(empty, scanned->end());
  EXPECT_EQ(empty->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(empty->mode, 0644u);

  auto archive = (tmp.path() / "full.sda").string();
  auto info = write_archive(src.string(), nullptr, archive);
  ASSERT_TRUE(info) << describe(info.error());
  EXPECT_EQ(info->files, 7u);
  EXPECT_EQ(info->files_stored, 7u);
  EXPECT_EQ(info->bytes_stored, 3u + 1000 + (3 << 20) + 10 + 1 + 1);
  EXPECT_EQ(info->contents, *scanned);
  EXPECT_FALSE(fs::exists(archive + ".partial"));
  auto listed = read_manifest(archive);
  ASSERT_TRUE(listed) << describe(listed.error());
  EXPECT_EQ(*listed, *scanned);

  auto out = tmp.path() / "out";
  auto restored = restore_archives({archive}, out.string());
  ASSERT_TRUE(restored) << describe(restored.error());
  EXPECT_EQ(*restored, 7u);
  expect_same_tree(src, out);

  // Only into an empty folder.
  auto again = restore_archives({archive}, out.string());
  ASSERT_FALSE(again);
  EXPECT_NE(describe(again.error()).find(out.string()), std::string::npos);
}

TEST(directory_archive, incrementals_store_only_changes_and_restore_as_a_chain) {
  temp_dir tmp;
  auto src = tmp.path() / "src";
  for (int i = 0; i < 100; ++i)
    write(src / ("d" + std::to_string(i % 4)) / ("f" + std::to_string(i)),
          random_bytes(100 + static_cast<std::size_t>(i), static_cast<unsigned>(i)));
  auto full_path = (tmp.path() / "0-full").string();
  auto full = write_archive(src.string(), nullptr, full_path);
  ASSERT_TRUE(full) << describe(full.error());

  write(src / "d1/f5", random_bytes(105, 999)); // same size, other bytes
  write(src / "d2/new", "new file");
  fs::remove(src / "d3/f7");
  auto inc1_path = (tmp.path() / "1-inc").string();
  auto inc1 = write_archive(src.string(), &full->contents, inc1_path);
  ASSERT_TRUE(inc1) << describe(inc1.error());
  EXPECT_EQ(inc1->files, 100u);
  EXPECT_EQ(inc1->files_stored, 2u);
  EXPECT_EQ(inc1->bytes_stored, 105u + 8);
  auto out1 = tmp.path() / "out1";
  auto n = restore_archives({full_path, inc1_path}, out1.string());
  ASSERT_TRUE(n) << describe(n.error());
  EXPECT_EQ(*n, 100u);
  EXPECT_FALSE(fs::exists(out1 / "d3/f7"));
  expect_same_tree(src, out1);

  // A second one on top: a changed file, a mode change alone, a folder emptied
  // and a file where a folder was.
  write(src / "d0/f0", "changed again");
  fs::permissions(src / "d0/f4", fs::perms(0600));
  fs::remove_all(src / "d2");
  write(src / "d2", "now a file");
  auto inc2_path = (tmp.path() / "2-inc").string();
  auto inc2 = write_archive(src.string(), &inc1->contents, inc2_path);
  ASSERT_TRUE(inc2) << describe(inc2.error());
  EXPECT_EQ(inc2->files_stored, 2u); // d0/f0 and d2; the mode is in the manifest
  auto out2 = tmp.path() / "out2";
  n = restore_archives({full_path, inc1_path, inc2_path}, out2.string());
  ASSERT_TRUE(n) << describe(n.error());
  EXPECT_EQ(*n, 75u);
  EXPECT_EQ(inc2->files, 75u);
  expect_same_tree(src, out2);

  // The first incremental left out: d1/f5 changed in it and is stored by
  // neither of the others, so the old bytes from the full one fail the check.
  auto holed = restore_archives({full_path, inc2_path}, (tmp.path() / "out3").string());
  ASSERT_FALSE(holed);
  EXPECT_EQ(code_of(holed.error()), "corrupt");
  EXPECT_NE(describe(holed.error()).find("/d1/f5 has 105 bytes"), std::string::npos)
      << describe(holed.error());
}

TEST(directory_archive, a_missing_parent_fails_the_final_check_naming_the_file) {
  temp_dir tmp;
  auto src = tmp.path() / "src";
  write(src / "a", "one");
  write(src / "b", "two");
  auto full = write_archive(src.string(), nullptr, (tmp.path() / "0").string());
  ASSERT_TRUE(full);
  write(src / "a", "ONE");
  auto inc1 = write_archive(src.string(), &full->contents, (tmp.path() / "1").string());
  ASSERT_TRUE(inc1);
  write(src / "b", "TWO");
  auto inc2 = write_archive(src.string(), &inc1->contents, (tmp.path() / "2").string());
  ASSERT_TRUE(inc2);
  ASSERT_EQ(inc2->files_stored, 1u);

  auto out = tmp.path() / "out";
  auto n =
      restore_archives({(tmp.path() / "0").string(), (tmp.path() / "2").string()}, out.string());
  ASSERT_FALSE(n);
  auto text = describe(n.error());
  EXPECT_EQ(code_of(n.error()), "corrupt") << text;
  EXPECT_NE(text.find(out.string() + "/a "), std::string::npos) << text;
}

TEST(directory_archive, a_truncated_archive_is_corrupt_wherever_it_is_cut) {
  temp_dir tmp;
  auto src = tmp.path() / "src";
  write(src / "x/one", random_bytes(5000, 3));
  write(src / "two", "2");
  auto archive = (tmp.path() / "full").string();
  ASSERT_TRUE(write_archive(src.string(), nullptr, archive));
  auto size = fs::file_size(archive);
  for (auto keep :
       {std::uintmax_t{4}, std::uintmax_t{20}, std::uintmax_t{60}, size / 2, size - 1}) {
    auto cut = (tmp.path() / ("cut-" + std::to_string(keep))).string();
    fs::copy_file(archive, cut);
    fs::resize_file(cut, keep);
    auto n = restore_archives({cut}, (tmp.path() / ("out-" + std::to_string(keep))).string());
    ASSERT_FALSE(n) << "cut at " << keep;
    EXPECT_EQ(code_of(n.error()), "corrupt") << describe(n.error());
    EXPECT_NE(describe(n.error()).find(cut), std::string::npos) << describe(n.error());
  }
  auto manifest_cut = (tmp.path() / "cut-20").string();
  auto m = read_manifest(manifest_cut);
  ASSERT_FALSE(m);
  EXPECT_EQ(code_of(m.error()), "corrupt");
  auto missing = restore_archives({(tmp.path() / "nope").string()}, (tmp.path() / "o").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(code_of(missing.error()), "not_found");
}

/// An archive in the documented format, written by hand: `listed` in the
/// manifest (all with the SHA-256 of "hi"), `stored` with "hi" as content.
std::string craft(const fs::path& file, const std::vector<std::string>& listed,
                  const std::vector<std::string>& stored) {
  std::string out = "SYDIRARC";
  auto put = [&out](std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i)
      out += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  put(1, 4);
  put(listed.size(), 8);
  for (const auto& p : listed) {
    put(p.size(), 4);
    out += p;
    put(2, 8);
    put(0644, 4);
    out += "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4";
  }
  put(stored.size(), 8);
  for (const auto& p : stored) {
    put(p.size(), 4);
    out += p;
    put(0644, 4);
    put(2, 8);
    out += "hi";
  }
  out += "SYDIREND";
  std::ofstream(file, std::ios::binary) << out;
  return file.string();
}

TEST(directory_archive, hostile_paths_are_corrupt_and_nothing_lands_outside_the_target) {
  temp_dir tmp;
  // The hand-made format is right: a harmless archive restores.
  auto ok = craft(tmp.path() / "ok", {"x/y.txt"}, {"x/y.txt"});
  auto n = restore_archives({ok}, (tmp.path() / "ok-out").string());
  ASSERT_TRUE(n) << describe(n.error());
  EXPECT_EQ(read_file((tmp.path() / "ok-out/x/y.txt").string()), "hi");

  struct hostile {
    std::vector<std::string> listed, stored;
  };
  for (const auto& [listed, stored] :
       std::vector<hostile>{{{"../evil"}, {"../evil"}},
                            {{"ok"}, {"../evil"}}, // stored, though not listed
                            {{"a/../../evil"}, {"a/../../evil"}},
                            {{(tmp.path() / "evil").string()}, {(tmp.path() / "evil").string()}},
                            {{"./evil"}, {"./evil"}},
                            {{"a//evil"}, {"a//evil"}}}) {
    auto archive = craft(tmp.path() / "bad", listed, stored);
    auto target = tmp.path() / "target";
    auto r = restore_archives({archive}, target.string());
    ASSERT_FALSE(r) << stored.front();
    EXPECT_EQ(code_of(r.error()), "corrupt") << describe(r.error());
    EXPECT_NE(describe(r.error()).find('"' + stored.front() + '"'), std::string::npos)
        << describe(r.error());
    EXPECT_FALSE(fs::exists(tmp.path() / "evil"));
    EXPECT_FALSE(fs::exists(target / "evil"));
    EXPECT_FALSE(fs::exists(target / "a/evil"));
    fs::remove_all(target);
  }
}

TEST(directory_archive, errors_name_the_path) {
  temp_dir tmp;
  write(tmp.path() / "src/f", "f");
  auto archive = (tmp.path() / "no-such-folder/full").string();
  auto info = write_archive((tmp.path() / "src").string(), nullptr, archive);
  ASSERT_FALSE(info);
  EXPECT_EQ(code_of(info.error()), "backup_failed");
  EXPECT_NE(describe(info.error()).find(archive + ".partial: No such file or directory"),
            std::string::npos)
      << describe(info.error());
  auto scanned = scan_directory((tmp.path() / "absent").string());
  ASSERT_FALSE(scanned);
  EXPECT_NE(describe(scanned.error()).find("absent"), std::string::npos);
}

} // namespace
} // namespace switchyard::backups

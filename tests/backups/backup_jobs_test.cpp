// One backup taken and its chain fetched back, through a real exec
// destination (cp commands) and a directory one, with a source that writes a
// known file: the artifact and its record land together, a missing artifact is
// a corrupt link, a download that fails is not.
#include "backups/backup_jobs.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "backups/record_json.hpp"
#include "tests/backups/error_code.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace switchyard;
using namespace switchyard::backups;
using switchyard::testing::code_of;
using switchyard::testing::read_file;
using switchyard::testing::temp_dir;
namespace fs = std::filesystem;

namespace {

// Writes `content` as the raw data of every backup.
class fixed_source final : public backup_source {
public:
  explicit fixed_source(std::string content) : content_(std::move(content)) {}
  bool takes_incrementals() const override { return false; }
  caf::expected<produced> produce(const produce_request& r) override {
    produced out;
    out.file = r.scratch + "/data";
    std::ofstream(out.file) << content_;
    out.extension = "bin";
    out.source = "fixed";
    out.point_ms = 1234;
    out.facts = R"({"bytes": 1})";
    return out;
  }
  caf::expected<std::string> restore(const std::vector<std::string>&, const std::string&) override {
    return std::string{};
  }
  caf::expected<std::string> check(const std::vector<std::string>&, const std::string&,
                                   const std::string&) override {
    return std::string{};
  }

private:
  std::string content_;
};

class backup_jobs_test : public ::testing::Test {
protected:
  config::backup_destination_settings exec_settings() {
    auto store = dir.path().string() + "/store";
    config::backup_destination_settings s;
    s.upload = "mkdir -p \"$(dirname " + store + "/{name})\" && cp {file} " + store + "/{name}";
    s.download = "cp " + store + "/{name} {file}";
    return s;
  }

  backup_record record(std::int64_t id) {
    backup_record b;
    b.id = id;
    b.service = "cache";
    b.tier = "cloud";
    b.kind = backup_kind::full;
    return b;
  }

  temp_dir dir;
};

} // namespace

TEST_F(backup_jobs_test, a_backup_lands_with_its_record_and_comes_back_through_exec) {
  fixed_source src{std::string(100'000, 'x') + "end"};
  auto dest = make_destination(exec_settings());
  auto taken = take_backup({&src, dest.get(), record(7), 3, dir.path().string() + "/work", "sy-a"});
  ASSERT_TRUE(taken) << describe(taken.error());
  EXPECT_EQ(taken->artifact, "cache/cloud/sy-a-7-full.bin.zst");
  EXPECT_EQ(taken->status, backup_status::complete);
  EXPECT_EQ(taken->raw_bytes, 100'003u);
  EXPECT_LT(taken->stored_bytes, 1'000u) << "compressed";
  auto sidecar = read_file(dir.path().string() + "/store/" + sidecar_name(taken->artifact));
  auto rec = record_from_json(sidecar);
  ASSERT_TRUE(rec) << sidecar;
  EXPECT_EQ(rec->sha256, taken->sha256);
  EXPECT_EQ(rec->point_ms, 1234);
  EXPECT_TRUE(fs::is_empty(dir.path().string() + "/work/jobs")) << "scratch removed";

  std::int64_t failed = -1;
  auto raw = fetch_chain(*dest, {*taken}, dir.path().string() + "/fetch", failed);
  ASSERT_TRUE(raw) << describe(raw.error());
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(read_file(raw->front()), std::string(100'000, 'x') + "end");
}

TEST_F(backup_jobs_test, a_missing_artifact_is_a_corrupt_link_a_failed_download_is_not) {
  fixed_source src{"data"};
  auto dest = make_destination(exec_settings());
  auto taken = take_backup({&src, dest.get(), record(8), 3, dir.path().string() + "/work", "n"});
  ASSERT_TRUE(taken) << describe(taken.error());
  fs::remove(dir.path().string() + "/store/" + taken->artifact);
  std::int64_t failed = 0;
  auto gone = fetch_chain(*dest, {*taken}, dir.path().string() + "/fetch", failed);
  ASSERT_FALSE(gone);
  // cp fails for a missing file as for any other reason: an exec download cannot tell.
  EXPECT_EQ(code_of(gone.error()), "backup_failed") << describe(gone.error());
  EXPECT_EQ(failed, 0) << "nothing is marked corrupt on a failed download";

  auto root = dir.path().string() + "/dirdest";
  auto local = make_destination({root, "", "", "", std::chrono::milliseconds{10'000}});
  auto kept = take_backup({&src, local.get(), record(9), 3, dir.path().string() + "/work", "n"});
  ASSERT_TRUE(kept) << describe(kept.error());
  fs::remove(root + "/" + kept->artifact);
  auto missing = fetch_chain(*local, {*kept}, dir.path().string() + "/fetch2", failed);
  ASSERT_FALSE(missing);
  EXPECT_EQ(code_of(missing.error()), "corrupt") << describe(missing.error());
  EXPECT_EQ(failed, 9);
  EXPECT_NE(describe(missing.error()).find("link #9"), std::string::npos);
}

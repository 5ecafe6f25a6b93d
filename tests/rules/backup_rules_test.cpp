// The backup rules, pure: full or incremental, chains, which point a restore
// uses, 3-2-1 and RPO compliance, retention. Rows built by hand, times explicit.
#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "rules/backup_rules.hpp"

using namespace switchyard;
using namespace switchyard::rules;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t t0 = 1'796'637'600'000; // 2026-12-07T10:00:00Z
constexpr std::int64_t hour = 3'600'000;

backup_record rec(std::int64_t id, std::int64_t parent = 0, std::string tier = "local",
                  backup_status status = backup_status::complete) {
  backup_record r;
  r.id = id;
  r.service = "db";
  r.tier = tier;
  r.kind = parent == 0 ? backup_kind::full : backup_kind::incremental;
  r.parent = parent;
  r.status = status;
  r.point_ms = t0 + id * hour;
  r.started_ms = r.point_ms;
  r.site = "dc1";
  r.medium = "disk";
  return r;
}

backup_record bad_rec(std::int64_t id, std::int64_t parent, backup_status status, std::string error,
                      std::string tier = "local") {
  auto r = rec(id, parent, std::move(tier), status);
  r.error = std::move(error);
  return r;
}

backup_record verified(backup_record r, std::string site, std::string medium) {
  r.verified_ms = r.point_ms + 1000;
  r.site = std::move(site);
  r.medium = std::move(medium);
  return r;
}

std::vector<std::int64_t> ids(const std::vector<backup_record>& chain) {
  std::vector<std::int64_t> out;
  for (const auto& r : chain)
    out.push_back(r.id);
  return out;
}

bool has_code(const caf::error& err, sy_errc code) {
  return err.category() == caf::atom("switchyard") && err.code() == static_cast<std::uint8_t>(code);
}

} // namespace

// -- choose_next ------------------------------------------------------------

TEST(choose_next, the_first_backup_and_a_tier_without_restorable_ones_are_full) {
  auto n = choose_next({}, 6, false, true, -1);
  EXPECT_EQ(n.kind, backup_kind::full);
  EXPECT_EQ(n.reason, "first backup of this tier");
  n = choose_next({bad_rec(1, 0, backup_status::failed, "disk full"),
                   rec(2, 0, "local", backup_status::running)},
                  6, false, true, -1);
  EXPECT_EQ(n.kind, backup_kind::full);
  EXPECT_EQ(n.reason, "no restorable backup in tier local");
}

TEST(choose_next, full_when_the_tier_the_operator_or_the_source_says_so) {
  const std::vector<backup_record> h{rec(40), rec(41, 40)};
  auto n = choose_next(h, 0, false, true, -1);
  EXPECT_EQ(n.kind, backup_kind::full);
  EXPECT_EQ(n.reason, "tier local takes only full backups");
  n = choose_next(h, 6, true, true, -1);
  EXPECT_EQ(n.kind, backup_kind::full);
  EXPECT_EQ(n.reason, "full backup asked for");
  n = choose_next(h, 6, false, false, -1);
  EXPECT_EQ(n.kind, backup_kind::full);
  EXPECT_EQ(n.reason, "the source takes only full backups");
  EXPECT_EQ(choose_next(h, 6, false, true, -1).kind, backup_kind::incremental);
}

TEST(choose_next, the_chain_grows_until_full_every_then_starts_again) {
  std::vector<backup_record> h;
  std::vector<std::string> reasons;
  for (std::int64_t id = 1; id <= 6; ++id) {
    auto n = choose_next(h, 3, false, true, -1);
    reasons.push_back(n.reason);
    h.push_back(rec(id, n.kind == backup_kind::incremental ? n.parent : 0));
    EXPECT_EQ(n.kind == backup_kind::full, id == 1 || id == 5) << id << ": " << n.reason;
    if (n.kind == backup_kind::incremental) {
      EXPECT_EQ(n.parent, id - 1);
    }
  }
  EXPECT_EQ(reasons[1], "incremental on #1 (1 of 3 since full #1)");
  EXPECT_EQ(reasons[3], "incremental on #3 (3 of 3 since full #1)");
  EXPECT_EQ(reasons[4], "#1 and 3 incrementals: full every 3");
  EXPECT_EQ(reasons[5], "incremental on #5 (1 of 3 since full #5)");
}

TEST(choose_next, a_corrupt_link_in_the_newest_chain_forces_a_full) {
  const std::vector<backup_record> h{rec(40), rec(41, 40),
                                     bad_rec(42, 41, backup_status::corrupt, "sha256 mismatch"),
                                     rec(43, 42), rec(44, 43)};
  auto n = choose_next(h, 6, false, true, -1);
  EXPECT_EQ(n.kind, backup_kind::full);
  EXPECT_EQ(n.reason,
            "the chain of #44 is broken: link #42 is corrupt: sha256 mismatch: a new full backup");
}

TEST(choose_next, a_newer_failed_backup_outside_the_chain_does_not_matter) {
  const std::vector<backup_record> h{rec(40), rec(44, 40),
                                     bad_rec(45, 44, backup_status::failed, "timed out"),
                                     rec(46, 0, "local", backup_status::running)};
  auto n = choose_next(h, 6, false, true, -1);
  EXPECT_EQ(n.kind, backup_kind::incremental);
  EXPECT_EQ(n.parent, 44);
  EXPECT_EQ(n.reason, "incremental on #44 (2 of 6 since full #40)");
}

TEST(choose_next, incrementals_recorded_by_switchyardd_need_its_recording_base) {
  const std::vector<backup_record> h{rec(40), rec(41, 40)};
  auto n = choose_next(h, 6, false, true, 40);
  EXPECT_EQ(n.kind, backup_kind::full);
  EXPECT_EQ(n.reason, "changes since #41 were not recorded by this switchyardd (it restarted or "
                      "recording began at #40): full backup");
  n = choose_next(h, 6, false, true, 0);
  EXPECT_EQ(n.kind, backup_kind::full);
  EXPECT_EQ(n.reason, "changes since #41 were not recorded by this switchyardd (it is not "
                      "recording): full backup");
  n = choose_next(h, 6, false, true, 41);
  EXPECT_EQ(n.kind, backup_kind::incremental);
  EXPECT_EQ(n.parent, 41);
}

// -- chain_of ---------------------------------------------------------------

TEST(chain_of, lists_the_full_base_first_then_each_incremental) {
  const std::vector<backup_record> all{rec(44, 43), rec(40), rec(43, 41), rec(41, 40), rec(42, 40)};
  auto chain = chain_of(all, 44);
  ASSERT_TRUE(chain) << describe(chain.error());
  EXPECT_EQ(ids(*chain), (std::vector<std::int64_t>{40, 41, 43, 44}));
  chain = chain_of(all, 40);
  ASSERT_TRUE(chain);
  EXPECT_EQ(ids(*chain), (std::vector<std::int64_t>{40}));
}

TEST(chain_of, names_the_first_link_that_breaks_it) {
  auto check = [](const std::vector<backup_record>& all, std::int64_t id, const char* want) {
    auto chain = chain_of(all, id);
    ASSERT_FALSE(chain) << id;
    EXPECT_TRUE(has_code(chain.error(), sy_errc::corrupt)) << describe(chain.error());
    EXPECT_EQ(describe(chain.error()), std::string{"corrupt: "} + want);
  };
  check({rec(40), bad_rec(41, 40, backup_status::corrupt, "sha256 mismatch"), rec(44, 41)}, 44,
        "link #41 of the chain of #44 is corrupt: sha256 mismatch");
  check({rec(41, 40), rec(44, 41)}, 44, "link #40 of the chain of #44 is missing from the catalog");
  check({rec(41, 44), rec(44, 41)}, 44, "backup #44 comes back in its own chain (a parent cycle)");
  auto full_with_parent = rec(40);
  full_with_parent.parent = 39;
  check({rec(39), full_with_parent, rec(41, 40)}, 41,
        "link #40 of the chain of #41 is a full backup but names parent #39");
  check({rec(40), rec(41, 40, "local", backup_status::running), rec(42, 41)}, 42,
        "link #41 of the chain of #42 is still running");
  check({rec(40), bad_rec(41, 40, backup_status::failed, "")}, 41, "backup #41 failed");
  check({}, 7, "backup #7 is missing from the catalog");
}

// -- choose_restore ---------------------------------------------------------

TEST(choose_restore, takes_the_newest_point_of_the_first_preferred_tier) {
  const std::vector<backup_record> all{rec(40), rec(41, 40), rec(42, 41), rec(50, 0, "cloud"),
                                       rec(51, 50, "cloud")};
  auto c = choose_restore(all, 0, {"local", "cloud"});
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(c->tier, "local");
  EXPECT_EQ(ids(c->chain), (std::vector<std::int64_t>{40, 41, 42}));
  EXPECT_TRUE(c->skipped.empty());
  c = choose_restore(all, 0, {"cloud", "local"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->tier, "cloud");
  EXPECT_EQ(ids(c->chain), (std::vector<std::int64_t>{50, 51}));
}

TEST(choose_restore, a_corrupt_link_falls_back_to_an_older_point_of_the_tier) {
  const std::vector<backup_record> all{rec(40), rec(41, 40),
                                       bad_rec(42, 41, backup_status::corrupt, "sha256 mismatch"),
                                       rec(43, 42), rec(44, 43)};
  auto c = choose_restore(all, 0, {"local"});
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(ids(c->chain), (std::vector<std::int64_t>{40, 41}));
  EXPECT_EQ(c->skipped, (std::vector<std::string>{
                            "tier local: #44 skipped: link #42 is corrupt: sha256 mismatch",
                            "tier local: #43 skipped: link #42 is corrupt: sha256 mismatch"}));
}

TEST(choose_restore, moves_to_the_next_tier_when_a_tier_has_nothing) {
  const std::vector<backup_record> all{rec(40, 0, "cloud"), rec(41, 40, "cloud"),
                                       rec(45, 0, "regional")};
  auto c = choose_restore(all, 0, {"local", "cloud"});
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(c->tier, "cloud");
  EXPECT_EQ(ids(c->chain), (std::vector<std::int64_t>{40, 41}));
  EXPECT_EQ(c->skipped, (std::vector<std::string>{"tier local: no backups"}));
  // Only at or before #41's point: regional's #45 is too new.
  c = choose_restore(all, t0 + 41 * hour, {"regional", "cloud"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->tier, "cloud");
  EXPECT_EQ(c->skipped, (std::vector<std::string>{
                            "tier regional: no backup at or before 2026-12-09T03:00:00Z"}));
}

TEST(choose_restore, a_point_in_time_picks_the_newest_not_after_it) {
  const std::vector<backup_record> all{rec(40), rec(41, 40), rec(42, 41), rec(43, 42)};
  auto c = choose_restore(all, t0 + 42 * hour + 30 * 60'000, {"local"});
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(c->chain.back().id, 42);
  c = choose_restore(all, t0 + 42 * hour, {"local"}); // exactly at #42's point
  ASSERT_TRUE(c);
  EXPECT_EQ(c->chain.back().id, 42);
  c = choose_restore(all, t0 + 42 * hour - 1, {"local"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->chain.back().id, 41);
}

TEST(choose_restore, a_chain_found_corrupt_while_restoring_is_passed_over) {
  const std::vector<backup_record> all{rec(40), rec(41, 40), rec(42, 41), rec(50, 0, "cloud")};
  auto c = choose_restore(all, 0, {"local", "cloud"}, {41});
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(c->tier, "local");
  EXPECT_EQ(ids(c->chain), (std::vector<std::int64_t>{40}));
  EXPECT_EQ(c->skipped,
            (std::vector<std::string>{
                "tier local: #42 skipped: link #41 was found corrupt while restoring",
                "tier local: #41 skipped: link #41 was found corrupt while restoring"}));
  c = choose_restore(all, 0, {"local", "cloud"}, {40});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->tier, "cloud");
  EXPECT_EQ(c->skipped.size(), 3u);
}

TEST(choose_restore, not_found_lists_why_each_tier_had_nothing) {
  const std::vector<backup_record> all{
      bad_rec(40, 0, backup_status::corrupt, "missing at destination"), rec(41, 40),
      bad_rec(50, 0, backup_status::failed, "exit 1", "cloud"), rec(60, 0, "offsite")};
  auto c = choose_restore(all, 0, {"local", "cloud", "tape"});
  ASSERT_FALSE(c);
  EXPECT_TRUE(has_code(c.error(), sy_errc::not_found));
  EXPECT_EQ(describe(c.error()),
            "not_found: nothing to restore: tier local: #41 skipped: link #40 is corrupt: missing "
            "at destination; tier cloud: no restorable backup; tier tape: no backups");
  c = choose_restore(all, t0, {"offsite"});
  ASSERT_FALSE(c);
  EXPECT_EQ(describe(c.error()), "not_found: nothing to restore at or before 2026-12-07T10:00:00Z: "
                                 "tier offsite: no backup at or before 2026-12-07T10:00:00Z");
  EXPECT_FALSE(choose_restore(all, 0, {}));
}

// -- assess_compliance ------------------------------------------------------

std::vector<backup_record> three_tiers() {
  return {verified(rec(40, 0, "local"), "dc1", "disk"),
          verified(rec(41, 0, "regional"), "dc1", "disk"),
          verified(rec(42, 0, "cloud"), "aws-eu", "object-store")};
}

TEST(assess_compliance, three_tiers_on_two_media_with_one_off_site_meet_3_2_1) {
  auto c = assess_compliance(three_tiers(), "dc1", 1h, t0 + 42 * hour + 10 * 60'000);
  EXPECT_EQ(c.copies, 3);
  EXPECT_EQ(c.media, 2);
  EXPECT_EQ(c.offsite, 1);
  EXPECT_TRUE(c.meets_3_2_1);
  EXPECT_EQ(c.newest_verified_ms, t0 + 42 * hour);
  EXPECT_EQ(c.age_ms, 10 * 60'000);
  EXPECT_TRUE(c.rpo_met);
  EXPECT_TRUE(c.gaps.empty()) << c.gaps.front();
}

TEST(assess_compliance, each_missing_piece_has_its_gap_line) {
  auto all = three_tiers();
  all.pop_back(); // no cloud: 2 copies, one medium, nothing off site
  auto c = assess_compliance(all, "dc1", 1h, t0 + 44 * hour);
  EXPECT_FALSE(c.meets_3_2_1);
  EXPECT_FALSE(c.rpo_met);
  EXPECT_EQ(c.age_ms, 3 * hour);
  EXPECT_EQ(c.gaps,
            (std::vector<std::string>{"2 verified copies, 3 needed (local, regional)",
                                      "1 medium, 2 needed (disk)", "no verified copy off site dc1",
                                      "newest verified backup is 3h old, RPO is 1h"}));
  all = three_tiers();
  all[2].medium = "disk";
  c = assess_compliance(all, "dc1", 0ms, t0 + 100 * hour);
  EXPECT_EQ(c.gaps, (std::vector<std::string>{"1 medium, 2 needed (disk)"}));
  EXPECT_TRUE(c.rpo_met); // no RPO declared
  all = three_tiers();
  all[2].site = "dc1";
  c = assess_compliance(all, "dc1", 2h, t0 + 44 * hour + 90 * 60'000);
  EXPECT_EQ(c.gaps, (std::vector<std::string>{"no verified copy off site dc1",
                                              "newest verified backup is 3h30m old, RPO is 2h"}));
}

TEST(assess_compliance, unverified_copies_and_broken_chains_do_not_count) {
  auto all = three_tiers();
  all[1].verified_ms = 0;
  all.push_back(verified(rec(43, 0, "regional"), "dc1", "disk"));
  all.back().status = backup_status::corrupt;
  // A verified incremental whose parent is corrupt is no copy either.
  all.push_back(bad_rec(44, 0, backup_status::corrupt, "sha256 mismatch", "tape"));
  all.push_back(verified(rec(45, 44, "tape"), "vault", "tape"));
  auto c = assess_compliance(all, "dc1", 0ms, t0 + 50 * hour);
  EXPECT_EQ(c.copies, 2);
  EXPECT_EQ(c.media, 2);
  EXPECT_EQ(c.offsite, 1);
  EXPECT_FALSE(c.meets_3_2_1);
  EXPECT_EQ(c.newest_verified_ms, t0 + 42 * hour);
  EXPECT_EQ(c.gaps, (std::vector<std::string>{"2 verified copies, 3 needed (cloud, local)"}));
  // A tier counts once, however many verified points it holds.
  all.push_back(verified(rec(46, 0, "local"), "dc1", "disk"));
  EXPECT_EQ(assess_compliance(all, "dc1", 0ms, t0).copies, 2);
}

TEST(assess_compliance, nothing_verified_is_one_gap_and_misses_the_rpo) {
  auto all = three_tiers();
  for (auto& r : all)
    r.verified_ms = 0;
  for (auto rpo : {0ms, std::chrono::milliseconds{1h}}) {
    auto c = assess_compliance(all, "dc1", rpo, t0 + 50 * hour);
    EXPECT_EQ(c.copies, 0);
    EXPECT_EQ(c.newest_verified_ms, 0);
    EXPECT_EQ(c.age_ms, -1);
    EXPECT_FALSE(c.rpo_met);
    EXPECT_FALSE(c.meets_3_2_1);
    EXPECT_EQ(c.gaps, (std::vector<std::string>{"no verified backup"}));
  }
}

// -- retention_drop ---------------------------------------------------------

TEST(retention_drop, keeps_the_base_of_a_kept_incremental_and_drops_older_chains) {
  const std::vector<backup_record> tier{rec(10),     rec(11, 10), rec(12, 11), rec(20),
                                        rec(21, 20), rec(22, 21), rec(23, 22)};
  EXPECT_EQ(retention_drop(tier, 2, 0ms, t0 + 30 * hour), (std::vector<std::int64_t>{10, 11, 12}));
  EXPECT_EQ(retention_drop(tier, 5, 0ms, t0 + 30 * hour), (std::vector<std::int64_t>{}));
  EXPECT_EQ(retention_drop(tier, 6, 0ms, t0 + 30 * hour), (std::vector<std::int64_t>{}));
}

TEST(retention_drop, keep_for_keeps_the_points_younger_than_it) {
  const std::vector<backup_record> tier{rec(10), rec(11, 10), rec(20), rec(21, 20), rec(22)};
  // Now is #22's point + 30 min: within 2h are #21 (1h30) and #22.
  const auto now = t0 + 22 * hour + 30 * 60'000;
  EXPECT_EQ(retention_drop(tier, 0, 2h, now), (std::vector<std::int64_t>{10, 11}));
  // Either rule keeps a point: keep 4 keeps #11 too, and #11 needs #10.
  EXPECT_EQ(retention_drop(tier, 4, 2h, now), (std::vector<std::int64_t>{}));
  EXPECT_EQ(retention_drop(tier, 1, 30min, now), (std::vector<std::int64_t>{10, 11, 20, 21}));
  // Both 0: everything stays.
  EXPECT_EQ(retention_drop(tier, 0, 0ms, now), (std::vector<std::int64_t>{}));
}

TEST(retention_drop, the_newest_point_stays_even_when_older_than_keep_for) {
  const std::vector<backup_record> tier{rec(10), rec(11, 10), rec(12)};
  EXPECT_EQ(retention_drop(tier, 0, 1h, t0 + 500 * hour), (std::vector<std::int64_t>{10, 11}));
}

TEST(retention_drop, running_stay_and_only_old_failures_go) {
  const std::vector<backup_record> tier{bad_rec(9, 0, backup_status::failed, "exit 1"),
                                        rec(10),
                                        bad_rec(11, 10, backup_status::corrupt, "sha256 mismatch"),
                                        rec(12),
                                        bad_rec(13, 12, backup_status::failed, "timed out"),
                                        rec(14, 0, "local", backup_status::running)};
  EXPECT_EQ(retention_drop(tier, 1, 0ms, t0 + 20 * hour), (std::vector<std::int64_t>{9, 10, 11}));
  // No restorable point at all: the failures are all recent trouble.
  const std::vector<backup_record> failing{bad_rec(1, 0, backup_status::failed, "exit 1"),
                                           rec(2, 0, "local", backup_status::running)};
  EXPECT_TRUE(retention_drop(failing, 1, 0ms, t0).empty());
}

// -- next_due_ms ------------------------------------------------------------

TEST(next_due_ms, is_now_when_never_taken_else_every_after_the_last_start) {
  EXPECT_EQ(next_due_ms(0, 1h, t0), t0);
  EXPECT_EQ(next_due_ms(t0 - 10 * 60'000, 1h, t0), t0 + 50 * 60'000);
  EXPECT_EQ(next_due_ms(t0 - 2 * hour, 1h, t0), t0 - hour); // overdue: due in the past
}

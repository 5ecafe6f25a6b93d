// The fenced journal: the authority is asked before a step is journaled and
// run, and told its outcome after; a refusal stops the step.
#include <gtest/gtest.h>

#include "actors/fenced_journal.hpp"
#include "messages/error.hpp"

using namespace switchyard;
using namespace switchyard::actors;

namespace {

// Both fakes also append to one log, which shows the order of their calls.
std::vector<std::string> both;

struct recording_journal : strategies::step_journal {
  std::vector<std::string> calls;
  caf::expected<step_id> begin_step(const step_start& s) override {
    calls.push_back("begin " + std::to_string(s.step.sequence));
    both.push_back("journal: " + calls.back());
    return step_id{100 + s.step.sequence};
  }
  caf::expected<void> finish_step(const step_finish& s) override {
    calls.push_back("finish " + std::to_string(s.step.value) + (s.ok ? " ok" : " failed"));
    both.push_back("journal: " + calls.back());
    return caf::unit;
  }
};

struct recording_authority final : single_node_authority {
  std::vector<std::string> calls;
  bool refuse = false;
  bool may_act() const override { return !refuse; }
  std::int64_t epoch() const override { return 3; }
  caf::expected<void> step(const service_id& service, switchover_id id, std::uint32_t sequence,
                           step_status status) override {
    calls.push_back(service.value + " #" + std::to_string(id.value) + " step " +
                    std::to_string(sequence) + " " + to_string(status));
    both.push_back("etcd: " + calls.back());
    if (refuse)
      return make_sy_error(sy_errc::failover_blocked, "refused: not leader (epoch 3)");
    return caf::unit;
  }
};

step_start start_of(std::uint32_t sequence) {
  step_start s;
  s.switchover = switchover_id{7};
  s.step.sequence = sequence;
  s.step.name = "promote-b";
  return s;
}

} // namespace

TEST(fenced_journal, a_step_is_recorded_with_the_authority_before_and_after) {
  both.clear();
  recording_journal inner;
  recording_authority authority;
  fenced_journal journal{inner, authority, service_id{"web"}};
  auto id = journal.begin_step(start_of(2));
  ASSERT_TRUE(id);
  ASSERT_TRUE(journal.finish_step(step_finish{*id, true, "exit 0"}));
  EXPECT_EQ(authority.calls,
            (std::vector<std::string>{"web #7 step 2 started", "web #7 step 2 done"}));
  EXPECT_EQ(inner.calls, (std::vector<std::string>{"begin 2", "finish 102 ok"}));
  // etcd first both times: a successor going by etcd never runs a step this
  // one did not begin there, nor again one it finished there.
  EXPECT_EQ(both, (std::vector<std::string>{"etcd: web #7 step 2 started", "journal: begin 2",
                                            "etcd: web #7 step 2 done", "journal: finish 102 ok"}));
}

TEST(fenced_journal, a_refused_step_is_neither_journaled_nor_run) {
  recording_journal inner;
  recording_authority authority;
  authority.refuse = true;
  fenced_journal journal{inner, authority, service_id{"web"}};
  auto id = journal.begin_step(start_of(1));
  ASSERT_FALSE(id);
  EXPECT_NE(describe(id.error()).find("refused: not leader (epoch 3)"), std::string::npos)
      << describe(id.error());
  EXPECT_TRUE(inner.calls.empty());
}

TEST(fenced_journal, a_step_that_ran_while_leadership_was_lost_stops_the_next) {
  recording_journal inner;
  recording_authority authority;
  fenced_journal journal{inner, authority, service_id{"web"}};
  auto id = journal.begin_step(start_of(1));
  ASSERT_TRUE(id);
  authority.refuse = true; // deposed while the action ran
  auto finished = journal.finish_step(step_finish{*id, false, "exit 1"});
  ASSERT_FALSE(finished) << "the strategy stops: no further step";
  EXPECT_EQ(inner.calls.back(), "finish 101 failed") << "the local journal still has the outcome";
  EXPECT_EQ(authority.calls.back(), "web #7 step 1 failed");
}

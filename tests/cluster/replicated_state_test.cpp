// The replicated state (topology and switchover intents) against a real
// three-member etcd cluster: round trips through load(), the stale refusals
// (an intent twice, another switchover's step, an older epoch), finish as one
// transaction, a deposed leader refused by etcd itself, malformed values, and
// a quorum loss. Each case starts its own cluster.
#include <mutex>

#include <gtest/gtest.h>

#include "cluster/fencing.hpp"
#include "cluster/leader_lease.hpp"
#include "cluster/replicated_state.hpp"
#include "tests/cluster/cluster_fixture.hpp"
#include "tests/support/etcd_cluster.hpp"

using namespace std::chrono_literals;
using namespace switchyard::cluster;
using switchyard::describe;
using switchyard::epoch;
using switchyard::instance_id;
using switchyard::service_id;
using switchyard::step_phase;
using switchyard::switchover_id;
using switchyard::switchover_kind;
using switchyard::testing::etcd_client_of;
using switchyard::testing::etcd_cluster;
using switchyard::testing::stopwatch;
using switchyard::testing::wait_until;

namespace {

const std::string leader_key = "/switchyard/leader";
const std::string prefix = "/switchyard/state";
const service_id orders{"orders-db"};
const service_id billing{"billing-db"};

state_writer lead(const etcd_client& client, const std::string& id) {
  return switchyard::testing::lead_without_lease(client, leader_key, id);
}

switchover_intent intent_of(switchover_id id, std::uint64_t new_epoch) {
  switchover_intent in;
  in.service = orders;
  in.id = id;
  in.kind = switchover_kind::planned_switchover;
  in.from = instance_id{"orders-a"};
  in.to = instance_id{"orders-b"};
  in.new_epoch = epoch{new_epoch};
  in.steps = {{1, "drain", step_phase::demote, step_progress::pending},
              {2, "promote-b", step_phase::promote, step_progress::pending}};
  return in;
}

topology_record topology_of(const service_id& service, const std::string& primary,
                            std::uint64_t service_epoch) {
  topology_record t;
  t.service = service;
  t.primary = instance_id{primary};
  t.service_epoch = epoch{service_epoch};
  return t;
}

replicated_snapshot loaded(const replicated_state& state) {
  auto snap = state.load();
  if (!snap)
    throw std::runtime_error(describe(snap.error()));
  return *snap;
}

std::string text(const caf::error& err) {
  return describe(err);
}

struct fixture : ::testing::Test {
  void SetUp() override { ASSERT_EQ(etcd.start(), ""); }
  etcd_cluster etcd;
  etcd_client client = etcd_client_of(etcd.endpoints(), 500ms);
  replicated_state state{client, prefix, leader_key};
};

using replicated_state_test = fixture;

} // namespace

TEST_F(replicated_state_test, topology_and_intents_round_trip_through_load) {
  auto a = lead(client, "a");
  ASSERT_TRUE(state.record_topology(a, topology_of(orders, "orders-a", 3)));
  auto t = topology_of(billing, "billing-x", 7);
  t.switchover = switchover_id{41};
  t.at_ms = 1234;
  ASSERT_TRUE(state.record_topology(a, t));
  auto begun = state.begin_intent(a, intent_of(switchover_id{42}, 4));
  ASSERT_TRUE(begun) << text(begun.error());

  auto snap = loaded(state);
  EXPECT_GE(snap.revision, *begun);
  ASSERT_EQ(snap.topology.size(), 2u);
  const auto& b = snap.topology.at(billing);
  EXPECT_EQ(b.service, billing);
  EXPECT_EQ(b.primary.value, "billing-x");
  EXPECT_EQ(b.service_epoch.value, 7u);
  EXPECT_EQ(b.switchover.value, 41);
  EXPECT_EQ(b.written_by, a.epoch);
  EXPECT_EQ(b.at_ms, 1234);
  EXPECT_GT(snap.topology.at(orders).at_ms, 0) << "stamped with the wall clock";
  ASSERT_EQ(snap.intents.size(), 1u);
  const auto& in = snap.intents.at(orders);
  EXPECT_EQ(in.id.value, 42);
  EXPECT_EQ(in.kind, switchover_kind::planned_switchover);
  EXPECT_EQ(in.from.value, "orders-a");
  EXPECT_EQ(in.to.value, "orders-b");
  EXPECT_EQ(in.new_epoch.value, 4u);
  EXPECT_EQ(in.leader_id, "a");
  EXPECT_EQ(in.written_by, a.epoch);
  EXPECT_GT(in.started_ms, 0);
  EXPECT_EQ(in.mod_revision, *begun);
  ASSERT_EQ(in.steps.size(), 2u);
  EXPECT_EQ(in.steps[1].sequence, 2u);
  EXPECT_EQ(in.steps[1].name, "promote-b");
  EXPECT_EQ(in.steps[1].phase, step_phase::promote);
  EXPECT_EQ(in.steps[1].progress, step_progress::pending);

  // Readable JSON for an operator with etcdctl.
  auto raw = client.get(state.intent_key(orders));
  ASSERT_TRUE(raw && *raw);
  EXPECT_NE((*raw)->value.find(R"("kind":"planned_switchover")"), std::string::npos)
      << (*raw)->value;
  EXPECT_NE((*raw)->value.find(R"("phase":"demote","progress":"pending")"), std::string::npos)
      << (*raw)->value;
}

TEST_F(replicated_state_test, an_intent_is_begun_once_and_steps_only_of_its_switchover) {
  auto a = lead(client, "a");
  ASSERT_TRUE(state.begin_intent(a, intent_of(switchover_id{7}, 2)));
  auto twice = state.begin_intent(a, intent_of(switchover_id{8}, 3));
  ASSERT_FALSE(twice);
  EXPECT_TRUE(is_stale_refusal(twice.error()));
  EXPECT_FALSE(is_fencing_refusal(twice.error()));
  EXPECT_NE(text(twice.error()).find("refused: stale: switchover 7 of \"orders-db\""),
            std::string::npos)
      << text(twice.error());

  auto other = state.record_step(a, orders, switchover_id{8}, 1, step_progress::running);
  ASSERT_FALSE(other);
  EXPECT_TRUE(is_stale_refusal(other.error()));
  EXPECT_NE(text(other.error()).find("switchover 8 of \"orders-db\" is not in flight"),
            std::string::npos)
      << text(other.error());
  auto none = state.record_step(a, billing, switchover_id{7}, 1, step_progress::running);
  ASSERT_FALSE(none);
  EXPECT_TRUE(is_stale_refusal(none.error())) << text(none.error());
  auto no_step = state.record_step(a, orders, switchover_id{7}, 9, step_progress::running);
  ASSERT_FALSE(no_step);
  EXPECT_NE(text(no_step.error()).find("has no step 9"), std::string::npos);

  auto snap = loaded(state);
  ASSERT_EQ(snap.intents.size(), 1u);
  EXPECT_EQ(snap.intents.at(orders).id.value, 7) << "the refusals wrote nothing";
  EXPECT_EQ(snap.intents.at(orders).steps[0].progress, step_progress::pending);

  ASSERT_TRUE(state.record_step(a, orders, switchover_id{7}, 1, step_progress::done));
  ASSERT_TRUE(state.record_step(a, orders, switchover_id{7}, 2, step_progress::running));
  auto in = loaded(state).intents.at(orders);
  EXPECT_EQ(in.steps[0].progress, step_progress::done);
  EXPECT_EQ(in.steps[1].progress, step_progress::running);
}

TEST_F(replicated_state_test, finish_swaps_intent_for_topology_in_one_revision) {
  auto a = lead(client, "a");
  ASSERT_TRUE(state.record_topology(a, topology_of(orders, "orders-a", 1)));
  ASSERT_TRUE(state.begin_intent(a, intent_of(switchover_id{5}, 2)));

  std::mutex mtx;
  std::vector<watch_event> events;
  watch_options options;
  options.prefix = true;
  options.on_event = [&](const watch_event& e) {
    std::lock_guard<std::mutex> guard{mtx};
    events.push_back(e);
  };
  auto watch = client.watch(prefix + "/", options);
  ASSERT_TRUE(wait_until([&] { return watch->established(); }, 3s));

  auto wrong = state.finish(a, orders, switchover_id{6}, topology_of(orders, "orders-b", 2));
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(is_stale_refusal(wrong.error()));
  auto done = state.finish(a, orders, switchover_id{5}, topology_of(orders, "orders-b", 2));
  ASSERT_TRUE(done) << text(done.error());

  auto snap = loaded(state);
  EXPECT_TRUE(snap.intents.empty());
  const auto& t = snap.topology.at(orders);
  EXPECT_EQ(t.primary.value, "orders-b");
  EXPECT_EQ(t.service_epoch.value, 2u);
  EXPECT_EQ(t.switchover.value, 5);
  EXPECT_EQ(t.mod_revision, *done);
  // One revision holds both changes: no reader ever sees one without the other.
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard<std::mutex> guard{mtx};
        return events.size() >= 2;
      },
      3s));
  std::lock_guard<std::mutex> guard{mtx};
  ASSERT_EQ(events.size(), 2u) << "the refused finish wrote nothing";
  for (const auto& e : events)
    EXPECT_EQ(e.kv.mod_revision, *done) << e.kv.key;
  EXPECT_EQ(events[0].what, watch_event::kind::erase);
  EXPECT_EQ(events[0].kv.key, state.intent_key(orders));
  EXPECT_EQ(events[1].what, watch_event::kind::put);
  EXPECT_EQ(events[1].kv.key, state.topology_key(orders));

  // finish again (a retry after a lost answer) is stale, not a second write.
  auto again = state.finish(a, orders, switchover_id{5}, topology_of(orders, "orders-b", 2));
  ASSERT_FALSE(again);
  EXPECT_TRUE(is_stale_refusal(again.error()));
}

TEST_F(replicated_state_test, abandoning_keeps_the_topology_and_an_older_epoch_is_refused) {
  auto a = lead(client, "a");
  ASSERT_TRUE(state.record_topology(a, topology_of(orders, "orders-a", 5)));
  ASSERT_TRUE(state.begin_intent(a, intent_of(switchover_id{9}, 6)));

  auto older = state.finish(a, orders, switchover_id{9}, topology_of(orders, "orders-b", 4));
  ASSERT_FALSE(older);
  EXPECT_TRUE(is_stale_refusal(older.error()));
  EXPECT_NE(text(older.error()).find("is at epoch 5 (primary orders-a), higher than epoch 4"),
            std::string::npos)
      << text(older.error());
  auto seeded = state.record_topology(a, topology_of(orders, "orders-c", 3));
  ASSERT_FALSE(seeded);
  EXPECT_TRUE(is_stale_refusal(seeded.error()));
  auto snap = loaded(state);
  EXPECT_EQ(snap.topology.at(orders).service_epoch.value, 5u) << "nothing written";
  EXPECT_EQ(snap.topology.at(orders).primary.value, "orders-a");
  ASSERT_EQ(snap.intents.count(orders), 1u) << "the intent stays";

  auto abandoned = state.abandon_intent(a, orders, switchover_id{9});
  ASSERT_TRUE(abandoned) << text(abandoned.error());
  snap = loaded(state);
  EXPECT_TRUE(snap.intents.empty());
  EXPECT_EQ(snap.topology.at(orders).primary.value, "orders-a");
  EXPECT_FALSE(state.abandon_intent(a, orders, switchover_id{9}));
}

TEST_F(replicated_state_test, a_deposed_leader_writes_nothing) {
  auto settings = [](const std::string& id) {
    leader_settings s;
    s.leader_key = leader_key;
    s.candidate_id = id;
    s.timing.ttl = 2000ms;
    s.timing.keepalive_interval = 200ms;
    s.timing.safety_margin = 700ms;
    s.timing.retry_interval = 300ms;
    return s;
  };
  auto la = leader_lease::start(client, settings("a"));
  ASSERT_TRUE(la) << text(la.error());
  ASSERT_TRUE(wait_until([&] { return (*la)->may_act(); }, 5s));
  state_writer a{"a", (*la)->status().epoch};
  ASSERT_TRUE(state.record_topology(a, topology_of(orders, "orders-a", 1)));
  ASSERT_TRUE(state.begin_intent(a, intent_of(switchover_id{3}, 2)));
  auto lb = leader_lease::start(client, settings("b"));
  ASSERT_TRUE(lb) << text(lb.error());
  ASSERT_TRUE((*la)->resign());
  ASSERT_TRUE(wait_until([&] { return (*lb)->may_act(); }, 5s));
  state_writer b{"b", (*lb)->status().epoch};
  ASSERT_GT(b.epoch, a.epoch);
  auto before = loaded(state);

  auto refused = [&](const caf::expected<std::int64_t>& r, const char* what) {
    ASSERT_FALSE(r) << what;
    EXPECT_TRUE(is_fencing_refusal(r.error())) << what << ": " << text(r.error());
    EXPECT_FALSE(is_stale_refusal(r.error())) << what;
    EXPECT_NE(text(r.error()).find("refused: not leader (epoch " + std::to_string(a.epoch.value) +
                                   ", leader key now held by \"b\""),
              std::string::npos)
        << what << ": " << text(r.error());
  };
  refused(state.record_topology(a, topology_of(billing, "billing-a", 1)), "record_topology");
  auto other = intent_of(switchover_id{4}, 1);
  other.service = billing;
  refused(state.begin_intent(a, other), "begin_intent");
  refused(state.record_step(a, orders, switchover_id{3}, 1, step_progress::done), "record_step");
  refused(state.finish(a, orders, switchover_id{3}, topology_of(orders, "orders-b", 2)), "finish");
  refused(state.abandon_intent(a, orders, switchover_id{3}), "abandon_intent");

  auto after = loaded(state);
  EXPECT_EQ(after.revision, before.revision) << "etcd wrote nothing at all";
  ASSERT_EQ(after.topology.size(), 1u);
  EXPECT_EQ(after.topology.at(orders).mod_revision, before.topology.at(orders).mod_revision);
  EXPECT_EQ(after.intents.at(orders).mod_revision, before.intents.at(orders).mod_revision);

  // The successor takes the switchover over and writes as itself.
  ASSERT_TRUE(state.record_step(b, orders, switchover_id{3}, 1, step_progress::done));
  auto in = loaded(state).intents.at(orders);
  EXPECT_EQ(in.leader_id, "b");
  EXPECT_EQ(in.written_by, b.epoch);
  ASSERT_TRUE(state.finish(b, orders, switchover_id{3}, topology_of(orders, "orders-b", 2)));
}

TEST_F(replicated_state_test, a_malformed_value_is_an_error_naming_its_key) {
  auto a = lead(client, "a");
  auto key = state.intent_key(orders);
  ASSERT_TRUE(client.put(key, "{not json"));
  auto snap = state.load();
  ASSERT_FALSE(snap);
  EXPECT_EQ(snap.error(), switchyard::sy_errc::storage_failure);
  EXPECT_NE(text(snap.error()).find("malformed value at \"" + key + "\": not JSON"),
            std::string::npos)
      << text(snap.error());
  auto step = state.record_step(a, orders, switchover_id{1}, 1, step_progress::done);
  ASSERT_FALSE(step);
  EXPECT_NE(text(step.error()).find(key), std::string::npos) << text(step.error());

  // Well-formed JSON with a wrong field names the field.
  ASSERT_TRUE(client.erase(key));
  auto tkey = state.topology_key(orders);
  ASSERT_TRUE(client.put(tkey, R"({"primary":"x","epoch":-1,"switchover":1,"leader_epoch":1,)"
                               R"("at_ms":1})"));
  snap = state.load();
  ASSERT_FALSE(snap);
  EXPECT_NE(
      text(snap.error()).find("at \"" + tkey + "\": field \"epoch\": expected a non-negative"),
      std::string::npos)
      << text(snap.error());
  ASSERT_TRUE(client.put(tkey, "[1,2]"));
  auto begun = state.begin_intent(a, intent_of(switchover_id{1}, 1));
  ASSERT_FALSE(begun) << "no switchover begins on a topology that cannot be read";
  EXPECT_NE(text(begun.error()).find("at \"" + tkey + "\": not a JSON object"), std::string::npos)
      << text(begun.error());
  ASSERT_TRUE(client.erase(tkey));
  ASSERT_TRUE(state.begin_intent(a, intent_of(switchover_id{1}, 1)));
  ASSERT_TRUE(client.put(tkey, "[1,2]"));
  auto finish = state.finish(a, orders, switchover_id{1}, topology_of(orders, "y", 1));
  ASSERT_FALSE(finish);
  EXPECT_NE(text(finish.error()).find("at \"" + tkey + "\": not a JSON object"), std::string::npos)
      << text(finish.error());
  ASSERT_TRUE(client.erase(tkey));
  auto raw = client.get(key);
  ASSERT_TRUE(raw && *raw);
  auto bad = (*raw)->value;
  bad.replace(bad.find("\"promote\""), 9, "\"explode\"");
  ASSERT_TRUE(client.put(key, bad));
  snap = state.load();
  ASSERT_FALSE(snap);
  EXPECT_NE(
      text(snap.error())
          .find("field \"steps[1]\": field \"phase\": expected a known phase, not \"explode\""),
      std::string::npos)
      << text(snap.error());
}

TEST_F(replicated_state_test, quorum_loss_is_an_error_within_the_deadline) {
  auto a = lead(client, "a");
  ASSERT_TRUE(state.begin_intent(a, intent_of(switchover_id{2}, 1)));
  etcd.kill(1);
  etcd.kill(2);
  // A read is retried within its deadline (500 ms); a write reads first.
  constexpr auto limit = 500ms + 500ms;
  for (int attempt = 0; attempt < 2; ++attempt) {
    stopwatch load;
    auto snap = state.load();
    ASSERT_FALSE(snap);
    EXPECT_LT(load.elapsed(), limit);
    EXPECT_EQ(snap.error(), switchyard::sy_errc::unavailable) << text(snap.error());
    EXPECT_NE(text(snap.error()).find("via " + etcd.endpoints()), std::string::npos)
        << text(snap.error());
    stopwatch write;
    auto step = state.record_step(a, orders, switchover_id{2}, 1, step_progress::done);
    ASSERT_FALSE(step);
    EXPECT_LT(write.elapsed(), limit);
    EXPECT_EQ(step.error(), switchyard::sy_errc::unavailable) << text(step.error());
    EXPECT_FALSE(is_fencing_refusal(step.error()));
    EXPECT_FALSE(is_stale_refusal(step.error()));
  }
}

TEST_F(replicated_state_test, an_intent_decided_on_a_stale_view_is_refused_and_a_resumed_one_kept) {
  auto a = lead(client, "a");
  ASSERT_TRUE(state.record_topology(a, topology_of(orders, "orders-b", 4)));
  // orders-a is no longer primary: a leader that still thinks so is refused.
  auto stale_from = state.begin_intent(a, intent_of(switchover_id{11}, 5));
  ASSERT_FALSE(stale_from);
  EXPECT_TRUE(is_stale_refusal(stale_from.error()));
  EXPECT_NE(text(stale_from.error())
                .find("the replicated primary of \"orders-db\" is orders-b at "
                      "epoch 4"),
            std::string::npos)
      << text(stale_from.error());
  ASSERT_TRUE(state.record_topology(a, topology_of(orders, "orders-a", 5)));
  auto not_newer = state.begin_intent(a, intent_of(switchover_id{12}, 5));
  ASSERT_FALSE(not_newer);
  EXPECT_TRUE(is_stale_refusal(not_newer.error()));
  EXPECT_TRUE(loaded(state).intents.empty()) << "nothing written";

  ASSERT_TRUE(state.begin_intent(a, intent_of(switchover_id{13}, 6)));
  ASSERT_TRUE(state.record_step(a, orders, switchover_id{13}, 1, step_progress::done));
  // Begun again (resumed after a restart): accepted, its progress kept.
  auto again = state.begin_intent(a, intent_of(switchover_id{13}, 6));
  ASSERT_TRUE(again) << text(again.error());
  auto in = loaded(state).intents.at(orders);
  EXPECT_EQ(in.steps[0].progress, step_progress::done);
  // Another switchover is not.
  EXPECT_FALSE(state.begin_intent(a, intent_of(switchover_id{14}, 7)));
}

TEST_F(replicated_state_test, a_successor_takes_an_intent_over_with_its_progress) {
  auto a = lead(client, "a");
  ASSERT_TRUE(state.record_topology(a, topology_of(orders, "orders-a", 1)));
  ASSERT_TRUE(state.begin_intent(a, intent_of(switchover_id{21}, 2)));
  ASSERT_TRUE(state.record_step(a, orders, switchover_id{21}, 1, step_progress::done));
  ASSERT_TRUE(client.erase(leader_key)); // a's term ends
  auto b = lead(client, "b");            // a new leader key: a higher epoch
  auto wrong = state.take_over_intent(b, orders, switchover_id{20}, switchover_id{5});
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(is_stale_refusal(wrong.error()));
  auto taken = state.take_over_intent(b, orders, switchover_id{21}, switchover_id{5});
  ASSERT_TRUE(taken) << text(taken.error());
  auto in = loaded(state).intents.at(orders);
  EXPECT_EQ(in.id.value, 5);
  EXPECT_EQ(in.leader_id, "b");
  EXPECT_EQ(in.written_by, b.epoch);
  EXPECT_EQ(in.steps[0].progress, step_progress::done);
  // The old leader's writes are fenced; the successor finishes as its own.
  EXPECT_FALSE(state.record_step(a, orders, switchover_id{21}, 2, step_progress::done));
  ASSERT_TRUE(state.finish(b, orders, switchover_id{5}, topology_of(orders, "orders-b", 2)));
  EXPECT_TRUE(loaded(state).intents.empty());
}

// The store actor's group commits on a real SQLite file, under the
// deterministic scheduler: journal writes waiting in its mailbox are committed
// in one transaction (at most max_batch), each requester is answered after
// that commit with its own result, in order, and a failed commit fails every
// request of the batch with nothing written.
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>

#include "actors/peers.hpp"
#include "actors/store.hpp"
#include "messages/error.hpp"
#include "messages/message_types.hpp"
#include "messages/type_ids.hpp"
#include "observability/metrics.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace switchyard;

namespace {

caf::actor_system_config& testing_config(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("testing"));
  switchyard::add_message_types(cfg);
  return cfg;
}

std::shared_ptr<const config::switchyard_config> web_config(const std::string& dir) {
  auto c = std::make_shared<config::switchyard_config>();
  c->orchestrator.data_dir = dir;
  config::service_settings s;
  s.name = "web";
  s.instances.push_back(
      {"web-a", "127.0.0.1", 8081, "dc1", config::instance_role::primary, 100, {}});
  s.instances.push_back(
      {"web-b", "127.0.0.1", 8082, "dc1", config::instance_role::standby, 90, {}});
  c->services.push_back(s);
  return c;
}

failure_detection detection(int i) {
  failure_detection d;
  d.service = service_id{"web"};
  d.instance = instance_id{"web-a"};
  d.type = failure_type::unreachable;
  d.level = severity::critical;
  d.evidence = "burst " + std::to_string(i);
  return d;
}

std::uint64_t commits_so_far(metrics::registry& registry) {
  // One observation per group commit.
  return registry.histogram_for("switchyard_journal_write_duration_seconds", "").count();
}

double detections_counted(metrics::registry& registry) {
  return registry
      .counter_for("switchyard_detections_total", "",
                   {{"type", "unreachable"}, {"severity", "critical"}})
      .value();
}

// An automatic failover of web from web-a to web-b, under epoch 2.
switchover_start web_a_to_b() {
  return {service_id{"web"},
          switchover_kind::automatic_failover,
          instance_id{"web-a"},
          instance_id{"web-b"},
          detection_id{0},
          0,
          epoch{2},
          "test"};
}

class group_commit_test : public ::testing::Test {
protected:
  group_commit_test()
      : sys(testing_config(cfg)),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())), self(sys) {}

  ~group_commit_test() override {
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void spawn_store(actors::store_options opts = {}) {
    store = sys.spawn(actors::store_with, web_config(dir.str()), peers, std::move(opts));
    sched.run();
  }

  switchyard::testing::temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys;
  actors::peers_ptr peers = std::make_shared<actors::peer_table>();
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
  store_actor store;
};

} // namespace

TEST_F(group_commit_test, a_burst_is_committed_in_batches_and_answered_in_order) {
  spawn_store(actors::store_options{512, {}});
  auto commits_before = commits_so_far(peers->metrics());
  auto counted_before = detections_counted(peers->metrics());
  constexpr int n = 1000;
  std::vector<decltype(self->request(store, caf::infinite, detection(0)))> pending;
  for (int i = 0; i < n; ++i)
    pending.push_back(self->request(store, caf::infinite, detection(i)));
  // Nothing was answered (nor run) yet: the store has not had a turn.
  sched.run();
  std::int64_t last = 0;
  int answered = 0;
  for (auto& p : pending)
    p.receive(
        [&](detection_id id) {
          EXPECT_GT(id.value, last) << "answered in the order asked";
          last = id.value;
          ++answered;
        },
        [&](caf::error& err) { ADD_FAILURE() << describe(err); });
  EXPECT_EQ(answered, n);
  // 1000 writes in the mailbox at once: 512 + 488.
  EXPECT_EQ(commits_so_far(peers->metrics()) - commits_before, 2u);
  EXPECT_DOUBLE_EQ(detections_counted(peers->metrics()) - counted_before, n);

  // Reads are answered after the writes received before them.
  auto health = health_transition{service_id{"web"},
                                  instance_id{"web-b"},
                                  health_status::healthy,
                                  health_status::unhealthy,
                                  "refused",
                                  3,
                                  caf::make_timestamp()};
  self->send(store, health);
  auto rows = self->request(store, caf::infinite, detections_query{"web", 0});
  sched.run();
  rows.receive([&](detection_record_list& l) { EXPECT_EQ(l.size(), static_cast<std::size_t>(n)); },
               [&](caf::error& err) { ADD_FAILURE() << describe(err); });
}

TEST_F(group_commit_test, without_batching_every_write_commits_alone) {
  spawn_store(actors::store_options{1, {}});
  auto commits_before = commits_so_far(peers->metrics());
  std::vector<decltype(self->request(store, caf::infinite, detection(0)))> pending;
  for (int i = 0; i < 10; ++i)
    pending.push_back(self->request(store, caf::infinite, detection(i)));
  sched.run();
  for (auto& p : pending)
    p.receive([](detection_id) {}, [&](caf::error& err) { ADD_FAILURE() << describe(err); });
  EXPECT_EQ(commits_so_far(peers->metrics()) - commits_before, 10u);
}

TEST_F(group_commit_test, a_failed_commit_fails_every_request_of_the_batch) {
  // Deferred foreign keys: a step of a switchover that does not exist is
  // accepted by its INSERT and refused by the COMMIT.
  spawn_store(actors::store_options{512, [](persistence::sqlite_store& db) {
                                      (void)db.exec_for_testing("PRAGMA defer_foreign_keys = ON");
                                    }});
  auto counted_before = detections_counted(peers->metrics());
  auto d1 = self->request(store, caf::infinite, detection(1));
  auto bad = self->request(
      store, caf::infinite,
      step_start{switchover_id{4242},
                 plan_step{1, step_phase::fence, "fence", "exec", "true", instance_id{"web-a"}, 5s},
                 epoch{2}});
  auto d2 = self->request(store, caf::infinite, detection(2));
  sched.run();
  int failed = 0;
  d1.receive([](detection_id) { ADD_FAILURE() << "answered though not written"; },
             [&](caf::error&) { ++failed; });
  bad.receive([](step_id) { ADD_FAILURE() << "answered though not written"; },
              [&](caf::error&) { ++failed; });
  d2.receive([](detection_id) { ADD_FAILURE() << "answered though not written"; },
             [&](caf::error&) { ++failed; });
  EXPECT_EQ(failed, 3);
  EXPECT_DOUBLE_EQ(detections_counted(peers->metrics()) - counted_before, 0);
  auto rows = self->request(store, caf::infinite, detections_query{"web", 0});
  sched.run();
  rows.receive([&](detection_record_list& l) { EXPECT_TRUE(l.empty()); },
               [&](caf::error& err) { ADD_FAILURE() << describe(err); });
  // The next batch, without the bad row, is written.
  auto d3 = self->request(store, caf::infinite, detection(3));
  sched.run();
  d3.receive([](detection_id) {}, [&](caf::error& err) { ADD_FAILURE() << describe(err); });
}

TEST_F(group_commit_test, a_switchover_journal_through_the_batch_records_metrics) {
  spawn_store();
  auto& reg = peers->metrics();
  auto& forced_ok = reg.counter_for("switchyard_switchovers_total", "",
                                    {{"kind", "forced_failover"}, {"outcome", "completed"}});
  auto before = forced_ok.value();
  auto& fence_hist =
      reg.histogram_for("switchyard_step_duration_seconds", "", {{"phase", "fence"}});
  auto fence_before = fence_hist.count();

  auto so = self->request(store, caf::infinite,
                          switchover_start{service_id{"web"}, switchover_kind::forced_failover,
                                           instance_id{"web-a"}, instance_id{"web-b"},
                                           detection_id{0}, 0, epoch{2}, "test"});
  sched.run();
  switchover_id id{0};
  so.receive([&](switchover_id x) { id = x; },
             [&](caf::error& err) { ADD_FAILURE() << describe(err); });
  auto st = self->request(
      store, caf::infinite,
      step_start{id,
                 plan_step{1, step_phase::fence, "fence", "exec", "true", instance_id{"web-a"}, 5s},
                 epoch{2}});
  sched.run();
  step_id sid{0};
  st.receive([&](step_id x) { sid = x; }, [&](caf::error& err) { ADD_FAILURE() << describe(err); });
  auto fin = self->request(store, caf::infinite, step_finish{sid, true, "ok"});
  auto done = self->request(store, caf::infinite,
                            switchover_finish{id, service_id{"web"}, switchover_status::completed,
                                              instance_id{"web-b"}, epoch{2}, "done"});
  sched.run();
  fin.receive([](caf::ok_atom) {}, [&](caf::error& err) { ADD_FAILURE() << describe(err); });
  done.receive([](caf::ok_atom) {}, [&](caf::error& err) { ADD_FAILURE() << describe(err); });
  EXPECT_DOUBLE_EQ(forced_ok.value() - before, 1);
  EXPECT_EQ(fence_hist.count() - fence_before, 1u);
  auto text = reg.render();
  EXPECT_NE(text.find("switchyard_journal_rows_total"), std::string::npos);
  EXPECT_NE(text.find("switchyard_mailbox_depth{actor=\"store\"}"), std::string::npos);
}

TEST_F(group_commit_test, a_new_switchover_persists_its_plan_in_the_same_commit) {
  spawn_store();
  auto s = web_a_to_b();
  s.persist_plan = true;
  s.plan.service = service_id{"web"};
  s.plan.strategy = "active_passive";
  s.plan.secondary_targets = {instance_id{"web-b"}};
  s.plan.steps = {
      plan_step{1, step_phase::fence, "fence", "exec", "true", instance_id{"web-a"}, 5s}};
  auto so = self->request(store, caf::infinite, s);
  sched.run();
  so.receive([](switchover_id x) { EXPECT_GT(x.value, 0); },
             [&](caf::error& err) { ADD_FAILURE() << describe(err); });
  auto plan = self->request(store, caf::infinite, plan_atom::value, service_id{"web"});
  auto rows = self->request(store, caf::infinite, switchovers_query{"web", 0});
  sched.run();
  std::int64_t version = 0;
  plan.receive([&](plan_record& p) { version = p.version; },
               [&](caf::error& err) { ADD_FAILURE() << describe(err); });
  EXPECT_EQ(version, 1) << "the plan was stored";
  rows.receive(
      [&](switchover_record_list& l) {
        ASSERT_EQ(l.size(), 1u);
        EXPECT_EQ(l.front().plan_version, version) << "the switchover row names the plan it runs";
      },
      [&](caf::error& err) { ADD_FAILURE() << describe(err); });
}

TEST_F(group_commit_test, a_reserved_switchover_and_its_first_step_are_one_commit) {
  spawn_store();
  auto id = peers->switchover_ids()->reserve();
  ASSERT_GT(id, 0);
  auto s = web_a_to_b();
  s.id = switchover_id{id};
  auto fence = plan_step{1, step_phase::fence, "fence", "exec", "true", instance_id{"web-a"}, 5s};
  auto commits = commits_so_far(peers->metrics());
  auto opened = self->request(
      store, caf::infinite, switchover_opening{s, step_start{switchover_id{id}, fence, epoch{2}}});
  sched.run();
  step_id sid{0};
  opened.receive([&](step_id x) { sid = x; },
                 [&](caf::error& err) { ADD_FAILURE() << describe(err); });
  EXPECT_GT(sid.value, 0);
  EXPECT_EQ(commits_so_far(peers->metrics()) - commits, 1u) << "one transaction for both rows";
  auto detail = self->request(store, caf::infinite, switchover_id{id});
  sched.run();
  detail.receive(
      [&](switchover_detail& d) {
        EXPECT_EQ(d.switchover.id.value, id);
        ASSERT_EQ(d.steps.size(), 1u);
        EXPECT_EQ(d.steps.front().status, step_status::started);
      },
      [&](caf::error& err) { ADD_FAILURE() << describe(err); });
}

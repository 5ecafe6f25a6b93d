// Cluster mode in the API: the message of a replica that may not act
// (not_leader_message), and api_call's refusal of mutating calls there with
// UNAVAILABLE, audited; Reload and reads are never refused, and a single
// switchyardd (single_node_authority) refuses nothing.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <grpcpp/server_context.h>
#include <grpcpp/test/server_context_test_spouse.h>
#include <nlohmann/json.hpp>

#include "actors/control_authority.hpp"
#include "actors/peers.hpp"
#include "api/api_call.hpp"
#include "api/api_leadership.hpp"
#include "config/tokens.hpp"
#include "messages/interfaces.hpp"
#include "messages/message_types.hpp"

using namespace switchyard;
using namespace switchyard::actors;

namespace {

leadership_view follower_view() {
  leadership_view v;
  v.clustered = true;
  v.member = "sy-b";
  v.members = {"sy-a", "sy-b", "sy-c"};
  v.leader = false;
  v.may_act = false;
  v.leader_id = "sy-a";
  v.leader_address = "10.0.0.1:7400";
  v.epoch = 12;
  v.reason = "sy-a holds the leader key";
  return v;
}

} // namespace

TEST(api_leadership, a_follower_names_the_leader_and_its_address) {
  EXPECT_EQ(not_leader_message(follower_view()),
            "not the leader: this replica (sy-b) does not lead; the leader is sy-a at "
            "10.0.0.1:7400 (epoch 12); send mutations there");
}

TEST(api_leadership, a_leader_without_a_known_address_is_still_named) {
  auto v = follower_view();
  v.leader_address.clear();
  EXPECT_EQ(not_leader_message(v),
            "not the leader: this replica (sy-b) does not lead; the leader is sy-a (epoch 12; "
            "its API address is unknown); send mutations there");
}

TEST(api_leadership, without_a_leader_it_says_why_and_to_retry) {
  auto v = follower_view();
  v.leader_id.clear();
  v.leader_address.clear();
  v.epoch = 0;
  v.reason = "etcd unreachable (10.0.0.9:2379: connection refused)";
  EXPECT_EQ(not_leader_message(v),
            "no leader: etcd unreachable (10.0.0.9:2379: connection refused); retry shortly");
  v.reason.clear();
  EXPECT_EQ(not_leader_message(v), "no leader: no replica holds the leader key; retry shortly");
}

TEST(api_leadership, a_holder_whose_lease_lapsed_says_so) {
  auto v = follower_view();
  v.leader_id = "sy-b";
  v.leader_address = "10.0.0.2:7400";
  v.reason = "lease not renewed for 4.1s";
  EXPECT_EQ(not_leader_message(v),
            "not acting: this replica (sy-b) holds the leader key (epoch 12) but may not act "
            "now: lease not renewed for 4.1s; retry shortly");
}

namespace {

/// An authority whose answer the test sets.
class fake_authority final : public single_node_authority {
public:
  explicit fake_authority(leadership_view v) : view_(std::move(v)) {}
  bool may_act() const override { return view_.may_act; }
  std::int64_t epoch() const override { return view_.epoch; }
  leadership_view view() const override { return view_; }

private:
  leadership_view view_;
};

struct audit_rows {
  std::mutex mutex;
  std::vector<audit_record> rows;
  std::vector<audit_record> take() {
    std::lock_guard<std::mutex> guard{mutex};
    return std::exchange(rows, {});
  }
};

// A call's server context carrying `token` as its bearer token.
struct call_context {
  explicit call_context(const std::string& token) : spouse(&ctx) {
    spouse.AddClientMetadata("authorization", "Bearer " + token);
  }
  grpc::ServerContext ctx;
  grpc::testing::ServerContextTestSpouse spouse;
};

// The message types registered before the system starts.
struct system_config : caf::actor_system_config {
  system_config() { switchyard::add_message_types(*this); }
};

class api_leadership_calls : public ::testing::Test {
protected:
  api_leadership_calls() {
    auto holder = std::make_shared<config_holder>(
        std::make_shared<const config::switchyard_config>(config::switchyard_config{}));
    std::vector<config::api_token> tokens{
        {"alice", config::api_role::admin, config::sha256_hex("admin-token")},
        {"bob", config::api_role::viewer, config::sha256_hex("viewer-token")}};
    core = std::make_unique<api_core>(sys, peers, holder, tokens);
    store = sys.spawn([audit = audit]() -> caf::behavior {
      return {[audit](audit_record row) -> std::int64_t {
        std::lock_guard<std::mutex> guard{audit->mutex};
        audit->rows.push_back(std::move(row));
        return static_cast<std::int64_t>(audit->rows.size());
      }};
    });
    peers->set(peer::store, store);
  }

  ~api_leadership_calls() override {
    peers->set(peer::store, caf::actor{});
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  }

  grpc::Status mutate(const std::string& name, const std::string& token = "admin-token") {
    call_context c{token};
    api_call call{*core, c.ctx, name, config::api_role::operator_,
                  nlohmann::json{{"service", "web"}}};
    return call.authorize();
  }

  grpc::Status read(const std::string& name) {
    call_context c{"viewer-token"};
    api_call call{*core, c.ctx, name, config::api_role::viewer};
    return call.authorize();
  }

  system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  std::shared_ptr<peer_table> peers = std::make_shared<peer_table>();
  std::unique_ptr<api_core> core;
  std::shared_ptr<audit_rows> audit = std::make_shared<audit_rows>();
  caf::actor store;
};

} // namespace

TEST_F(api_leadership_calls, a_single_switchyardd_refuses_nothing) {
  EXPECT_TRUE(mutate("RequestSwitchover").ok());
  EXPECT_TRUE(mutate("Reload").ok());
  EXPECT_TRUE(read("GetStatus").ok());
  EXPECT_TRUE(audit->take().empty()); // authorized: the handler writes its own rows
}

TEST_F(api_leadership_calls, a_follower_refuses_mutations_with_unavailable_and_audits_it) {
  peers->set_authority(std::make_shared<fake_authority>(follower_view()));
  for (const std::string name :
       {"RequestSwitchover", "RequestFailover", "SetMaintenance", "SiteSwitchover", "Drill"}) {
    auto st = mutate(name);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << name;
    EXPECT_EQ(st.error_message(), not_leader_message(follower_view())) << name;
    auto rows = audit->take();
    ASSERT_EQ(rows.size(), 1u) << name;
    EXPECT_EQ(rows[0].call, name);
    EXPECT_EQ(rows[0].principal, "alice");
    EXPECT_EQ(rows[0].role, "admin");
    EXPECT_EQ(rows[0].result, "UNAVAILABLE: " + not_leader_message(follower_view()));
  }
}

TEST_F(api_leadership_calls, a_follower_still_reloads_and_answers_reads) {
  peers->set_authority(std::make_shared<fake_authority>(follower_view()));
  EXPECT_TRUE(mutate("Reload").ok());
  EXPECT_TRUE(read("GetStatus").ok());
  EXPECT_TRUE(read("GetCluster").ok());
  EXPECT_TRUE(audit->take().empty());
}

TEST_F(api_leadership_calls, without_a_leader_a_mutation_is_refused_with_the_reason) {
  auto v = follower_view();
  v.leader_id.clear();
  v.leader_address.clear();
  v.reason = "election in progress";
  peers->set_authority(std::make_shared<fake_authority>(v));
  auto st = mutate("SetMaintenance");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(st.error_message(), "no leader: election in progress; retry shortly");
  EXPECT_EQ(audit->take().size(), 1u);
}

TEST_F(api_leadership_calls, authentication_and_role_come_before_leadership) {
  peers->set_authority(std::make_shared<fake_authority>(follower_view()));
  EXPECT_EQ(mutate("RequestSwitchover", "wrong-token").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(mutate("RequestSwitchover", "viewer-token").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  auto rows = audit->take(); // both refusals audited, neither as "not the leader"
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].result.rfind("UNAUTHENTICATED: invalid token", 0), 0u) << rows[0].result;
  EXPECT_EQ(rows[1].result.rfind("PERMISSION_DENIED: 'bob' has role viewer", 0), 0u)
      << rows[1].result;
}

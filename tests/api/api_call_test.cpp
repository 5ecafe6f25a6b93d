// The API's one call path (api_call.hpp): the mapping of actor errors to gRPC
// statuses, the checks of a request's names against the configuration, and
// asking a real actor (registered, missing, silent) on a real actor system;
// and the one name of each gRPC status code (grpc_status_name.hpp).
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include <caf/all.hpp>

#include "actors/peers.hpp"
#include "api/api_call.hpp"
#include "messages/grpc_status_name.hpp"
#include "messages/interfaces.hpp"
#include "messages/message_types.hpp"

using namespace switchyard;
using namespace switchyard::actors;

TEST(api_status_names, every_code_has_its_canonical_name_and_words) {
  EXPECT_STREQ(grpc_status_name(grpc::StatusCode::OK), "OK");
  EXPECT_STREQ(grpc_status_name(grpc::StatusCode::INVALID_ARGUMENT), "INVALID_ARGUMENT");
  EXPECT_STREQ(grpc_status_name(grpc::StatusCode::RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
  EXPECT_STREQ(grpc_status_name(grpc::StatusCode::DATA_LOSS), "DATA_LOSS");
  EXPECT_STREQ(grpc_status_name(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_STREQ(grpc_status_name(grpc::StatusCode::DO_NOT_USE), "?");
  EXPECT_STREQ(grpc_status_words(grpc::StatusCode::FAILED_PRECONDITION), "failed precondition");
  EXPECT_STREQ(grpc_status_words(grpc::StatusCode::INTERNAL), "internal error");
  EXPECT_STREQ(grpc_status_words(grpc::StatusCode::UNIMPLEMENTED), "not implemented");
  EXPECT_STREQ(grpc_status_words(grpc::StatusCode::DO_NOT_USE), "error");
  // Every code from OK (0) to UNAUTHENTICATED (16) has a name of its own.
  for (int c = 0; c <= 16; ++c)
    EXPECT_STRNE(grpc_status_name(static_cast<grpc::StatusCode>(c)), "?") << c;
}

TEST(api_call, actor_errors_map_to_the_status_an_operator_can_act_on) {
  auto status = [](sy_errc code) { return to_status(make_sy_error(code, "why")); };
  EXPECT_EQ(status(sy_errc::unknown_service).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status(sy_errc::unknown_instance).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status(sy_errc::unknown_switchover).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status(sy_errc::not_found).error_message(), "not_found: why");
  EXPECT_EQ(status(sy_errc::already_in_progress).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status(sy_errc::invalid_config).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status(sy_errc::unknown_site).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status(sy_errc::storage_failure).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status(sy_errc::storage_failure).error_message(),
            "nothing was changed: storage_failure: why");
  EXPECT_EQ(status(sy_errc::unavailable).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status(sy_errc::unavailable).error_message(),
            "switchyardd could not answer: unavailable: why");
  EXPECT_EQ(status(sy_errc::action_failed).error_code(), grpc::StatusCode::UNAVAILABLE);
  // CAF's own errors (a timeout) too.
  auto timeout = to_status(caf::make_error(caf::sec::request_timeout));
  EXPECT_EQ(timeout.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(timeout.error_message().rfind("switchyardd could not answer: ", 0), 0u);
}

namespace {

config::switchyard_config two_sites() {
  config::switchyard_config cfg;
  cfg.sites = {{"dc1", "", {}}, {"dc2", "", {}}};
  config::service_settings web;
  web.name = "web";
  web.instances.resize(2);
  web.instances[0].name = "web-a";
  web.instances[1].name = "web-b";
  cfg.services.push_back(web);
  cfg.services.emplace_back().name = "db";
  cfg.index_services();
  return cfg;
}

} // namespace

TEST(api_call, checks_of_names_say_what_is_configured) {
  auto cfg = two_sites();
  EXPECT_TRUE(check_target(cfg, "web", "").ok());
  EXPECT_TRUE(check_target(cfg, "web", "web-b").ok());
  auto no_instance = check_target(cfg, "web", "web-c");
  EXPECT_EQ(no_instance.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(no_instance.error_message(),
            "service 'web' has no instance 'web-c' (instances: web-a, web-b)");
  EXPECT_EQ(check_target(cfg, "", "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(check_target(cfg, "mail", "").error_message(),
            "no service named 'mail' (configured: web, db)");
  EXPECT_TRUE(check_service_filter(cfg, "").ok());
  EXPECT_TRUE(check_service_filter(cfg, "db").ok());
  EXPECT_EQ(check_service_filter(cfg, "mail").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(check_sites(cfg, "dc1", "dc2").ok());
  EXPECT_EQ(check_sites(cfg, "dc1", "dc1").error_message(),
            "from_site and to_site are both 'dc1': name two different sites");
  EXPECT_EQ(check_sites(cfg, "", "dc2").error_message(), "from_site is required");
  EXPECT_EQ(check_site(cfg, "site", "dc9").error_message(),
            "no site named 'dc9' (configured: dc1, dc2)");
}

// Asking real actors: the scoped actor blocks, so this system runs on threads.
TEST(api_call, asking_an_actor_answers_its_reply_or_says_why_not) {
  caf::actor_system_config sys_cfg;
  switchyard::add_message_types(sys_cfg);
  caf::actor_system sys{sys_cfg};
  auto holder = std::make_shared<config_holder>(
      std::make_shared<const config::switchyard_config>(two_sites()));
  auto peers = std::make_shared<peer_table>();
  api_core core{sys, peers, holder, {}};

  // Not running (a subsystem restarting): unavailable, and it names the actor.
  auto missing = core.ask_within<fleet_summary>(peer::coordinator, std::chrono::seconds(1),
                                                summary_atom::value);
  ASSERT_FALSE(missing);
  EXPECT_EQ(describe(missing.error()), "unavailable: the coordinator is not running (restarting?)");
  EXPECT_EQ(to_status(missing.error()).error_code(), grpc::StatusCode::UNAVAILABLE);

  // Running: its reply.
  auto coordinator = sys.spawn([]() -> caf::behavior {
    return {[](summary_atom) {
      fleet_summary s;
      s.services = 2;
      return s;
    }};
  });
  peers->set(peer::coordinator, coordinator);
  auto summary = core.ask_within<fleet_summary>(peer::coordinator, std::chrono::seconds(5),
                                                summary_atom::value);
  ASSERT_TRUE(summary) << describe(summary.error());
  EXPECT_EQ(summary->services, 2);

  // Running but silent past the deadline: CAF's timeout, UNAVAILABLE to the client.
  auto held = std::make_shared<std::vector<caf::response_promise>>();
  auto silent = sys.spawn([held](caf::event_based_actor* self) -> caf::behavior {
    return {[self, held](summary_atom) {
      held->push_back(self->make_response_promise()); // kept, never delivered
    }};
  });
  peers->set(peer::store, silent);
  auto late =
      core.ask_within<fleet_summary>(peer::store, std::chrono::seconds(1), summary_atom::value);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error(), caf::sec::request_timeout);
  EXPECT_EQ(to_status(late.error()).error_code(), grpc::StatusCode::UNAVAILABLE);

  peers->set(peer::coordinator, caf::actor{});
  peers->set(peer::store, caf::actor{});
  caf::anon_send_exit(coordinator, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}

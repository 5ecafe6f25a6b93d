// The demo service as a real process: health, role changes, errors, clean stop.
#include <csignal>

#include <gtest/gtest.h>

#include "tests/actors/test_system.hpp"
#include "tests/integration/process.hpp"

using namespace std::chrono_literals;
using namespace switchyard::testing;

TEST(demo_service, answers_health_and_changes_role) {
  temp_dir dir;
  auto port = free_port();
  child_process svc({DEMO_SERVICE_PATH, "--name", "web-x", "--port", std::to_string(port)},
                    (dir.path() / "svc.log").string());
  ASSERT_TRUE(wait_until([&] { return http_request("GET", port, "/health") == "200 ok\n"; }, 10s));
  EXPECT_EQ(http_request("GET", port, "/role"), "200 standby\n");
  EXPECT_EQ(http_request("POST", port, "/promote"), "200 promoted\n");
  EXPECT_EQ(http_request("GET", port, "/role"), "200 primary\n");
  EXPECT_EQ(http_request("GET", port, "/"), "200 hello from web-x (primary)\n");
  EXPECT_EQ(http_request("POST", port, "/demote"), "200 demoted\n");
  EXPECT_EQ(http_request("GET", port, "/role"), "200 standby\n");
  EXPECT_EQ(http_request("GET", port, "/nope"), "404 not found\n");
  svc.signal(SIGTERM);
  EXPECT_EQ(svc.wait_for_exit(5s), 0);
  auto log = read_file((dir.path() / "svc.log").string());
  EXPECT_NE(log.find("role standby -> primary"), std::string::npos) << log;
}

TEST(demo_service, bad_arguments_exit_2) {
  temp_dir dir;
  child_process svc({DEMO_SERVICE_PATH, "--name", "x", "--port", "0"}, (dir.path() / "l").string());
  EXPECT_EQ(svc.wait_for_exit(5s), 2);
  EXPECT_NE(read_file((dir.path() / "l").string()).find("--port must be 1..65535"),
            std::string::npos);
}

// What the active-passive suites share: a four-instance service whose steps
// are exec actions appending to a log, a journal that records its calls, and
// the fixture with that log in a temporary folder.
#pragma once

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "strategies/active_passive.hpp"
#include "tests/actors/test_system.hpp"

namespace switchyard::testing::active_passive_fixture {

using namespace std::chrono_literals;
using namespace switchyard::strategies;

inline config::action_settings act(std::string name, std::string command) {
  config::action_settings a;
  a.name = std::move(name);
  a.command = std::move(command);
  a.timeout = 2s;
  return a;
}

inline config::service_settings service(const std::string& log) {
  config::service_settings s;
  s.name = "web";
  s.health_check.type = config::check_type::http;
  s.health_check.path = "/health";
  s.health_check.interval = 500ms;
  s.health_check.timeout = 300ms;
  s.health_check.fall = 2;
  s.objective.rto = 30s;
  s.instances.push_back({"web-a", "10.0.0.1", 80, "dc1", config::instance_role::primary, 100, {}});
  s.instances.push_back({"web-b", "10.0.0.2", 80, "dc1", config::instance_role::standby, 50, {}});
  s.instances.push_back({"web-c", "10.0.0.3", 80, "dc2", config::instance_role::standby, 90, {}});
  s.instances.push_back({"web-d", "10.0.0.4", 80, "dc2", config::instance_role::standby, 90, {}});
  auto echo = [&](const char* what) {
    return std::string("echo ") + what + " $SWITCHYARD_TARGET >> " + log;
  };
  s.strategy.fence.push_back(act("fence-old", echo("fence")));
  s.strategy.promote.push_back(act("promote-new", echo("promote")));
  s.strategy.reroute.push_back(act("reroute", echo("reroute")));
  s.strategy.verify.push_back(act("verify", echo("verify")));
  return s;
}

using health_map = std::map<std::string, health_status>;

inline planning_input input(const config::service_settings& s, health_map h) {
  return planning_input{&s, "web-a", std::move(h)};
}

// Records the journal calls; can be told to fail a begin.
class recording_journal : public step_journal {
public:
  caf::expected<step_id> begin_step(const step_start& s) override {
    calls.push_back("begin " + s.step.name);
    if (fail_begin_at == s.step.sequence)
      return make_sy_error(sy_errc::storage_failure, "disk full");
    return step_id{static_cast<std::int64_t>(s.step.sequence)};
  }
  caf::expected<void> finish_step(const step_finish& s) override {
    calls.push_back("finish " + std::to_string(s.step.value) + (s.ok ? " ok" : " failed"));
    if (fail_finish_at == static_cast<std::uint32_t>(s.step.value))
      return make_sy_error(sy_errc::storage_failure, "disk full");
    return caf::unit;
  }
  std::vector<std::string> calls;
  std::uint32_t fail_begin_at = 0;
  std::uint32_t fail_finish_at = 0;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class active_passive_test : public ::testing::Test {
protected:
  switchyard::testing::temp_dir dir;
  std::string log = (dir.path() / "actions.log").string();
};

} // namespace switchyard::testing::active_passive_fixture

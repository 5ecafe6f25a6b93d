// A deployment plus the real `switchyard` CLI binary, run as a child process
// per call, and a switchyardd the tests start and stop.
#pragma once

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/deployment.hpp"

namespace switchyard::testing {

struct cli_result {
  int exit_code = -1;
  std::string output; ///< stdout and stderr
};

class cli_integration : public deployment {
protected:
  cli_result cli(std::vector<std::string> args, const std::string& token = "viewer-token") {
    std::vector<std::string> argv{SWITCHYARD_CLI_PATH, "--server",
                                  "127.0.0.1:" + std::to_string(api_port)};
    if (!token.empty()) {
      argv.push_back("--token");
      argv.push_back(token);
    }
    argv.insert(argv.end(), args.begin(), args.end());
    auto log = root + "/cli-" + std::to_string(++calls) + ".out";
    child_process p(argv, log);
    cli_result r;
    r.exit_code = p.wait_for_exit(20s);
    r.output = read_file(log);
    return r;
  }

  void start_and_fail_over() {
    daemon = start_daemon(root + "/switchyardd.log");
    ASSERT_TRUE(wait_until(
        [&] {
          auto r = cli({"services"});
          return r.exit_code == 0 && r.output.find("2/2 healthy") != std::string::npos;
        },
        15s))
        << read_file(root + "/switchyardd.log");
    web_a->signal(SIGKILL);
    ASSERT_TRUE(wait_until(
        [&] { return cli({"switchovers"}).output.find("completed") != std::string::npos; }, 20s))
        << read_file(root + "/switchyardd.log");
  }

  void TearDown() override {
    if (daemon) {
      daemon->signal(SIGTERM);
      EXPECT_EQ(daemon->wait_for_exit(15s), 0);
    }
  }

  std::unique_ptr<child_process> daemon;
  int calls = 0;
};

} // namespace switchyard::testing

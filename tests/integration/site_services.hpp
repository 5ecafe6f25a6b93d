// The four services of the site switchover tests (a database, a cache and two
// apps, each with <svc>-a primary on dc1 and <svc>-b standby on dc2; the apps
// depend on the database, app1 also on the cache), as switchyard.yaml
// entries, and the two sites. Every action appends a line to an actions log.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tests/integration/deployment.hpp"

namespace switchyard::testing {

inline const std::vector<std::string>& site_service_names() {
  static const std::vector<std::string> names{"db", "cache", "app1", "app2"};
  return names;
}

/// Starts the eight demo_service instances (<svc>-a primary, <svc>-b standby)
/// on free ports, logging under `root`; "" once each answers /health (within a
/// bound), else the name of one that does not.
inline std::string
start_site_instances(const std::string& root, std::map<std::string, std::uint16_t>& ports,
                     std::map<std::string, std::unique_ptr<child_process>>& instances) {
  using namespace std::chrono_literals;
  for (const auto& svc : site_service_names())
    for (const char* side : {"a", "b"}) {
      auto name = svc + "-" + side;
      auto port = free_port();
      ports[name] = port;
      instances[name] = std::make_unique<child_process>(
          std::vector<std::string>{DEMO_SERVICE_PATH, "--name", name, "--port",
                                   std::to_string(port), "--role",
                                   std::string{side} == "a" ? "primary" : "standby"},
          root + "/" + name + ".log");
    }
  for (const auto& [name, port] : ports) {
    auto p = port;
    if (!wait_until([&] { return http_request("GET", p, "/health").rfind("200", 0) == 0; }, 10s))
      return name;
  }
  return {};
}

/// The `services:` entries of the four services: `ports` has the port of each
/// instance ("db-a", "db-b", ...); a flag file `root`/fail-prepare-<svc> makes
/// that service's prepare fail; each action appends to `actions_log`.
inline std::string site_services_yaml(const std::map<std::string, std::uint16_t>& ports,
                                      const std::string& root, const std::string& actions_log) {
  std::string yaml;
  for (const auto& svc : site_service_names()) {
    std::string deps = svc == "app1" ? "[db, cache]" : svc == "app2" ? "[db]" : "[]";
    yaml += fmt::format(
        "  - name: {0}\n"
        "    depends_on: {1}\n"
        "    objectives: {{rto: 30s, rpo: 0s}}\n"
        "    health_check: {{type: http, path: /health, interval: 200ms, timeout: 150ms,"
        " rise: 1, fall: 2}}\n"
        "    instances:\n"
        "      - {{name: {0}-a, address: 127.0.0.1:{2}, site: dc1, role: primary, priority: "
        "100}}\n"
        "      - {{name: {0}-b, address: 127.0.0.1:{3}, site: dc2, role: standby, priority: "
        "90}}\n"
        "    strategy:\n"
        "      type: active_passive\n"
        "      prepare:\n"
        "        - name: reserve-capacity\n"
        "          type: exec\n"
        "          command: >-\n"
        "            test ! -f {4}/fail-prepare-$SWITCHYARD_SERVICE &&\n"
        "            echo \"prepare $SWITCHYARD_SERVICE $SWITCHYARD_TARGET\" >> {5}\n"
        "          rollback: >-\n"
        "            echo \"unprepare $SWITCHYARD_SERVICE\" >> {5}\n"
        "      demote:\n"
        "        - name: step-down\n"
        "          type: exec\n"
        "          command: >-\n"
        "            curl -fsS -m 2 -X POST \"http://$SWITCHYARD_OLD_PRIMARY_ADDRESS/demote\" "
        "&&\n"
        "            echo \"demote $SWITCHYARD_SERVICE $SWITCHYARD_OLD_PRIMARY\" >> {5}\n"
        "          rollback: >-\n"
        "            curl -fsS -m 2 -X POST \"http://$SWITCHYARD_OLD_PRIMARY_ADDRESS/promote\"\n"
        "      promote:\n"
        "        - name: take-over\n"
        "          type: exec\n"
        "          command: >-\n"
        "            curl -fsS -m 2 -X POST \"http://$SWITCHYARD_NEW_PRIMARY_ADDRESS/promote\" "
        "&&\n"
        "            echo \"promote $SWITCHYARD_SERVICE $SWITCHYARD_NEW_PRIMARY\" >> {5}\n"
        "          rollback: >-\n"
        "            curl -fsS -m 2 -X POST \"http://$SWITCHYARD_NEW_PRIMARY_ADDRESS/demote\"\n"
        "      verify:\n"
        "        - name: check-role\n"
        "          type: exec\n"
        "          command: >-\n"
        "            curl -fsS -m 2 \"http://$SWITCHYARD_NEW_PRIMARY_ADDRESS/role\" | grep -qx "
        "primary\n"
        "      integrity:\n"
        "        - name: role-report\n"
        "          type: exec\n"
        "          command: >-\n"
        "            echo \"role=$(curl -fsS -m 2 "
        "http://$SWITCHYARD_NEW_PRIMARY_ADDRESS/role)\"\n",
        svc, deps, ports.at(svc + "-a"), ports.at(svc + "-b"), root, actions_log);
  }
  return yaml;
}

/// The `sites:` section declaring dc1 and dc2.
inline std::string site_declarations() {
  return "sites:\n  - {name: dc1, description: primary data center}\n"
         "  - {name: dc2, description: standby data center}\n";
}

} // namespace switchyard::testing

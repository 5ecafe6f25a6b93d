// Services' depends_on and orchestrator.detection: defaults, every key, every
// error (file:line:column: field: message), and what a reload makes of them.
#include <gmock/gmock.h>

#include "config/dependencies.hpp"
#include "config/diff.hpp"
#include "tests/config/config_test_support.hpp"

using namespace std::chrono_literals;
using namespace switchyard::config;
using namespace switchyard::config::testing;
using errors = std::vector<std::string>;

namespace {

// One service in four lines, plus `extra` right after its name.
std::string service(const std::string& name, const std::string& extra = {}) {
  return "  - name: " + name + "\n" + extra + "    health_check: {type: tcp}\n" +
         "    instances: [{name: " + name + "-a, address: 127.0.0.1:9001, role: primary}, " +
         "{name: " + name + "-b, address: 127.0.0.1:9002, role: standby}]\n" +
         "    strategy: {type: active_passive}\n";
}

switchyard_config load(const std::string& yaml) {
  auto r = load_config_text(yaml, "test.yaml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : to_string(r.errors.front()));
  return r.config;
}

} // namespace

TEST(detection_config, defaults_when_left_out) {
  auto cfg = load(valid_yaml);
  const auto& d = cfg.orchestrator.detection;
  EXPECT_EQ(d.cascade_hold, 0ms);
  EXPECT_EQ(d.flapping.transitions, 6);
  EXPECT_EQ(d.flapping.window, 2min);
  EXPECT_FALSE(d.site_disaster) << "site-disaster detection is off unless configured";
  EXPECT_TRUE(cfg.services.front().depends_on.empty());
}

TEST(detection_config, every_key_is_read) {
  auto cfg = load("orchestrator:\n"
                  "  detection:\n"
                  "    cascade_hold: 5s\n"
                  "    flapping: {transitions: 4, window: 1m}\n"
                  "    site_disaster: {share: 0.75, window: 20s, min_instances: 3}\n"
                  "services:\n" +
                  service("db") + service("cache", "    depends_on: [db]\n") +
                  service("app", "    depends_on: [cache, db]\n"));
  const auto& d = cfg.orchestrator.detection;
  EXPECT_EQ(d.cascade_hold, 5s);
  EXPECT_EQ(d.flapping.transitions, 4);
  EXPECT_EQ(d.flapping.window, 1min);
  ASSERT_TRUE(d.site_disaster);
  EXPECT_DOUBLE_EQ(d.site_disaster->share, 0.75);
  EXPECT_EQ(d.site_disaster->window, 20s);
  EXPECT_EQ(d.site_disaster->min_instances, 3);
  ASSERT_EQ(cfg.services.size(), 3u);
  EXPECT_TRUE(cfg.services[0].depends_on.empty());
  EXPECT_EQ(cfg.services[1].depends_on, std::vector<std::string>{"db"});
  EXPECT_EQ(cfg.services[2].depends_on, (std::vector<std::string>{"cache", "db"}));
}

TEST(detection_config, an_empty_site_disaster_mapping_turns_it_on_with_defaults) {
  auto cfg = load(replace(valid_yaml, "  data_dir: state\n",
                          "  data_dir: state\n  detection:\n    site_disaster: {}\n"));
  ASSERT_TRUE(cfg.orchestrator.detection.site_disaster);
  const auto& s = *cfg.orchestrator.detection.site_disaster;
  EXPECT_DOUBLE_EQ(s.share, 0.5);
  EXPECT_EQ(s.window, 10s);
  EXPECT_EQ(s.min_instances, 2);
}

TEST(detection_config, detection_errors) {
  auto e = errors_of(replace(valid_yaml, "  data_dir: state\n",
                             "  detection:\n"
                             "    cascade_hold: soon\n"
                             "    flapping: {transitions: 0, window: 0s}\n"
                             "    site_disaster: {share: 1.5, window: 0s, min_instances: 0}\n"
                             "    storms: 3\n"));
  EXPECT_EQ(e, (errors{
                   "test.yaml:6:5: orchestrator.detection.storms: unknown key (allowed: "
                   "cascade_hold, flapping, site_disaster)",
                   "test.yaml:3:19: orchestrator.detection.cascade_hold: 'soon' is not a duration "
                   "(use e.g. 500ms, 2s, 1m)",
                   "test.yaml:4:29: orchestrator.detection.flapping.transitions: '0' is out of "
                   "range (1..1000)",
                   "test.yaml:4:40: orchestrator.detection.flapping.window: must be greater than 0",
                   "test.yaml:5:28: orchestrator.detection.site_disaster.share: '1.5' is not a "
                   "share: a number greater than 0 and at most 1 (e.g. 0.5)",
                   "test.yaml:5:41: orchestrator.detection.site_disaster.window: must be greater "
                   "than 0",
                   "test.yaml:5:60: orchestrator.detection.site_disaster.min_instances: '0' is out "
                   "of range (1..100000)",
               }));
  EXPECT_EQ(errors_of(replace(valid_yaml, "  data_dir: state\n",
                              "  detection:\n    site_disaster: {share: half, colour: red}\n")),
            (errors{
                "test.yaml:3:34: orchestrator.detection.site_disaster.colour: unknown key "
                "(allowed: share, window, min_instances)",
                "test.yaml:3:28: orchestrator.detection.site_disaster.share: 'half' is not a "
                "share: a number greater than 0 and at most 1 (e.g. 0.5)",
            }));
  EXPECT_EQ(errors_of(replace(valid_yaml, "  data_dir: state\n",
                              "  detection:\n    site_disaster: 0.5\n")),
            errors{"test.yaml:3:20: orchestrator.detection.site_disaster: expected a mapping "
                   "(key: value), got a single value"});
}

TEST(detection_config, depends_on_names_other_configured_services_once) {
  auto e = errors_of("services:\n" + service("db", "    depends_on: [db, dbx]\n") +
                     service("app", "    depends_on: [db, db]\n"));
  EXPECT_EQ(e, (errors{
                   "test.yaml:3:18: services[0].depends_on[0]: 'db' is this service: a service "
                   "cannot depend on itself",
                   "test.yaml:3:22: services[0].depends_on[1]: 'dbx' is not a configured service "
                   "(services: db, app)",
                   "test.yaml:8:22: services[1].depends_on[1]: 'db' is listed twice",
               }));
  EXPECT_EQ(errors_of("services:\n" + service("app", "    depends_on: db\n")),
            errors{"test.yaml:3:17: services[0].depends_on: expected a list, got a single value"});
  EXPECT_EQ(errors_of("services:\n" + service("app", "    depends_on: [[db]]\n")),
            errors{"test.yaml:3:18: services[0].depends_on[0]: expected a single value, got a "
                   "list"});
}

TEST(detection_config, a_dependency_cycle_is_named) {
  // services[0] is outside the cycle; the cycle is written from its member first in the file.
  auto e = errors_of("services:\n" + service("web") + service("app", "    depends_on: [cache]\n") +
                     service("cache", "    depends_on: [db]\n") +
                     service("db", "    depends_on: [app]\n"));
  EXPECT_EQ(e, errors{"test.yaml:7:17: services[1].depends_on: dependency cycle: app -> cache -> "
                      "db -> app"});
  EXPECT_EQ(errors_of("services:\n" + service("a", "    depends_on: [b]\n") +
                      service("b", "    depends_on: [a]\n")),
            errors{"test.yaml:3:17: services[0].depends_on: dependency cycle: a -> b -> a"});
}

TEST(detection_config, a_reload_that_changes_depends_on_changes_the_service) {
  auto before = load("services:\n" + service("db") + service("app"));
  auto after = load("services:\n" + service("db") + service("app", "    depends_on: [db]\n"));
  auto c = diff_configs(before, after);
  EXPECT_EQ(c.changed, std::vector<std::string>{"app"});
  EXPECT_TRUE(c.need_restart.empty());
  auto tuned = load("orchestrator:\n  detection: {cascade_hold: 2s}\nservices:\n" + service("db") +
                    service("app"));
  EXPECT_EQ(diff_configs(before, tuned).need_restart, std::vector<std::string>{"orchestrator"});
}

// -- the dependency graph itself ---------------------------------------------

namespace {

dependency_graph
graph_of(std::initializer_list<std::pair<std::string, std::vector<std::string>>> g) {
  dependency_graph out;
  for (const auto& [name, deps] : g)
    out.add(name, deps);
  return out;
}

} // namespace

TEST(dependency_graph, dependencies_and_dependents_direct_and_transitive) {
  auto g = graph_of({{"app", {"cache", "auth"}},
                     {"cache", {"db"}},
                     {"auth", {"db"}},
                     {"db", {}},
                     {"web", {"app"}}});
  EXPECT_EQ(g.dependencies_of("app"), (std::vector<std::string>{"cache", "auth"}));
  EXPECT_EQ(g.dependents_of("db"), (std::vector<std::string>{"cache", "auth"}));
  EXPECT_EQ(g.all_dependencies_of("web"), (std::vector<std::string>{"app", "cache", "auth", "db"}));
  EXPECT_EQ(g.all_dependents_of("db"), (std::vector<std::string>{"cache", "auth", "app", "web"}));
  EXPECT_TRUE(g.all_dependencies_of("db").empty());
  EXPECT_TRUE(g.all_dependents_of("nope").empty());
  EXPECT_TRUE(g.cycles().empty());
}

TEST(dependency_graph, topological_order_puts_dependencies_first_ties_in_file_order) {
  auto g = graph_of(
      {{"web", {"app"}}, {"app", {"cache", "db"}}, {"cache", {"db"}}, {"db", {}}, {"metrics", {}}});
  auto order = g.topological_order();
  ASSERT_TRUE(order);
  EXPECT_EQ(*order, (std::vector<std::string>{"db", "cache", "app", "web", "metrics"}));
}

TEST(dependency_graph, cycles_are_found_and_block_the_order) {
  auto g = graph_of({{"web", {"app"}},
                     {"app", {"cache"}},
                     {"cache", {"db"}},
                     {"db", {"app"}},
                     {"x", {"y"}},
                     {"y", {"x"}}});
  auto cycles = g.cycles();
  ASSERT_EQ(cycles.size(), 2u);
  EXPECT_EQ(describe_cycle(cycles[0]), "app -> cache -> db -> app");
  EXPECT_EQ(describe_cycle(cycles[1]), "x -> y -> x");
  EXPECT_FALSE(g.topological_order());
}

TEST(dependency_graph, unknown_names_are_ignored) {
  auto g = graph_of({{"app", {"ghost", "db"}}, {"db", {}}});
  EXPECT_EQ(g.all_dependencies_of("app"), std::vector<std::string>{"db"});
  EXPECT_EQ(*g.topological_order(), (std::vector<std::string>{"db", "app"}));
}

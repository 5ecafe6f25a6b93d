// find_service by the loader's name -> position index, and by the scan it
// falls back to when the index is empty (a config built by hand) or stale
// (services changed after indexing): both must return the right service.
#include <gtest/gtest.h>

#include "tests/config/config_test_support.hpp"

using namespace switchyard::config;

namespace {

std::string fleet_yaml(int services) {
  std::string yaml = "services:\n";
  for (int i = 0; i < services; ++i) {
    auto n = std::to_string(i);
    yaml += "  - name: svc-" + n +
            "\n"
            "    health_check: {type: tcp}\n"
            "    instances:\n"
            "      - {name: svc-" +
            n + "-a, address: 127.0.0.1:9001, role: primary}\n" + "      - {name: svc-" + n +
            "-b, address: 127.0.0.1:9002, role: standby}\n"
            "    strategy: {type: active_passive}\n";
  }
  return yaml;
}

switchyard_config load_fleet(int services) {
  auto r = load_config_text(fleet_yaml(services), "test.yaml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : to_string(r.errors.front()));
  return r.config;
}

service_settings named(const std::string& name) {
  service_settings s;
  s.name = name;
  return s;
}

} // namespace

TEST(config_service_index, the_loader_indexes_every_service_by_its_position) {
  auto cfg = load_fleet(50);
  ASSERT_EQ(cfg.services.size(), 50u);
  ASSERT_EQ(cfg.service_index.size(), 50u);
  for (std::size_t i = 0; i < cfg.services.size(); ++i) {
    const auto& name = cfg.services[i].name;
    ASSERT_EQ(cfg.service_index.at(name), i) << name;
    EXPECT_EQ(cfg.find_service(name), &cfg.services[i]) << name;
  }
  EXPECT_EQ(cfg.find_service("svc-50"), nullptr);
  EXPECT_EQ(cfg.find_service(""), nullptr);
}

TEST(config_service_index, a_copied_or_moved_config_finds_its_own_services) {
  auto loaded = load_fleet(5);
  auto copy = loaded;
  auto moved = std::move(loaded);
  for (const auto* cfg : {&copy, &moved})
    for (std::size_t i = 0; i < cfg->services.size(); ++i)
      EXPECT_EQ(cfg->find_service(cfg->services[i].name), &cfg->services[i]);
}

TEST(config_service_index, find_service_uses_the_index_when_its_entry_is_current) {
  // Two services with one name (never from the loader, which refuses it):
  // the scan would find the first, so finding the second shows the index
  // was asked.
  switchyard_config cfg;
  cfg.services = {named("dup"), named("dup")};
  cfg.service_index = {{"dup", 1}};
  EXPECT_EQ(cfg.find_service("dup"), &cfg.services[1]);
}

TEST(config_service_index, a_config_built_by_hand_without_an_index_is_scanned) {
  switchyard_config cfg;
  cfg.services = {named("web"), named("db"), named("cache")};
  ASSERT_TRUE(cfg.service_index.empty());
  EXPECT_EQ(cfg.find_service("web"), &cfg.services[0]);
  EXPECT_EQ(cfg.find_service("cache"), &cfg.services[2]);
  EXPECT_EQ(cfg.find_service("queue"), nullptr);
  cfg.index_services();
  EXPECT_EQ(cfg.service_index.size(), 3u);
  EXPECT_EQ(cfg.find_service("db"), &cfg.services[1]);
}

TEST(config_service_index, a_stale_index_never_gives_a_wrong_answer) {
  auto cfg = load_fleet(4);
  // Reordered after indexing: every entry now points at another service.
  std::swap(cfg.services[0], cfg.services[3]);
  EXPECT_EQ(cfg.find_service("svc-0"), &cfg.services[3]);
  EXPECT_EQ(cfg.find_service("svc-3"), &cfg.services[0]);
  // Renamed: the old name is gone, the new one is found though never indexed.
  cfg.services[1].name = "renamed";
  EXPECT_EQ(cfg.find_service("svc-1"), nullptr);
  EXPECT_EQ(cfg.find_service("renamed"), &cfg.services[1]);
  // Shrunk: an entry past the end is not followed.
  cfg.services.pop_back();
  EXPECT_EQ(cfg.find_service("svc-0"), nullptr);
  EXPECT_EQ(cfg.find_service("svc-2"), &cfg.services[2]);
  // Appended: found by the scan.
  cfg.services.push_back(named("late"));
  EXPECT_EQ(cfg.find_service("late"), &cfg.services.back());
  cfg.index_services();
  EXPECT_EQ(cfg.service_index.at("late"), cfg.services.size() - 1);
  EXPECT_EQ(cfg.find_service("late"), &cfg.services.back());
}

TEST(config_service_index, dependencies_on_unknown_services_are_still_reported_in_a_large_fleet) {
  auto yaml = fleet_yaml(300);
  // The last service depends on the first (known) and on one that is not configured.
  yaml = switchyard::config::testing::replace(
      yaml, "  - name: svc-299\n", "  - name: svc-299\n    depends_on: [svc-0, svc-300]\n");
  auto errors = switchyard::config::testing::errors_of(yaml);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("services[299].depends_on[1]: 'svc-300' is not a configured service"),
            std::string::npos)
      << errors[0];
}

// Helpers shared by the configuration tests: load YAML text and get the
// errors as the exact text an operator sees, and a temporary folder.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/loader.hpp"
#include "tests/support/temp_dir.hpp"

namespace switchyard::config::testing {

/// A valid configuration to derive bad ones from. Tests refer to its line numbers.
inline const std::string valid_yaml = R"(orchestrator:
  data_dir: state
services:
  - name: web
    health_check:
      type: tcp
    instances:
      - name: web-a
        address: 127.0.0.1:8081
        role: primary
      - name: web-b
        address: 127.0.0.1:8082
        role: standby
    strategy:
      type: active_passive
)";

/// Every error of `yaml` (loaded as "test.yaml") as `file:line:column: field: message`.
inline std::vector<std::string> errors_of(const std::string& yaml) {
  auto r = load_config_text(yaml, "test.yaml");
  std::vector<std::string> out;
  for (const auto& e : r.errors)
    out.push_back(to_string(e));
  return out;
}

/// `text` with the first `from` replaced by `to`; fails the test if `from` is absent.
inline std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "not in the YAML: " << from;
  if (at == std::string::npos)
    return text;
  return text.replace(at, from.size(), to);
}

using switchyard::testing::temp_dir;

inline std::string example_path(const std::string& name) {
  return std::string(SWITCHYARD_SOURCE_DIR) + "/config/examples/" + name;
}

} // namespace switchyard::config::testing

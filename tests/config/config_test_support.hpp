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

/// A fresh folder under /tmp, removed with everything in it.
class temp_dir {
public:
  temp_dir() {
    std::string pattern = "/tmp/switchyard-config-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }

  /// Writes `text` to `name` (folders created as needed) and returns its full path.
  std::string write(const std::string& name, const std::string& text) const {
    auto file = std::filesystem::path(path_) / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file.string();
  }

private:
  std::string path_;
};

inline std::string example_path(const std::string& name) {
  return std::string(SWITCHYARD_SOURCE_DIR) + "/config/examples/" + name;
}

} // namespace switchyard::config::testing

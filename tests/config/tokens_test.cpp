// The API tokens file: hashes, roles, errors with locations, constant-time lookup.
#include <fstream>

#include <gtest/gtest.h>

#include "config/tokens.hpp"
#include "tests/actors/test_system.hpp"

using namespace switchyard::config;

namespace {

std::string write(const switchyard::testing::temp_dir& dir, const std::string& text) {
  auto path = (dir.path() / "tokens.yaml").string();
  std::ofstream(path) << text;
  return path;
}

std::vector<std::string> errors_of(const tokens_result& r) {
  std::vector<std::string> out;
  for (const auto& e : r.errors)
    out.push_back(to_string(e));
  return out;
}

} // namespace

TEST(tokens, sha256_matches_the_standard) {
  EXPECT_EQ(sha256_hex("demo-viewer-token"),
            "db2c460a3dd812a27b2a7f60d1320322c27ac3b28b3b90b11c05ecc7b4bcc856");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(tokens, loads_and_finds_by_token) {
  switchyard::testing::temp_dir dir;
  auto r = load_tokens_file(write(dir, "tokens:\n"
                                       "  - {name: alice, role: operator, sha256: " +
                                           sha256_hex("alice-secret") +
                                           "}\n"
                                           "  - {name: root, role: admin, sha256: " +
                                           sha256_hex("root-secret") + "}\n"));
  ASSERT_TRUE(r.ok()) << errors_of(r).front();
  ASSERT_EQ(r.tokens.size(), 2u);
  auto alice = find_token(r.tokens, "alice-secret");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->name, "alice");
  EXPECT_EQ(alice->role, api_role::operator_);
  EXPECT_EQ(find_token(r.tokens, "root-secret")->role, api_role::admin);
  EXPECT_FALSE(find_token(r.tokens, "alice-secret "));
  EXPECT_FALSE(find_token(r.tokens, ""));
  EXPECT_LT(api_role::viewer, api_role::operator_);
  EXPECT_LT(api_role::operator_, api_role::admin);
}

TEST(tokens, the_demo_tokens_file_is_valid) {
  auto r =
      load_tokens_file(std::string(SWITCHYARD_SOURCE_DIR) + "/config/examples/demo-tokens.yaml");
  ASSERT_TRUE(r.ok()) << errors_of(r).front();
  EXPECT_EQ(find_token(r.tokens, "demo-viewer-token")->role, api_role::viewer);
  EXPECT_EQ(find_token(r.tokens, "demo-operator-token")->role, api_role::operator_);
  EXPECT_EQ(find_token(r.tokens, "demo-admin-token")->role, api_role::admin);
}

TEST(tokens, errors_name_file_line_column_and_field) {
  switchyard::testing::temp_dir dir;
  auto path = write(dir, "tokens:\n"
                         "  - {name: a, role: root, sha256: abc}\n"
                         "  - {name: a, role: viewer, sha256: " +
                             sha256_hex("x") + ", colour: red}\n");
  auto e = errors_of(load_tokens_file(path));
  ASSERT_EQ(e.size(), 4u) << ::testing::PrintToString(e);
  EXPECT_EQ(e[0], path + ":2:21: tokens[0].role: 'root' is not one of: viewer, operator, admin");
  EXPECT_EQ(e[1], path + ":2:35: tokens[0].sha256: must be 64 lowercase hex digits: the SHA-256 "
                         "of the token (switchyardd --hash-token reads a token on stdin and "
                         "prints it)");
  EXPECT_NE(e[2].find("tokens[1].colour: unknown key"), std::string::npos) << e[2];
  EXPECT_EQ(e[3], path + ":3:12: tokens[1].name: 'a' is already used by tokens[0].name");
}

TEST(tokens, missing_file_and_directory) {
  switchyard::testing::temp_dir dir;
  auto missing = errors_of(load_tokens_file((dir.path() / "nope.yaml").string()));
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_NE(missing[0].find(": (file): cannot read: No such file or directory"), std::string::npos);
  auto folder = errors_of(load_tokens_file(dir.path().string()));
  ASSERT_EQ(folder.size(), 1u);
  EXPECT_NE(folder[0].find("is a directory"), std::string::npos);
}

TEST(api_config, listen_defaults_to_loopback_and_is_validated) {
  const std::string base = "services:\n"
                           "  - name: web\n"
                           "    health_check: {type: tcp}\n"
                           "    instances:\n"
                           "      - {name: a, address: '127.0.0.1:1', role: primary}\n"
                           "      - {name: b, address: '127.0.0.1:2', role: standby}\n"
                           "    strategy: {type: active_passive}\n";
  auto plain = load_config_text(base, "/etc/sy/test.yaml");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain.config.api.listen, "127.0.0.1:7400");
  EXPECT_TRUE(plain.config.api.tokens_file.empty());

  auto set = load_config_text("api: {listen: '127.0.0.1:0', tokens_file: t.yaml}\n" + base,
                              "/etc/sy/test.yaml");
  ASSERT_TRUE(set.ok()) << to_string(set.errors.front());
  EXPECT_EQ(set.config.api.tokens_file, "/etc/sy/t.yaml") << "relative to the config file";

  auto bad = load_config_text("api: {listen: 'a b:0'}\n" + base, "test.yaml");
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(
      to_string(bad.errors[0]).rfind("test.yaml:1:15: api.listen: 'a b:0' is not host:port", 0), 0u)
      << to_string(bad.errors[0]);
}

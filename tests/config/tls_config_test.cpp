// api.tls: the server certificate, its key and the optional client CA (mTLS);
// paths resolved against the config file, files checked at load time, and
// which listen addresses count as loopback (no warning without TLS).
#include <sys/stat.h>
#include <unistd.h>

#include "tests/config/config_test_support.hpp"

using namespace switchyard::config;
using namespace switchyard::config::testing;

namespace {

const std::string services = "services:\n"
                             "  - name: web\n"
                             "    health_check: {type: tcp}\n"
                             "    instances:\n"
                             "      - {name: a, address: '127.0.0.1:1', role: primary}\n"
                             "      - {name: b, address: '127.0.0.1:2', role: standby}\n"
                             "    strategy: {type: active_passive}\n";

// A folder with a config file's neighbours: tls/server.crt, tls/server.key, tls/clients-ca.crt.
class tls_config : public ::testing::Test {
protected:
  void SetUp() override {
    dir.write("etc/tls/server.crt", "-----BEGIN CERTIFICATE-----\n");
    dir.write("etc/tls/server.key", "-----BEGIN PRIVATE KEY-----\n");
    dir.write("etc/tls/clients-ca.crt", "-----BEGIN CERTIFICATE-----\n");
    config_file = dir.str() + "/etc/switchyard.yaml";
  }

  /// Loads `api` (the lines of the api section, each indented by two) as etc/switchyard.yaml.
  load_result load(const std::string& api) {
    return load_config_text("api:\n" + api + services, config_file);
  }

  std::vector<std::string> errors(const std::string& api) {
    std::vector<std::string> out;
    for (const auto& e : load(api).errors)
      out.push_back(to_string(e));
    return out;
  }

  temp_dir dir;
  std::string config_file;
};

} // namespace

TEST_F(tls_config, off_by_default_and_with_an_empty_mapping) {
  auto plain = load_config_text(services, config_file);
  ASSERT_TRUE(plain.ok()) << to_string(plain.errors.front());
  EXPECT_FALSE(plain.config.api.tls.enabled());
  EXPECT_TRUE(plain.config.api.tls.cert_file.empty());
  EXPECT_TRUE(plain.config.api.tls.key_file.empty());
  EXPECT_TRUE(plain.config.api.tls.client_ca_file.empty());

  auto empty = load("  tls: {}\n");
  ASSERT_TRUE(empty.ok()) << to_string(empty.errors.front());
  EXPECT_FALSE(empty.config.api.tls.enabled());
}

TEST_F(tls_config, relative_paths_resolve_against_the_config_files_folder) {
  auto r = load("  tls:\n"
                "    cert_file: tls/server.crt\n"
                "    key_file: ./tls/../tls/server.key\n"
                "    client_ca_file: tls/clients-ca.crt\n");
  ASSERT_TRUE(r.ok()) << to_string(r.errors.front());
  const auto& tls = r.config.api.tls;
  EXPECT_TRUE(tls.enabled());
  EXPECT_EQ(tls.cert_file, dir.str() + "/etc/tls/server.crt");
  EXPECT_EQ(tls.key_file, dir.str() + "/etc/tls/server.key");
  EXPECT_EQ(tls.client_ca_file, dir.str() + "/etc/tls/clients-ca.crt");
}

TEST_F(tls_config, relative_paths_resolve_the_same_when_the_config_path_is_relative) {
  auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  auto r = load_config_text("api:\n  tls: {cert_file: tls/server.crt, key_file: tls/server.key}\n" +
                                services,
                            "etc/switchyard.yaml");
  std::filesystem::current_path(cwd);
  ASSERT_TRUE(r.ok()) << to_string(r.errors.front());
  EXPECT_EQ(r.config.api.tls.cert_file, dir.str() + "/etc/tls/server.crt");
  EXPECT_EQ(r.config.api.tls.key_file, dir.str() + "/etc/tls/server.key");
}

TEST_F(tls_config, absolute_paths_are_kept_and_client_ca_is_optional) {
  auto cert = dir.str() + "/etc/tls/server.crt";
  auto key = dir.str() + "/etc/tls/server.key";
  auto r = load("  tls: {cert_file: '" + cert + "', key_file: '" + key + "'}\n");
  ASSERT_TRUE(r.ok()) << to_string(r.errors.front());
  EXPECT_TRUE(r.config.api.tls.enabled());
  EXPECT_EQ(r.config.api.tls.cert_file, cert);
  EXPECT_EQ(r.config.api.tls.key_file, key);
  EXPECT_TRUE(r.config.api.tls.client_ca_file.empty());
}

TEST_F(tls_config, unknown_keys_are_errors) {
  EXPECT_EQ(
      errors("  tls:\n"
             "    cert_file: tls/server.crt\n"
             "    key_file: tls/server.key\n"
             "    ca_file: tls/clients-ca.crt\n"),
      std::vector<std::string>{
          config_file +
          ":5:5: api.tls.ca_file: unknown key (allowed: cert_file, key_file, client_ca_file)"});
  EXPECT_EQ(errors("  tls: tls/server.crt\n"),
            std::vector<std::string>{config_file +
                                     ":2:8: api.tls: expected a mapping (key: value), got a "
                                     "single value"});
}

TEST_F(tls_config, cert_and_key_come_together) {
  EXPECT_EQ(errors("  tls:\n    cert_file: tls/server.crt\n"),
            std::vector<std::string>{
                config_file +
                ":3:5: api.tls.key_file: missing: required with cert_file (the certificate's "
                "private key)"});
  EXPECT_EQ(errors("  tls:\n    key_file: tls/server.key\n"),
            std::vector<std::string>{
                config_file +
                ":3:5: api.tls.cert_file: missing: required with key_file (the certificate of "
                "that key)"});
}

TEST_F(tls_config, client_ca_needs_a_server_certificate) {
  EXPECT_EQ(errors("  tls:\n    client_ca_file: tls/clients-ca.crt\n"),
            std::vector<std::string>{
                config_file + ":3:21: api.tls.client_ca_file: needs cert_file and key_file: client "
                              "certificates (mTLS) are checked over TLS"});
}

TEST_F(tls_config, every_named_file_must_be_readable_and_errors_name_the_resolved_path) {
  auto e = errors("  tls:\n"
                  "    cert_file: tls/nope.crt\n"
                  "    key_file: tls\n"
                  "    client_ca_file: /nonexistent/ca.crt\n");
  EXPECT_EQ(e, (std::vector<std::string>{
                   config_file + ":3:16: api.tls.cert_file: cannot read " + dir.str() +
                       "/etc/tls/nope.crt: No such file or directory",
                   config_file + ":4:15: api.tls.key_file: cannot read " + dir.str() +
                       "/etc/tls: it is a directory, not a file",
                   config_file +
                       ":5:21: api.tls.client_ca_file: cannot read /nonexistent/ca.crt: No such "
                       "file or directory"}));
}

TEST_F(tls_config, empty_paths_are_errors) {
  EXPECT_EQ(
      errors("  tls: {cert_file: '', key_file: tls/server.key}\n"),
      std::vector<std::string>{
          config_file + ":2:20: api.tls.cert_file: must not be empty (leave it out instead)"});
}

TEST_F(tls_config, a_file_without_read_permission_is_an_error) {
  if (::geteuid() == 0)
    GTEST_SKIP() << "root reads every file";
  ::chmod((dir.str() + "/etc/tls/server.key").c_str(), 0);
  auto e = errors("  tls: {cert_file: tls/server.crt, key_file: tls/server.key}\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], config_file + ":2:46: api.tls.key_file: cannot read " + dir.str() +
                      "/etc/tls/server.key: Permission denied");
}

TEST(api_listen, loopback_addresses) {
  auto loopback = [](const std::string& listen) {
    api_settings a;
    a.listen = listen;
    return a.listens_on_loopback();
  };
  for (const char* yes :
       {"127.0.0.1:7400", "127.1.2.3:0", "localhost:7400", "LocalHost:1", "[::1]:7400"})
    EXPECT_TRUE(loopback(yes)) << yes;
  for (const char* no :
       {"0.0.0.0:7400", "10.0.0.5:7400", "[::]:7400", "[fe80::1%eth0]:7400", "127.example.com:7400",
        "sy.example.com:7400", "128.0.0.1:1", "127.0.0.1.5:1"})
    EXPECT_FALSE(loopback(no)) << no;
}

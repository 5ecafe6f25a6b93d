// TLS and mutual TLS on the API: a real switchyardd with certificates made by
// the real openssl CLI, and the real `switchyard` CLI with and without
// --tls-ca / --tls-cert / --tls-key / --tls-server-name.
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/integration/cli_fixture.hpp"

using namespace std::chrono_literals;
using switchyard::testing::child_process;
using switchyard::testing::read_file;
using switchyard::testing::wait_until;

namespace {

class tls_integration : public switchyard::testing::cli_integration {
protected:
  void SetUp() override {
    cli_integration::SetUp();
    if (HasFatalFailure())
      return;
    tls = root + "/tls";
    std::filesystem::create_directories(tls);
    // Two CAs: one signs the server's certificate, the other the clients'.
    make_ca("ca");
    make_ca("clients-ca");
    make_cert("server", "ca",
              "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:switchyard.test\n"
              "extendedKeyUsage=serverAuth\n");
    make_cert("client", "clients-ca", "extendedKeyUsage=clientAuth\n");
    // Signed by the server's CA, not by clients-ca: an mTLS server must refuse it.
    make_cert("stranger", "ca", "extendedKeyUsage=clientAuth\n");
  }

  void openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/openssl");
    auto log = root + "/openssl.log";
    child_process p(args, log);
    ASSERT_EQ(p.wait_for_exit(30s), 0) << read_file(log);
  }

  void make_ca(const std::string& name) {
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-days", "2", "-subj", "/CN=switchyard test " + name, "-keyout", path(name + ".key"),
             "-out", path(name + ".crt")});
  }

  // A key and a certificate for it, signed by `ca`, with the X.509 extensions in `extensions`.
  void make_cert(const std::string& name, const std::string& ca, const std::string& extensions) {
    openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-subj", "/CN=" + name, "-keyout", path(name + ".key"), "-out", path(name + ".csr")});
    std::ofstream(path(name + ".ext")) << extensions;
    openssl({"x509", "-req", "-in", path(name + ".csr"), "-CA", path(ca + ".crt"), "-CAkey",
             path(ca + ".key"), "-set_serial", std::to_string(++serial), "-days", "2", "-extfile",
             path(name + ".ext"), "-out", path(name + ".crt")});
  }

  std::string path(const std::string& file) const { return tls + "/" + file; }

  /// Adds `lines` (indented by two: keys of api) to the api section of the fixture's config.
  void add_to_api(const std::string& lines) {
    auto file = root + "/switchyard.yaml";
    auto text = read_file(file);
    const std::string anchor = "  tokens_file: tokens.yaml\n";
    auto at = text.find(anchor);
    ASSERT_NE(at, std::string::npos) << text;
    text.insert(at + anchor.size(), lines);
    std::ofstream(file) << text;
  }

  /// Starts switchyardd and waits until `args` (the TLS flags that work) get a status.
  void start_and_wait(const std::vector<std::string>& args) {
    daemon = start_daemon(daemon_log());
    auto status = args;
    status.push_back("status");
    ASSERT_TRUE(wait_until([&] { return cli(status).exit_code == 0; }, 15s))
        << read_file(daemon_log());
  }

  std::string daemon_log() const { return root + "/switchyardd.log"; }

  std::string tls;
  int serial = 0;
};

} // namespace

TEST_F(tls_integration, tls_status_with_the_ca_and_plaintext_is_refused) {
  add_to_api("  tls:\n    cert_file: tls/server.crt\n    key_file: tls/server.key\n");
  start_and_wait({"--tls-ca", path("ca.crt")});
  EXPECT_NE(read_file(daemon_log()).find("api: TLS with " + path("server.crt")), std::string::npos)
      << read_file(daemon_log());
  EXPECT_EQ(read_file(daemon_log()).find("PLAINTEXT"), std::string::npos) << "loopback, TLS on";

  auto ok = cli({"--tls-ca", path("ca.crt"), "status"});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("switchyardd 0.1.0"), std::string::npos) << ok.output;

  auto plaintext = cli({"status"});
  EXPECT_EQ(plaintext.exit_code, 2) << plaintext.output;
  EXPECT_NE(plaintext.output.find("cannot reach switchyardd at 127.0.0.1:"), std::string::npos)
      << plaintext.output;
  EXPECT_NE(plaintext.output.find("--tls-ca FILE"), std::string::npos) << plaintext.output;

  // The server's certificate is checked: another CA, or a name it does not carry, fails.
  auto wrong_ca = cli({"--tls-ca", path("clients-ca.crt"), "status"});
  EXPECT_EQ(wrong_ca.exit_code, 2) << wrong_ca.output;
  auto renamed =
      cli({"--tls-ca", path("ca.crt"), "--tls-server-name", "switchyard.test", "status"});
  EXPECT_EQ(renamed.exit_code, 0) << renamed.output;
  auto wrong_name = cli({"--tls-ca", path("ca.crt"), "--tls-server-name", "other.test", "status"});
  EXPECT_EQ(wrong_name.exit_code, 2) << wrong_name.output;

  // The environment works like the flags.
  ::setenv("SWITCHYARD_TLS_CA", path("ca.crt").c_str(), 1);
  auto from_env = cli({"status"});
  ::unsetenv("SWITCHYARD_TLS_CA");
  EXPECT_EQ(from_env.exit_code, 0) << from_env.output;
}

TEST_F(tls_integration, mutual_tls_needs_a_client_certificate_signed_by_the_client_ca) {
  add_to_api("  tls:\n    cert_file: tls/server.crt\n    key_file: tls/server.key\n"
             "    client_ca_file: tls/clients-ca.crt\n");
  std::vector<std::string> with_cert{"--tls-ca",         path("ca.crt"), "--tls-cert",
                                     path("client.crt"), "--tls-key",    path("client.key")};
  start_and_wait(with_cert);
  EXPECT_NE(read_file(daemon_log())
                .find("clients must present a certificate signed by " + path("clients-ca.crt")),
            std::string::npos)
      << read_file(daemon_log());

  auto without = cli({"--tls-ca", path("ca.crt"), "status"});
  EXPECT_EQ(without.exit_code, 2) << without.output;

  auto stranger = cli({"--tls-ca", path("ca.crt"), "--tls-cert", path("stranger.crt"), "--tls-key",
                       path("stranger.key"), "status"});
  EXPECT_EQ(stranger.exit_code, 2) << stranger.output;

  auto with = with_cert;
  with.push_back("status");
  auto ok = cli(with);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("switchyardd 0.1.0"), std::string::npos) << ok.output;

  // The token is still checked over mTLS.
  auto wrong_token = cli(with, "not-a-token");
  EXPECT_EQ(wrong_token.exit_code, 3) << wrong_token.output;
}

TEST_F(tls_integration, check_config_rejects_a_missing_certificate) {
  add_to_api("  tls:\n    cert_file: tls/missing.crt\n    key_file: tls/server.key\n");
  auto log = root + "/check.out";
  child_process check({SWITCHYARDD_PATH, "--check-config", root + "/switchyard.yaml"}, log);
  EXPECT_EQ(check.wait_for_exit(20s), 1) << read_file(log);
  auto out = read_file(log);
  EXPECT_NE(out.find("api.tls.cert_file: cannot read " + path("missing.crt") +
                     ": No such file or directory"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("1 error in configuration"), std::string::npos) << out;
}

TEST_F(tls_integration, a_key_that_does_not_match_the_certificate_stops_the_start) {
  add_to_api("  tls:\n    cert_file: tls/server.crt\n    key_file: tls/client.key\n");
  auto log = daemon_log();
  child_process run({SWITCHYARDD_PATH, "--config", root + "/switchyard.yaml"}, log);
  EXPECT_EQ(run.wait_for_exit(20s), 3) << read_file(log);
  EXPECT_NE(read_file(log).find("api.tls"), std::string::npos) << read_file(log);
}

TEST_F(tls_integration, unreadable_cli_tls_files_are_usage_errors) {
  auto missing = cli({"--tls-ca", path("nope.crt"), "status"});
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("--tls-ca (or SWITCHYARD_TLS_CA): cannot read " + path("nope.crt") +
                                ": No such file or directory"),
            std::string::npos)
      << missing.output;

  auto half = cli({"--tls-ca", path("ca.crt"), "--tls-cert", path("client.crt"), "status"});
  EXPECT_EQ(half.exit_code, 1) << half.output;
  EXPECT_NE(half.output.find("--tls-cert and --tls-key go together"), std::string::npos)
      << half.output;

  ::setenv("SWITCHYARD_TLS_KEY", tls.c_str(), 1);
  auto folder = cli({"status"});
  ::unsetenv("SWITCHYARD_TLS_KEY");
  EXPECT_EQ(folder.exit_code, 1) << folder.output;
  EXPECT_NE(folder.output.find("--tls-key (or SWITCHYARD_TLS_KEY): cannot read " + tls +
                               ": it is a directory, not a file"),
            std::string::npos)
      << folder.output;
}

// orchestrator.metrics_listen: the default (loopback), off, port 0, and the
// loader's file:line error for what is not host:port.
#include <gtest/gtest.h>

#include "config/loader.hpp"
#include "config/model.hpp"

using namespace switchyard::config;

namespace {

const std::string services = "services:\n"
                             "  - name: web\n"
                             "    health_check: {type: tcp}\n"
                             "    instances:\n"
                             "      - {name: a, address: '127.0.0.1:1', role: primary}\n"
                             "      - {name: b, address: '127.0.0.1:2', role: standby}\n"
                             "    strategy: {type: active_passive}\n";

load_result with_metrics(const std::string& value) {
  return load_config_text("orchestrator:\n  metrics_listen: " + value + "\n" + services,
                          "test.yaml");
}

} // namespace

TEST(metrics_config, defaults_to_loopback_7401) {
  auto r = load_config_text(services, "test.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.orchestrator.metrics_listen, "127.0.0.1:7401");
  EXPECT_TRUE(r.config.orchestrator.metrics_enabled());
  EXPECT_TRUE(r.config.orchestrator.metrics_listens_on_loopback());
}

TEST(metrics_config, off_empty_port_zero_and_other_hosts) {
  for (const char* off : {"off", "\"off\"", "\"\""}) {
    auto r = with_metrics(off);
    ASSERT_TRUE(r.ok()) << off << ": " << to_string(r.errors.front());
    EXPECT_FALSE(r.config.orchestrator.metrics_enabled()) << off;
  }
  auto zero = with_metrics("127.0.0.1:0");
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero.config.orchestrator.metrics_listen, "127.0.0.1:0");
  auto any = with_metrics("0.0.0.0:9100");
  ASSERT_TRUE(any.ok()) << "accepted (the daemon warns)";
  EXPECT_FALSE(any.config.orchestrator.metrics_listens_on_loopback());
  auto v6 = with_metrics("'[::1]:9100'");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6.config.orchestrator.metrics_listens_on_loopback());
  EXPECT_TRUE(with_metrics("localhost:9100").config.orchestrator.metrics_listens_on_loopback());
}

TEST(metrics_config, bad_values_give_file_line_field_errors) {
  for (const char* bad : {"7401", "'a b:1'", "'127.0.0.1:'", "'127.0.0.1:70000'", "'host:x'"}) {
    auto r = with_metrics(bad);
    ASSERT_EQ(r.errors.size(), 1u) << bad;
    EXPECT_EQ(to_string(r.errors[0]).rfind("test.yaml:2:19: orchestrator.metrics_listen: ", 0), 0u)
        << to_string(r.errors[0]);
    EXPECT_NE(to_string(r.errors[0]).find("is not host:port"), std::string::npos);
  }
}

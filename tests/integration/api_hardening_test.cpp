// Hostile input on the gRPC API of a real switchyardd, over a real socket:
// requests that are not protobuf (or carry invalid UTF-8), requests over their
// method's size cap, client strings echoed in errors, and refused calls that
// try to fill the audit table.
#include <future>
#include <regex>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "switchyard/v1/switchyard.grpc.pb.h"
#include "tests/integration/cli_fixture.hpp"

using namespace std::chrono_literals;
using switchyard::testing::read_file;
using switchyard::testing::wait_until;
namespace pb = switchyard::v1;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A length-delimited protobuf field `number` holding `bytes` as they are.
std::string field(int number, const std::string& bytes) {
  std::string out(1, static_cast<char>((number << 3) | 2));
  auto n = bytes.size();
  while (n >= 0x80) {
    out += static_cast<char>((n & 0x7F) | 0x80);
    n >>= 7;
  }
  out += static_cast<char>(n);
  return out + bytes;
}

const std::string not_protobuf = "\xff\xff\xff\xff\xff";
const std::string invalid_utf8 = std::string("\xc3\x28", 2);

class api_hardening : public switchyard::testing::cli_integration {
protected:
  void start() {
    daemon = start_daemon(root + "/switchyardd.log");
    // Healthy, so that a dry-run switchover is accepted.
    ASSERT_TRUE(wait_until([&] { return contains(cli({"services"}).output, "2/2 healthy"); }, 15s))
        << read_file(root + "/switchyardd.log");
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
    channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(api_port),
                                        grpc::InsecureChannelCredentials(), args);
    stub = pb::Switchyard::NewStub(channel);
  }

  static void authorize(grpc::ClientContext& ctx, const std::string& token) {
    ctx.set_deadline(std::chrono::system_clock::now() + 20s);
    if (!token.empty())
      ctx.AddMetadata("authorization", "Bearer " + token);
  }

  /// `bytes` sent as they are as the request of `method` ("GetStatus").
  grpc::Status raw(const std::string& method, const std::string& bytes, const std::string& token) {
    grpc::GenericStub generic(channel);
    grpc::ClientContext ctx;
    authorize(ctx, token);
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&ctx, "/switchyard.v1.Switchyard/" + method, grpc::StubOptions(), &request,
                      &response, [&](const grpc::Status& st) { done.set_value(st); });
    return done.get_future().get();
  }

  grpc::Status get_service(const std::string& name, const std::string& token = "viewer-token") {
    grpc::ClientContext ctx;
    authorize(ctx, token);
    pb::GetServiceRequest req;
    req.set_name(name);
    pb::ServiceDetail out;
    return stub->GetService(&ctx, req, &out);
  }

  grpc::Status switchover(const pb::SwitchoverRequest& req, const std::string& token) {
    grpc::ClientContext ctx;
    authorize(ctx, token);
    pb::SwitchoverResponse out;
    return stub->RequestSwitchover(&ctx, req, &out);
  }

  std::vector<pb::AuditEntry> audit() {
    grpc::ClientContext ctx;
    authorize(ctx, "admin-token");
    pb::ListAuditRequest req;
    req.set_limit(1000);
    pb::ListAuditResponse out;
    auto st = stub->ListAudit(&ctx, req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {out.entries().begin(), out.entries().end()};
  }

  /// The value of an unlabelled sample of GET /metrics (-1: not there).
  double metric(const std::string& name) {
    static const std::regex line{R"(metrics: GET /metrics on \S+ \(port (\d+)\))"};
    std::smatch m;
    auto log = read_file(root + "/switchyardd.log");
    if (!std::regex_search(log, m, line))
      return -1;
    auto body = switchyard::testing::http_request(
        "GET", static_cast<std::uint16_t>(std::stoi(m[1].str())), "/metrics");
    std::smatch v;
    if (!std::regex_search(body, v, std::regex{"\n" + name + " ([0-9.e+]+)"}))
      return -1;
    return std::stod(v[1].str());
  }

  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::Switchyard::Stub> stub;
};

} // namespace

TEST_F(api_hardening, malformed_requests_are_invalid_argument_or_unauthenticated_and_audited) {
  start();
  ASSERT_FALSE(HasFatalFailure());
  for (const std::string method :
       {"GetStatus", "GetService", "ListSwitchovers", "ListAudit", "ExportPlans", "WatchEvents",
        "RequestSwitchover", "SetMaintenance", "Reload", "Drill"}) {
    auto garbage = raw(method, not_protobuf, "viewer-token");
    EXPECT_EQ(garbage.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << method;
    EXPECT_TRUE(contains(garbage.error_message(), "malformed request: not a valid switchyard.v1."))
        << method << ": " << garbage.error_message();
    // No valid token: that comes first.
    EXPECT_EQ(raw(method, not_protobuf, "").error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << method;
    EXPECT_EQ(raw(method, not_protobuf, "wrong-token").error_code(),
              grpc::StatusCode::UNAUTHENTICATED)
        << method;
  }
  // A well-formed message whose string field is not UTF-8 is malformed too.
  auto bad_name = raw("GetService", field(1, invalid_utf8), "viewer-token");
  EXPECT_EQ(bad_name.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad_name.error_message();
  auto bad_reason =
      raw("RequestSwitchover", field(1, "web") + field(3, invalid_utf8), "operator-token");
  EXPECT_EQ(bad_reason.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(contains(bad_reason.error_message(), "switchyard.v1.SwitchoverRequest"))
      << bad_reason.error_message();
  // The same bytes well-formed go through.
  EXPECT_EQ(raw("GetService", field(1, "web"), "viewer-token").error_code(), grpc::StatusCode::OK);

  // Mutating calls are audited as docs/api.md says: 4 mutating methods above
  // x 3 tokens, plus the invalid UTF-8 switchover; reads are not.
  auto rows = audit();
  ASSERT_EQ(rows.size(), 13u);
  const auto& newest = rows.front();
  EXPECT_EQ(newest.call(), "RequestSwitchover");
  EXPECT_EQ(newest.principal(), "test-operator");
  EXPECT_EQ(newest.arguments(), "{}");
  EXPECT_EQ(newest.result().rfind("INVALID_ARGUMENT: malformed request", 0), 0u) << newest.result();
  int anonymous = 0;
  for (const auto& r : rows)
    if (r.principal() == "(anonymous)") {
      ++anonymous;
      EXPECT_EQ(r.result().rfind("UNAUTHENTICATED: ", 0), 0u) << r.result();
      EXPECT_EQ(r.arguments(), "");
    }
  EXPECT_EQ(anonymous, 8);
}

TEST_F(api_hardening, errors_quote_only_a_short_prefix_of_client_input) {
  start();
  ASSERT_FALSE(HasFatalFailure());
  const std::string long_name(3000, 'n');
  auto st = get_service(long_name);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message().substr(0, 200);
  EXPECT_LT(st.error_message().size(), 300u);
  EXPECT_TRUE(contains(st.error_message(), "'" + std::string(64, 'n') + "…'"))
      << st.error_message();

  grpc::ClientContext ctx;
  authorize(ctx, "operator-token");
  pb::MaintenanceRequest maintenance;
  maintenance.set_service("web");
  maintenance.set_instance(std::string(50'000, 'i'));
  maintenance.set_enabled(true);
  maintenance.set_reason("patching");
  pb::MaintenanceResponse out;
  auto unknown_instance = stub->SetMaintenance(&ctx, maintenance, &out);
  EXPECT_EQ(unknown_instance.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_LT(unknown_instance.error_message().size(), 300u);
  EXPECT_TRUE(contains(unknown_instance.error_message(), "service 'web' has no instance"))
      << unknown_instance.error_message().substr(0, 200);

  grpc::ClientContext export_ctx;
  authorize(export_ctx, "viewer-token");
  pb::ExportPlansRequest plans;
  plans.set_format(std::string(3000, 'f'));
  pb::ExportPlansResponse exported;
  auto bad_format = stub->ExportPlans(&export_ctx, plans, &exported);
  EXPECT_EQ(bad_format.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LT(bad_format.error_message().size(), 300u);
}

TEST_F(api_hardening, requests_over_their_methods_cap_are_refused_naming_the_cap) {
  start();
  ASSERT_FALSE(HasFatalFailure());
  // Over the 4 KiB of a read: refused, after the token.
  auto big_read = get_service(std::string(10'000, 'n'));
  EXPECT_EQ(big_read.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << big_read.error_message().substr(0, 200);
  EXPECT_TRUE(contains(big_read.error_message(), "GetService accepts at most 4096 bytes"))
      << big_read.error_message().substr(0, 200);
  EXPECT_EQ(get_service(std::string(10'000, 'n'), "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Over every cap: gRPC refuses it before parsing, saying the limit (the
  // status, not a metadata overflow of an echoed name).
  auto huge = get_service(std::string(3'000'000, 'n'));
  EXPECT_EQ(huge.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(contains(huge.error_message(), "65536")) << huge.error_message().substr(0, 200);

  // A mutation takes a long reason (under 64 KiB), not a longer one.
  pb::SwitchoverRequest req;
  req.set_service("web");
  req.set_dry_run(true);
  req.set_reason(std::string(60'000, 'r'));
  auto long_reason = switchover(req, "operator-token");
  EXPECT_EQ(long_reason.error_code(), grpc::StatusCode::OK) << long_reason.error_message();
  req.set_reason(std::string(70'000, 'r'));
  auto too_long = switchover(req, "operator-token");
  EXPECT_EQ(too_long.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(contains(too_long.error_message(), "65536"));
}

TEST_F(api_hardening, audit_rows_are_bounded_and_hold_no_arguments_without_a_valid_token) {
  start();
  ASSERT_FALSE(HasFatalFailure());
  pb::SwitchoverRequest req;
  req.set_service("web");
  req.set_target("web-z"); // unknown: refused after the token
  req.set_reason(std::string(60'000, 'r'));
  for (const std::string token : {"", "wrong-token", "operator-token"})
    EXPECT_NE(switchover(req, token).error_code(), grpc::StatusCode::OK) << token;
  auto rows = audit();
  ASSERT_EQ(rows.size(), 3u);
  std::size_t stored = 0;
  for (const auto& r : rows) {
    stored += r.arguments().size() + r.result().size();
    if (r.principal() == "(anonymous)") {
      EXPECT_EQ(r.arguments(), "") << "no arguments without a valid token";
      EXPECT_EQ(r.role(), "");
      EXPECT_EQ(r.call(), "RequestSwitchover");
      EXPECT_TRUE(contains(r.result(), "UNAUTHENTICATED: ")) << r.result();
      EXPECT_TRUE(contains(r.result(), "(from ipv4:127.0.0.1)")) << r.result();
    }
  }
  const auto& op = rows.front();
  EXPECT_EQ(op.principal(), "test-operator");
  EXPECT_EQ(op.result().rfind("NOT_FOUND: ", 0), 0u);
  EXPECT_TRUE(contains(op.arguments(), "\"target\":\"web-z\"")) << op.arguments().substr(0, 200);
  EXPECT_TRUE(contains(op.arguments(), "…[truncated ")) << op.arguments().substr(0, 200);
  EXPECT_LE(op.arguments().size(), 4096u + 64u);
  EXPECT_LT(stored, 6000u) << "three rows for three 60 KB requests";
}

TEST_F(api_hardening, refused_calls_over_an_addresses_rate_are_counted_not_written) {
  start();
  ASSERT_FALSE(HasFatalFailure());
  pb::SwitchoverRequest req;
  req.set_service("web");
  req.set_reason("x");
  for (int i = 0; i < 60; ++i)
    ASSERT_EQ(switchover(req, "").error_code(), grpc::StatusCode::UNAUTHENTICATED) << i;
  auto rows = audit();
  // The burst of one address (20), and the odd refill while the loop ran.
  EXPECT_GE(rows.size(), 20u);
  EXPECT_LE(rows.size(), 30u);
  EXPECT_TRUE(
      contains(read_file(root + "/switchyardd.log"), "too many refused calls from ipv4:127.0.0.1"));
  EXPECT_GE(metric("switchyard_api_audit_rows_left_out_total"), 30.0);

  // Once the address's rate allows a row again, it says how many were left out.
  std::string note;
  ASSERT_TRUE(wait_until(
      [&] {
        EXPECT_EQ(switchover(req, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
        for (const auto& r : audit())
          if (contains(r.result(), "earlier refused calls from ipv4:127.0.0.1 not recorded"))
            note = r.result();
        return !note.empty();
      },
      15s));
  EXPECT_TRUE(std::regex_search(note, std::regex{R"(\[(\d+) earlier refused calls)"})) << note;
  // The limit is on refusals only: an accepted call from the same address is
  // always audited.
  req.set_dry_run(true);
  EXPECT_EQ(switchover(req, "operator-token").error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(audit().front().principal(), "test-operator");
}

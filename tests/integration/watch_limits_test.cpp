// WatchEvents and the long calls against a real switchyardd: hundreds of
// streams are served by a few threads (no thread per stream) and still get
// every event; streams and long calls beyond api.max_watch_streams /
// api.max_long_calls (in total and per token) are refused with
// RESOURCE_EXHAUSTED naming the limit; closing a stream gives its place back;
// shutdown with streams open is prompt. Every wait is a bounded poll.
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "config/tokens.hpp"
#include "switchyard/v1/switchyard.grpc.pb.h"
#include "tests/integration/deployment.hpp"

using namespace std::chrono_literals;
using switchyard::testing::child_process;
using switchyard::testing::read_file;
using switchyard::testing::wait_until;
namespace v1 = switchyard::v1;

namespace {

// One stream, read by gRPC's callback API: no client thread per stream either.
class stream final : public grpc::ClientReadReactor<v1::EventBatch> {
public:
  stream(v1::Switchyard::Stub& stub, const std::string& token) {
    ctx_.AddMetadata("authorization", "Bearer " + token);
    stub.async()->WatchEvents(&ctx_, &request_, this);
    StartRead(&batch_);
    StartCall();
  }
  ~stream() override {
    ctx_.TryCancel();
    wait_done(10s);
  }

  void OnReadInitialMetadataDone(bool ok) override {
    if (ok && ctx_.GetServerInitialMetadata().count("x-switchyard-watch") > 0)
      subscribed_ = true;
  }
  void OnReadDone(bool ok) override {
    if (!ok)
      return; // OnDone follows
    {
      std::lock_guard lock{mutex_};
      for (const auto& e : batch_.events())
        kinds_.push_back(e.kind());
    }
    StartRead(&batch_);
  }
  void OnDone(const grpc::Status& s) override {
    std::lock_guard lock{mutex_};
    status_ = s;
    done_ = true;
    cv_.notify_all();
  }

  bool subscribed() const { return subscribed_.load(); }
  void cancel() { ctx_.TryCancel(); }
  bool wait_done(std::chrono::milliseconds limit) {
    std::unique_lock lock{mutex_};
    return cv_.wait_for(lock, limit, [this] { return done_; });
  }
  bool done() {
    std::lock_guard lock{mutex_};
    return done_;
  }
  grpc::Status status() {
    std::lock_guard lock{mutex_};
    return status_;
  }
  bool saw(const std::string& kind) {
    std::lock_guard lock{mutex_};
    return std::find(kinds_.begin(), kinds_.end(), kind) != kinds_.end();
  }

private:
  grpc::ClientContext ctx_;
  v1::WatchEventsRequest request_;
  v1::EventBatch batch_;
  std::atomic<bool> subscribed_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> kinds_;
  bool done_ = false;
  grpc::Status status_;
};

// A field of /proc/<pid>/status ("Threads", "VmSize": its number).
long proc_status(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0)
      return std::stol(line.substr(field.size() + 1));
  return -1;
}

class watch_limits : public switchyard::testing::deployment {
protected:
  /// Adds `api` (YAML lines under api:) to the configuration, starts
  /// switchyardd and waits until both instances are healthy.
  void start(const std::string& api) {
    auto file = root + "/switchyard.yaml";
    auto text = read_file(file);
    const std::string anchor = "  tokens_file: tokens.yaml\n";
    auto at = text.find(anchor);
    ASSERT_NE(at, std::string::npos);
    text.insert(at + anchor.size(), api);
    std::ofstream(file, std::ios::trunc) << text;
    // SWITCHYARDD_UNDER_TEST: another switchyardd to run this against (to see
    // the test fail with one that serves each stream on a thread of its own).
    const char* other = std::getenv("SWITCHYARDD_UNDER_TEST");
    daemon = std::make_unique<child_process>(
        std::vector<std::string>{other != nullptr ? other : SWITCHYARDD_PATH, "--config", file},
        root + "/switchyardd.log");
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
    channel = grpc::CreateCustomChannel(fmt::format("127.0.0.1:{}", api_port),
                                        grpc::InsecureChannelCredentials(), args);
    stub = v1::Switchyard::NewStub(channel);
    ASSERT_TRUE(wait_until(
        [&] {
          grpc::ClientContext ctx;
          ctx.AddMetadata("authorization", "Bearer viewer-token");
          ctx.set_deadline(std::chrono::system_clock::now() + 2s);
          v1::Status st;
          return stub->GetStatus(&ctx, v1::GetStatusRequest{}, &st).ok() &&
                 st.healthy_instances() == 2;
        },
        20s))
        << read_file(root + "/switchyardd.log");
  }

  /// Opens `n` streams with `token`; returns when each is subscribed or ended.
  std::vector<std::unique_ptr<stream>> open(int n, const std::string& token) {
    std::vector<std::unique_ptr<stream>> out;
    for (int i = 0; i < n; ++i)
      out.push_back(std::make_unique<stream>(*stub, token));
    EXPECT_TRUE(wait_until(
        [&] {
          return std::all_of(out.begin(), out.end(),
                             [](const auto& s) { return s->subscribed() || s->done(); });
        },
        30s));
    return out;
  }

  grpc::Status set_maintenance(bool on) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer operator-token");
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    v1::MaintenanceRequest req;
    req.set_service("web");
    req.set_enabled(on);
    req.set_reason("watch limits test");
    v1::MaintenanceResponse resp;
    return stub->SetMaintenance(&ctx, req, &resp);
  }

  grpc::Status switchover(const std::string& token, bool forced) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + 30s);
    v1::SwitchoverRequest req;
    req.set_service("web");
    req.set_target("web-b");
    req.set_reason("watch limits test");
    v1::SwitchoverResponse resp;
    return forced ? stub->RequestFailover(&ctx, req, &resp)
                  : stub->RequestSwitchover(&ctx, req, &resp);
  }

  std::unique_ptr<child_process> daemon;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Switchyard::Stub> stub;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_F(watch_limits, hundreds_of_streams_share_a_few_threads_and_all_get_events) {
  // Eight viewer tokens, 50 streams each: within the default per-token limit.
  {
    std::ofstream tokens(root + "/tokens.yaml", std::ios::app);
    for (int t = 0; t < 8; ++t)
      tokens << fmt::format("  - {{name: watcher-{0}, role: viewer, sha256: {1}}}\n", t,
                            switchyard::config::sha256_hex(fmt::format("watch-token-{}", t)));
  }
  start("");
  const auto pid = daemon->pid();
  const long threads_before = proc_status(pid, "Threads");
  const long vm_before = proc_status(pid, "VmSize");
  ASSERT_GT(threads_before, 0);

  std::vector<std::unique_ptr<stream>> streams;
  for (int t = 0; t < 8; ++t)
    for (auto& s : open(50, fmt::format("watch-token-{}", t)))
      streams.push_back(std::move(s));
  ASSERT_EQ(streams.size(), 400u);
  for (auto& s : streams)
    ASSERT_TRUE(s->subscribed()) << s->status().error_message();
  const long threads_open = proc_status(pid, "Threads");
  const long vm_open = proc_status(pid, "VmSize");
  std::printf("switchyardd: %ld threads, VmSize %ld kB before; with 400 streams open: %ld "
              "threads, VmSize %ld kB\n",
              threads_before, vm_before, threads_open, vm_open);
  // One thread per stream (the synchronous API) would be 400 more.
  EXPECT_LE(threads_open, threads_before + 16);
  EXPECT_LT(threads_open, 100);

  // An event reaches every stream.
  ASSERT_TRUE(set_maintenance(true).ok());
  EXPECT_TRUE(wait_until(
      [&] {
        return std::all_of(streams.begin(), streams.end(),
                           [](const auto& s) { return s->saw("maintenance"); });
      },
      15s));
  EXPECT_LE(proc_status(pid, "Threads"), threads_before + 16) << "after the event's delivery";

  // Half the clients go away; shutdown ends the other half promptly.
  for (std::size_t i = 0; i < streams.size(); i += 2)
    streams[i]->cancel();
  for (std::size_t i = 0; i < streams.size(); i += 2)
    EXPECT_TRUE(streams[i]->wait_done(10s));
  auto t0 = std::chrono::steady_clock::now();
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait_for_exit(10s), 0) << read_file(root + "/switchyardd.log");
  std::printf("switchyardd stopped in %lld ms with 200 streams open\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - t0)
                                         .count()));
  for (std::size_t i = 1; i < streams.size(); i += 2) {
    ASSERT_TRUE(streams[i]->wait_done(10s));
    EXPECT_EQ(streams[i]->status().error_code(), grpc::StatusCode::UNAVAILABLE)
        << streams[i]->status().error_message();
  }
  daemon.reset();
}

TEST_F(watch_limits, streams_and_long_calls_beyond_the_limits_are_refused_naming_the_limit) {
  start("  max_watch_streams: 6\n  max_watch_streams_per_token: 4\n"
        "  max_long_calls: 1\n  max_long_calls_per_token: 1\n");
  auto viewers = open(4, "viewer-token");
  for (auto& s : viewers)
    ASSERT_TRUE(s->subscribed()) << s->status().error_message();
  auto fifth = open(1, "viewer-token");
  ASSERT_TRUE(fifth[0]->wait_done(10s));
  EXPECT_EQ(fifth[0]->status().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(contains(fifth[0]->status().error_message(), "api.max_watch_streams_per_token"))
      << fifth[0]->status().error_message();

  auto operators = open(2, "operator-token");
  for (auto& s : operators)
    ASSERT_TRUE(s->subscribed()) << s->status().error_message();
  auto admin = open(1, "admin-token");
  ASSERT_TRUE(admin[0]->wait_done(10s));
  EXPECT_EQ(admin[0]->status().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(contains(admin[0]->status().error_message(), "(api.max_watch_streams)"))
      << admin[0]->status().error_message();

  // The six open streams still get events.
  ASSERT_TRUE(set_maintenance(true).ok());
  ASSERT_TRUE(set_maintenance(false).ok());
  EXPECT_TRUE(wait_until(
      [&] {
        return std::all_of(viewers.begin(), viewers.end(),
                           [](const auto& s) { return s->saw("maintenance"); }) &&
               std::all_of(operators.begin(), operators.end(),
                           [](const auto& s) { return s->saw("maintenance"); });
      },
      10s));

  // A closed stream gives its place back (once the server has seen it go).
  viewers[0]->cancel();
  ASSERT_TRUE(viewers[0]->wait_done(10s));
  std::unique_ptr<stream> again;
  EXPECT_TRUE(wait_until(
      [&] {
        again = std::make_unique<stream>(*stub, "viewer-token");
        wait_until([&] { return again->subscribed() || again->done(); }, 5s);
        return again->subscribed();
      },
      10s))
      << again->status().error_message();

  // Long calls: one in flight (its first step sleeps while the flag file exists).
  std::ofstream(root + "/slow").put('\n');
  grpc::Status first;
  std::thread running([&] { first = switchover("operator-token", false); });
  EXPECT_TRUE(wait_until([&] { return !read_file(actions_log).empty(); }, 15s));
  auto same_token = switchover("operator-token", false);
  auto other_token = switchover("admin-token", true);
  running.join();
  EXPECT_TRUE(first.ok()) << first.error_message();
  EXPECT_EQ(same_token.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(contains(same_token.error_message(), "api.max_long_calls_per_token"))
      << same_token.error_message();
  EXPECT_EQ(other_token.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(contains(other_token.error_message(), "(api.max_long_calls)"))
      << other_token.error_message();
  // Its place is given back when it answers: the next one is served (a dry run back to web-a).
  std::filesystem::remove(root + "/slow");
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer admin-token");
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  v1::SwitchoverRequest req;
  req.set_service("web");
  req.set_target("web-a");
  req.set_dry_run(true);
  req.set_force(true); // within the block period of the one just done
  v1::SwitchoverResponse resp;
  auto after = stub->RequestSwitchover(&ctx, req, &resp);
  EXPECT_TRUE(after.ok()) << after.error_message();

  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait_for_exit(10s), 0) << read_file(root + "/switchyardd.log");
}

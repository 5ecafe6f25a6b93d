// API benchmark (issue 7) against a real switchyardd.
//
// switchyardd gets a generated config: N services (default 1,000) x 2
// instances, tcp checks (interval 1 s, rise 1, fall 1) against one local
// listener this benchmark runs (accept + close), no strategy actions,
// site_disaster off, a tokens file (tests/support/test_tokens.hpp).
//
//  (a) GetStatus, then ListServices: C clients (default 16 threads, one
//      channel each, viewer token) call back to back for D seconds each;
//      throughput and latency p50/p99.
//  (b) WatchEvents fan-out: W streams (default 100, no filter) are opened;
//      then the listener is closed and reopened (every instance turns
//      unhealthy, then healthy again: health transitions, detections,
//      decisions — real events) until at least E events (default 10,000)
//      were published. Sequence numbers are global and gap-free, so every
//      watcher must see every sequence number from the first burst event to
//      the last; missing ones are counted, streams ended by the server
//      (RESOURCE_EXHAUSTED = overflowed) too. One more client calls
//      GetStatus back to back before and during the burst. Each stream
//      message is a batch of events: events per message are reported.
//  (c) Control: after the streams are closed, the same number of down/up
//      cycles with no watcher; the time switchyardd takes to see them and
//      GetStatus meanwhile, next to (b)'s, is what the watchers cost the core.
//
// Usage: api_bench [--services N] [--clients C] [--seconds D] [--watchers W] [--events E]
// Prints every figure as `RESULT <name> <value> <unit>`.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench_stats.hpp"
#include "switchyard/v1/switchyard.grpc.pb.h"
#include "tests/support/process.hpp"
#include "tests/support/test_tokens.hpp"

using namespace std::chrono_literals;
namespace v1 = switchyard::v1;
using bench_clock = std::chrono::steady_clock;
using switchyard::testing::child_process;
using switchyard::testing::free_port;
using switchyard::testing::wait_until;

namespace {

struct options {
  int services = 1000;
  int clients = 16;
  int seconds = 10;
  int watchers = 100;
  long events = 10000;
};

double ms_since(bench_clock::time_point a, bench_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

using switchyard::bench::pct;

/// A TCP listener on 127.0.0.1:port that accepts and closes; can be stopped
/// (the port then refuses) and started again.
class listener {
public:
  explicit listener(std::uint16_t port) : port_(port) {}
  ~listener() { stop(); }
  bool start() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 4096) != 0) {
      ::close(fd_);
      fd_ = -1;
      return false;
    }
    running_ = true;
    thread_ = std::thread([this] {
      while (running_.load()) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c >= 0)
          ::close(c);
        else if (!running_.load())
          break;
      }
    });
    return true;
  }
  void stop() {
    if (fd_ < 0)
      return;
    running_ = false;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
    fd_ = -1;
  }

private:
  std::uint16_t port_;
  int fd_ = -1;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

std::shared_ptr<grpc::Channel> channel(std::uint16_t port) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  // Separate connections per client, not one shared subchannel.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(fmt::format("127.0.0.1:{}", port),
                                   grpc::InsecureChannelCredentials(), args);
}

void authorize(grpc::ClientContext& ctx, std::chrono::seconds deadline = 10s) {
  ctx.AddMetadata("authorization", "Bearer viewer-token");
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
}

grpc::Status call_get_status(v1::Switchyard::Stub& stub, v1::Status* out = nullptr) {
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::Status st;
  auto s = stub.GetStatus(&ctx, v1::GetStatusRequest{}, &st);
  if (out)
    *out = st;
  return s;
}

bool get_status(v1::Switchyard::Stub& stub, v1::Status* out = nullptr) {
  return call_get_status(stub, out).ok();
}

grpc::Status call_list_services(v1::Switchyard::Stub& stub) {
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::ListServicesResponse r;
  return stub.ListServices(&ctx, v1::ListServicesRequest{}, &r);
}

struct load_result {
  long calls = 0;
  long errors = 0;
  std::vector<double> lat; ///< successful calls only
  double seconds = 0;
  std::string first_error;
};

template <class Call> load_result hammer(std::uint16_t port, int clients, int seconds, Call call) {
  std::vector<load_result> per(static_cast<std::size_t>(clients));
  std::vector<std::thread> threads;
  auto start = bench_clock::now();
  auto end = start + std::chrono::seconds(seconds);
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      auto stub = v1::Switchyard::NewStub(channel(port));
      auto& r = per[static_cast<std::size_t>(c)];
      while (bench_clock::now() < end) {
        auto t0 = bench_clock::now();
        grpc::Status st = call(*stub);
        if (st.ok()) {
          r.lat.push_back(ms_since(t0, bench_clock::now()));
          ++r.calls;
          continue;
        }
        if (r.errors++ == 0)
          r.first_error =
              fmt::format("{}: {}", static_cast<int>(st.error_code()), st.error_message());
      }
    });
  for (auto& t : threads)
    t.join();
  load_result all;
  all.seconds = std::chrono::duration<double>(bench_clock::now() - start).count();
  for (auto& r : per) {
    all.calls += r.calls;
    all.errors += r.errors;
    if (all.first_error.empty())
      all.first_error = r.first_error;
    all.lat.insert(all.lat.end(), r.lat.begin(), r.lat.end());
  }
  return all;
}

void report(const char* name, const load_result& r) {
  std::printf("%s: %ld calls (%ld errors%s%s) in %.1f s\n", name, r.calls, r.errors,
              r.first_error.empty() ? "" : ", the first: ", r.first_error.c_str(), r.seconds);
  std::printf("RESULT api_%s_throughput %.0f calls/s\n", name,
              static_cast<double>(r.calls) / r.seconds);
  std::printf("RESULT api_%s_p50 %.3f ms\n", name, pct(r.lat, 0.5));
  std::printf("RESULT api_%s_p99 %.3f ms\n", name, pct(r.lat, 0.99));
  std::printf("RESULT api_%s_errors %ld count\n", name, r.errors);
}

struct watcher_state {
  std::mutex mu;
  std::vector<std::uint64_t> seqs;
  std::vector<double> lag_ms; ///< receive wall clock - the event's at_ms
  long messages = 0;          ///< stream messages (batches of events) read
  bench_clock::time_point last{};
  bool ended = false;
  grpc::StatusCode code = grpc::StatusCode::OK;
};

// One client calling GetStatus back to back on its own channel, from
// construction to stop(): each call's start and duration.
class status_prober {
public:
  explicit status_prober(std::uint16_t api_port)
      : thread_([this, api_port] {
          auto s = v1::Switchyard::NewStub(channel(api_port));
          while (running_.load()) {
            auto t0 = bench_clock::now();
            if (!get_status(*s))
              continue; // a failed call says nothing about latency (errors are counted in (a))
            auto d = ms_since(t0, bench_clock::now());
            std::lock_guard lock{mu_};
            samples_.emplace_back(t0, d);
          }
        }) {}
  ~status_prober() { stop(); }

  std::vector<std::pair<bench_clock::time_point, double>> stop() {
    running_ = false;
    if (thread_.joinable())
      thread_.join();
    std::lock_guard lock{mu_};
    return samples_;
  }

private:
  std::atomic<bool> running_{true};
  std::mutex mu_;
  std::vector<std::pair<bench_clock::time_point, double>> samples_;
  std::thread thread_; // last: starts once the members it uses exist
};

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int usage() {
  std::fprintf(stderr, "usage: api_bench [--services N] [--clients C] [--seconds D] "
                       "[--watchers W] [--events E]\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--services")
      o.services = std::atoi(next().c_str());
    else if (a == "--clients")
      o.clients = std::atoi(next().c_str());
    else if (a == "--seconds")
      o.seconds = std::atoi(next().c_str());
    else if (a == "--watchers")
      o.watchers = std::atoi(next().c_str());
    else if (a == "--events")
      o.events = std::atol(next().c_str());
    else
      return usage();
  }
  if (o.services < 1 || o.clients < 1 || o.seconds < 1 || o.watchers < 1 || o.events < 1)
    return usage();

  auto root = std::filesystem::temp_directory_path() / fmt::format("api-bench-{}", ::getpid());
  std::filesystem::create_directories(root);
  auto target_port = free_port();
  auto api_port = free_port();
  listener target{target_port};
  if (!target.start()) {
    std::fprintf(stderr, "cannot listen on 127.0.0.1:%u\n", target_port);
    return 1;
  }
  switchyard::testing::write_test_tokens((root / "tokens.yaml").string());
  {
    std::ofstream y(root / "switchyard.yaml");
    // Every watcher uses the viewer token: the stream limits must allow them all.
    y << fmt::format("orchestrator:\n  data_dir: {}\n  metrics_listen: \"off\"\n"
                     "api:\n  listen: 127.0.0.1:{}\n  tokens_file: tokens.yaml\n"
                     "  max_watch_streams: {}\n  max_watch_streams_per_token: {}\nservices:\n",
                     root.string(), api_port, std::max(o.watchers, 1024), o.watchers);
    for (int i = 0; i < o.services; ++i)
      y << fmt::format("  - name: svc{0:04}\n"
                       "    health_check: {{type: tcp, interval: 1s, timeout: 500ms, rise: 1, "
                       "fall: 1}}\n"
                       "    instances:\n"
                       "      - {{name: svc{0:04}-a, address: \"127.0.0.1:{1}\", role: primary}}\n"
                       "      - {{name: svc{0:04}-b, address: \"127.0.0.1:{1}\", role: standby}}\n"
                       "    strategy: {{type: active_passive}}\n",
                       i, target_port);
  }
  child_process daemon({SWITCHYARDD_PATH, "--config", (root / "switchyard.yaml").string()},
                       (root / "switchyardd.log").string());
  auto stub = v1::Switchyard::NewStub(channel(api_port));
  const int instances = o.services * 2;
  v1::Status st;
  bool up = wait_until(
      [&] { return get_status(*stub, &st) && st.healthy_instances() == instances; }, 60s);
  if (!up) {
    std::fprintf(stderr, "switchyardd not ready (healthy %d of %d); log: %s\n",
                 st.healthy_instances(), instances, (root / "switchyardd.log").c_str());
    return 1;
  }
  std::printf("api_bench: switchyardd with %d services, %d instances (all healthy), %d clients, "
              "%d s per call type\n",
              o.services, instances, o.clients, o.seconds);

  report("GetStatus", hammer(api_port, o.clients, o.seconds,
                             [](v1::Switchyard::Stub& s) { return call_get_status(s); }));
  report("ListServices", hammer(api_port, o.clients, o.seconds,
                                [](v1::Switchyard::Stub& s) { return call_list_services(s); }));

  // (b) WatchEvents fan-out.
  std::vector<std::unique_ptr<watcher_state>> ws;
  std::vector<std::unique_ptr<grpc::ClientContext>> ctxs;
  std::vector<std::thread> wthreads;
  std::atomic<int> opened{0};
  for (int w = 0; w < o.watchers; ++w) {
    ws.push_back(std::make_unique<watcher_state>());
    ctxs.push_back(std::make_unique<grpc::ClientContext>());
    authorize(*ctxs.back(), 3600s);
  }
  for (int w = 0; w < o.watchers; ++w)
    wthreads.emplace_back([&, w] {
      auto s = v1::Switchyard::NewStub(channel(api_port));
      auto& me = *ws[static_cast<std::size_t>(w)];
      auto reader =
          s->WatchEvents(ctxs[static_cast<std::size_t>(w)].get(), v1::WatchEventsRequest{});
      ++opened;
      v1::EventBatch batch;
      while (reader->Read(&batch)) {
        std::lock_guard lock{me.mu};
        ++me.messages;
        for (const auto& ev : batch.events()) {
          me.seqs.push_back(ev.sequence());
          me.lag_ms.push_back(static_cast<double>(wall_ms() - ev.at_ms()));
        }
        me.last = bench_clock::now();
      }
      auto status = reader->Finish();
      std::lock_guard lock{me.mu};
      me.ended = true;
      me.code = status.error_code();
    });
  wait_until([&] { return opened.load() == o.watchers; }, 30s);
  std::this_thread::sleep_for(2s); // streams registered with the fanout

  // GetStatus latency, before and during the burst.
  auto prober = std::make_unique<status_prober>(api_port);
  std::this_thread::sleep_for(3s);

  // The highest sequence number any watcher got (sequence numbers are global):
  // a lower bound of what was published once every stream has been dropped.
  auto max_seq = [&] {
    std::uint64_t m = 0;
    for (auto& w : ws) {
      std::lock_guard lock{w->mu};
      if (!w->seqs.empty())
        m = std::max(m, w->seqs.back());
    }
    return m;
  };
  auto all_ended = [&] {
    for (auto& w : ws) {
      std::lock_guard lock{w->mu};
      if (!w->ended)
        return false;
    }
    return true;
  };
  std::uint64_t first_seq = 0;
  // Events published before the streams subscribed (the instances' first
  // transitions at start) are not theirs to receive: count from the first
  // sequence number after the last one seen, or, if none was seen yet, from
  // the lowest one any watcher got.
  const std::uint64_t seen_before = max_seq();
  first_seq = seen_before + 1;
  auto burst_start = bench_clock::now();
  int cycles = 0;
  long burst_events = 0;
  // One burst cycle: every instance down (as switchyardd reports it), then up again.
  auto down_up = [&] {
    target.stop();
    wait_until([&] { return get_status(*stub, &st) && st.healthy_instances() == 0; }, 30s);
    target.start();
    wait_until([&] { return get_status(*stub, &st) && st.healthy_instances() == instances; }, 30s);
  };
  while (burst_events < o.events && cycles < 20 && !all_ended()) {
    down_up();
    ++cycles;
    burst_events = static_cast<long>(max_seq() + 1 - first_seq);
  }
  auto burst_generated = bench_clock::now();
  // Quiet for 2 s: the burst is over.
  std::uint64_t last_seq = 0;
  for (;;) {
    auto before = max_seq();
    std::this_thread::sleep_for(2s);
    if (max_seq() == before || all_ended()) {
      last_seq = max_seq();
      break;
    }
  }
  auto status_lat = prober->stop();

  if (seen_before == 0) {
    first_seq = last_seq + 1;
    for (auto& w : ws) {
      std::lock_guard lock{w->mu};
      if (!w->seqs.empty())
        first_seq = std::min(first_seq, w->seqs.front());
    }
  }
  // Delivery per watcher.
  long expected = static_cast<long>(last_seq) - static_cast<long>(first_seq) + 1;
  long min_recv = expected, max_recv = 0, missing_total = 0;
  int complete = 0, ended = 0, exhausted = 0;
  double deliver_ms = 0;
  std::vector<double> lags;
  for (auto& w : ws) {
    std::lock_guard lock{w->mu};
    long got = 0;
    for (std::size_t k = 0; k < w->seqs.size(); ++k)
      if (w->seqs[k] >= first_seq && w->seqs[k] <= last_seq) {
        ++got;
        lags.push_back(w->lag_ms[k]);
      }
    min_recv = std::min(min_recv, got);
    max_recv = std::max(max_recv, got);
    missing_total += expected - got;
    if (got == expected)
      ++complete;
    if (w->ended)
      ++ended;
    if (w->ended && w->code == grpc::StatusCode::RESOURCE_EXHAUSTED)
      ++exhausted;
    deliver_ms = std::max(deliver_ms, ms_since(burst_start, w->last));
  }
  std::vector<double> before, during;
  for (auto& [t, d] : status_lat)
    (t < burst_start ? before : during).push_back(d);
  long batches = 0;
  for (auto& w : ws) {
    std::lock_guard lock{w->mu};
    batches += w->messages;
  }

  std::printf("burst: %d listener down/up cycles, events %llu..%llu (%ld) published\n", cycles,
              static_cast<unsigned long long>(first_seq), static_cast<unsigned long long>(last_seq),
              expected);
  std::printf("RESULT watch_burst_cycles %d count\n", cycles);
  std::printf("RESULT watch_burst_generation %.0f ms\n", ms_since(burst_start, burst_generated));
  std::printf("RESULT watch_events_published %ld events\n", expected);
  std::printf("RESULT watch_watchers %d count\n", o.watchers);
  std::printf("RESULT watch_watchers_complete %d count\n", complete);
  std::printf("RESULT watch_events_missing_total %ld events\n", missing_total);
  std::printf("RESULT watch_min_received %ld events\n", min_recv);
  std::printf("RESULT watch_streams_ended %d count\n", ended);
  std::printf("RESULT watch_streams_resource_exhausted %d count\n", exhausted);
  std::printf("RESULT watch_burst_duration %.0f ms\n", deliver_ms);
  std::printf("RESULT watch_delivery_lag_p50 %.0f ms\n", pct(lags, 0.5));
  std::printf("RESULT watch_delivery_lag_p99 %.0f ms\n", pct(lags, 0.99));
  std::printf("RESULT watch_delivery_lag_max %.0f ms\n", pct(lags, 1.0));
  std::printf("RESULT watch_getstatus_before_p50 %.3f ms\n", pct(before, 0.5));
  std::printf("RESULT watch_getstatus_before_p99 %.3f ms\n", pct(before, 0.99));
  std::printf("RESULT watch_getstatus_during_p50 %.3f ms\n", pct(during, 0.5));
  std::printf("RESULT watch_getstatus_during_p99 %.3f ms\n", pct(during, 0.99));
  std::printf("RESULT watch_events_per_message %.1f events\n",
              batches > 0
                  ? static_cast<double>(expected) * o.watchers / static_cast<double>(batches)
                  : 0.0);

  for (auto& c : ctxs)
    c->TryCancel();
  for (auto& t : wthreads)
    t.join();

  // Control: the same number of cycles with no watcher, to see what the
  // streams cost the core (time to see every instance down and up again, and
  // GetStatus meanwhile).
  std::this_thread::sleep_for(2s);
  prober = std::make_unique<status_prober>(api_port);
  std::this_thread::sleep_for(1s);
  auto control_start = bench_clock::now();
  for (int c = 0; c < cycles; ++c)
    down_up();
  auto control_end = bench_clock::now();
  std::vector<double> control_during;
  for (auto& [t, d] : prober->stop())
    if (t >= control_start)
      control_during.push_back(d);
  std::printf("RESULT control_burst_generation %.0f ms\n", ms_since(control_start, control_end));
  std::printf("RESULT control_getstatus_during_p50 %.3f ms\n", pct(control_during, 0.5));
  std::printf("RESULT control_getstatus_during_p99 %.3f ms\n", pct(control_during, 0.99));
  daemon.signal(SIGTERM);
  daemon.wait_for_exit(20s);
  target.stop();
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  return 0;
}

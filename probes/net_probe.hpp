// Inside the probe engine: one tcp, http or redis probe's state machine (its
// checks, their timeouts, the connection it holds). Its steps are in
// net_probe.cpp; what the engine calls for every check is inline here.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <asio.hpp>

#include "probes/check_kinds.hpp"
#include "probes/probe.hpp"
#include "probes/probe_engine_impl.hpp"
#include "probes/probe_schedule.hpp"
#include "probes/socket_ops.hpp"

namespace switchyard::actors::probe_detail {

// One check, from start() to its completion. Handlers hold it by shared_ptr
// and return at once when it has finished (timed out, or abandoned).
struct attempt {
  explicit attempt(asio::io_context& ioc) : sock(ioc), timer(ioc) {}
  ~attempt() {
    if (raw >= 0)
      ::close(raw);
  }
  attempt(const attempt&) = delete;
  attempt& operator=(const attempt&) = delete;
  async_probe::completion done; ///< empty for a periodic check (the probe's `each`)
  bool periodic = false;
  steady::time_point start;
  tcp::socket sock;
  /// A plain tcp check's own socket (not asio's), waited on in the lane's
  /// connect_waits; -1 otherwise.
  int raw = -1;
  asio::steady_timer timer;
  check_phase at = check_phase::connecting;
  std::vector<tcp::endpoint> endpoints; ///< resolved, tried in order
  std::size_t next_endpoint = 0;
  std::string in; ///< received so far
  /// For reads (http, redis): allocated on the first one, a tcp check needs none.
  std::unique_ptr<std::array<char, 4096>> buf;
  bool retried = false; ///< one fresh connection after a broken or reset one (retry_fresh)
  bool late = false;    ///< the timer fired with the answer already waiting
  bool finished = false;
};

// A connection kept open between checks, watched by a pending read.
struct held_conn {
  explicit held_conn(tcp::socket s) : sock(std::move(s)) {}
  tcp::socket sock;
  std::array<char, 512> buf{};
};

// A tcp, http or redis probe (its `check_kind` says which). Lives on one
// io_context (one thread): every member function runs there.
class net_probe : public std::enable_shared_from_this<net_probe> {
public:
  struct params {
    std::unique_ptr<check_kind> kind;
    std::string host;
    std::uint16_t port = 0;
    std::chrono::milliseconds timeout{500};
    bool hold = false;
  };

  net_probe(lane& home, std::shared_ptr<std::atomic<std::size_t>> held_count, params p);
  ~net_probe();

  // Room for a read of the check in flight.
  static asio::mutable_buffer read_buffer(attempt& a);
  net_probe(const net_probe&) = delete;
  net_probe& operator=(const net_probe&) = delete;

  asio::io_context& ioc() { return lane_.ioc; }

  void set_lost(async_probe::lost_callback cb) { lost_ = std::move(cb); }

  // The handle is gone: abandon the check in flight, close the held connection.
  void shutdown();

  /// The connect of `a`'s plain socket ended (`error`: its SO_ERROR).
  void connect_ready(const std::shared_ptr<attempt>& a, int error);

  void start(async_probe::completion done) {
    if (cur_ && cur_->periodic) {
      // A check is under way now: its outcome answers this one too. Starting
      // another would only race it (a connection made twice).
      cur_->periodic = false;
      cur_->done = std::move(done);
      return;
    }
    auto a = new_attempt();
    a->done = std::move(done);
    run(a);
  }

  void run_periodically(const async_probe::periodic_settings& s, async_probe::completion each);

  // A periodic check's outcome, from the lane's outbox: nobody hears of it
  // once the handle is gone.
  void report_periodic(probe_outcome out) {
    if (each_)
      each_(std::move(out));
  }

private:
  void beat();
  void abandon_current();
  std::shared_ptr<attempt> new_attempt();
  void run(const std::shared_ptr<attempt>& a);
  void arm_timer(const std::shared_ptr<attempt>& a, std::chrono::milliseconds after);
  static bool answer_waiting(attempt& a);
  std::string timeout_detail(const attempt& a) const;
  void connect(const std::shared_ptr<attempt>& a);
  void connect_next(const std::shared_ptr<attempt>& a, asio::error_code last);
  /// A check whose connect is the whole check (tcp, no held connection).
  bool plain() const { return kind_.request().empty() && !p_.hold; }
  /// Connects `a` on a socket of its own (plain checks); false when the lane
  /// could not watch it (then asio's socket does).
  bool connect_plain(const std::shared_ptr<attempt>& a, const tcp::endpoint& ep);
  /// Connects `fd` (non-blocking) to `ep`: true while in progress; false when
  /// it ended at once (connect_done has been called).
  bool connect_started(const std::shared_ptr<attempt>& a, int fd, const tcp::endpoint& ep);
  /// Closes `a`'s plain socket, if any; `reset`: with a reset (a success).
  void close_plain(attempt& a, bool reset);
  /// What a connect to the attempt's current address came to.
  void connect_done(const std::shared_ptr<attempt>& a, asio::error_code ec);
  void connected(const std::shared_ptr<attempt>& a);
  void send_request(const std::shared_ptr<attempt>& a);
  void read_answer(const std::shared_ptr<attempt>& a);
  void conclude(const std::shared_ptr<attempt>& a, check_verdict v);
  void failed(const std::shared_ptr<attempt>& a, std::string detail, bool broken);
  static constexpr std::chrono::milliseconds retry_pause{20}; ///< see retry_fresh
  bool retry_fresh(const std::shared_ptr<attempt>& a);

  // -- completion and the held connection -------------------------------------

  void finish(const std::shared_ptr<attempt>& a, bool ok, std::string detail, bool refused = false);
  void hold(tcp::socket s);
  void watch();
  void forget_held();
  void drop_held();

  lane& lane_;
  std::shared_ptr<std::atomic<std::size_t>> held_count_;
  params p_;
  const check_kind& kind_; ///< *p_.kind
  tcp::resolver resolver_;
  std::optional<tcp::endpoint> numeric_;
  async_probe::lost_callback lost_;
  std::shared_ptr<attempt> cur_;
  std::shared_ptr<held_conn> held_;
  std::optional<probe_schedule> schedule_; ///< set by run_periodically
  async_probe::completion each_;           ///< every periodic check's outcome
  asio::steady_timer tick_;
};

} // namespace switchyard::actors::probe_detail

#include "probes/pg_probe.hpp"

#include <thread>

#include <fmt/format.h>

#include "strategies/actions/pg_session.hpp"

namespace switchyard::actors {

namespace {

// One round trip for either role. pg_current_wal_lsn() fails during
// recovery, so it is only called (CASE is lazy) on a primary; a cascading
// standby's own standbys are counted but not measured. Without
// pg_read_all_stats (pg_monitor) the walsenders' state and positions read
// as NULL: they are then not counted as streaming.
constexpr const char* status_query = R"(
SELECT pg_is_in_recovery() AS standby,
       CASE WHEN NOT pg_is_in_recovery() THEN pg_current_wal_lsn() END AS lsn,
       pg_last_wal_receive_lsn() AS receive,
       pg_last_wal_replay_lsn() AS replay,
       (SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming') AS streaming,
       (SELECT max(CASE WHEN NOT pg_is_in_recovery()
                        THEN pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) END)::bigint
          FROM pg_stat_replication WHERE state = 'streaming') AS lag)";

std::string count_of(const std::string& n) {
  return n == "1" ? "1 standby" : n + " standbys";
}

std::string describe(const pg::result& r) {
  auto get = [&r](const char* column) { return r.value(0, column).value_or("none"); };
  if (get("standby") == "t")
    return fmt::format("standby, replay {}, receive {}", get("replay"), get("receive"));
  auto streaming = get("streaming");
  if (streaming == "0" || streaming == "none")
    return fmt::format("primary, lsn {}, no standby streaming", get("lsn"));
  return fmt::format("primary, lsn {}, {} streaming (lag {} B)", get("lsn"), count_of(streaming),
                     get("lag"));
}

} // namespace

pg_probe::pg_probe(std::string host, std::uint16_t port, std::string options,
                   std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), options_(std::move(options)), timeout_(timeout) {}

pg_probe::~pg_probe() = default;

int pg_probe::held_socket() const {
  return session_ && session_->usable() ? session_->socket() : -1;
}

probe_outcome pg_probe::check() {
  const auto started = pg::clock::now();
  const auto deadline = started + timeout_;
  probe_outcome out;
  auto finish = [&](bool ok, std::string detail) {
    out.ok = ok;
    out.detail = std::move(detail);
    out.latency = std::chrono::duration_cast<std::chrono::microseconds>(pg::clock::now() - started);
    return out;
  };
  std::string error;
  // A kept session may have broken since the last check (the server
  // restarted): a lost connection is retried once on a new one, within the
  // same deadline, so that only the server's own state decides.
  // A new connection closed before the server answered it was queued on a
  // dying server's listening socket (its close resets them): one more try
  // after a short pause tells (then refused), as the redis probe does.
  bool reset_retried = false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = session_ != nullptr && session_->usable();
    if (!reused) {
      session_ = pg::session::connect(host_, port_, options_, deadline, error);
      bool reset = error.find("server closed the connection unexpectedly") != std::string::npos ||
                   error.find("Connection reset by peer") != std::string::npos;
      if (!session_ && reset && !reset_retried &&
          pg::clock::now() + std::chrono::milliseconds(40) < deadline) {
        reset_retried = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        session_ = pg::session::connect(host_, port_, options_, deadline, error);
      }
      if (!session_) {
        out.refused = error.find("Connection refused") != std::string::npos;
        return finish(false, error);
      }
    }
    auto r = session_->query(status_query, deadline, error);
    if (r) {
      // What it wrote last, for an RPO check after it is gone.
      if (auto lsn = r->value(0, "lsn"); lsn && r->value(0, "standby") == "f")
        if (auto at = pg::parse_lsn(*lsn))
          pg::note_primary_position(fmt::format("{}:{}", host_, port_), *at);
      return finish(true, describe(*r));
    }
    if (session_->usable())
      return finish(false, error); // the server answered with an error
    session_.reset();
    if (!reused || pg::clock::now() >= deadline)
      break;
  }
  return finish(false, error);
}

} // namespace switchyard::actors

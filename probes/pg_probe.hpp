// PostgreSQL probe: connects with libpq (pg_session) and asks
// pg_is_in_recovery() and the WAL positions; healthy when the server answers.
// The connection is kept between probes and made again when it broke; the
// probe engine can watch it between probes (fast detection).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "probes/probe.hpp"

namespace switchyard::pg {
class session;
}

namespace switchyard::actors {

class pg_probe : public probe {
public:
  /// `options`: libpq keywords besides host and port (postgres.options).
  pg_probe(std::string host, std::uint16_t port, std::string options,
           std::chrono::milliseconds timeout);
  ~pg_probe() override;
  pg_probe(const pg_probe&) = delete;
  pg_probe& operator=(const pg_probe&) = delete;

  /// ok when the server answered; detail: "primary, lsn 0/3000060, 1 standby
  /// streaming (lag 0 B)" or "standby, replay 0/3000060, receive 0/3000060";
  /// `refused` when the connection was refused.
  probe_outcome check() override;

  /// The socket of the session kept since the last check, or -1: watched
  /// between checks for fast detection (probe_engine::postgres). Not while
  /// check() runs.
  [[nodiscard]] int held_socket() const;

private:
  std::string host_;
  std::uint16_t port_;
  std::string options_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<pg::session> session_;
};

} // namespace switchyard::actors

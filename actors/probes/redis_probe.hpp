// Redis probe: PING must answer PONG; ROLE says what the instance is, for the
// detail ("PONG, master", "PONG, replica of 10.0.0.5:6379 (connected)"). With
// fast detection the connection is kept open (held) and reused by the next probe.
#pragma once

#include "actors/probes/probe.hpp"
#include "strategies/actions/resp.hpp"

namespace switchyard::actors {

class redis_probe : public probe {
public:
  redis_probe(std::string host, std::uint16_t port, std::chrono::milliseconds timeout,
              bool hold_connection = false);
  ~redis_probe() override;
  redis_probe(const redis_probe&) = delete;
  redis_probe& operator=(const redis_probe&) = delete;

  probe_outcome check() override;
  [[nodiscard]] int held_fd() const override { return held_; }

private:
  std::string host_;
  std::uint16_t port_;
  std::chrono::milliseconds timeout_;
  bool hold_;
  int held_ = -1;
};

/// A ROLE reply in a few words: "master", "replica of 127.0.0.1:6380
/// (connected)", "sentinel"; an error reply's text after "ROLE: ".
std::string describe_role(const resp::reply& role);

} // namespace switchyard::actors

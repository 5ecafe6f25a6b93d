// TCP probe: healthy when a connection is accepted within the timeout. With
// fast detection it keeps that connection open (held) and, while the peer has
// not closed it, counts it as the next probe's success instead of reconnecting.
#pragma once

#include "actors/probes/probe.hpp"

namespace switchyard::actors {

class tcp_probe : public probe {
public:
  tcp_probe(std::string host, std::uint16_t port, std::chrono::milliseconds timeout,
            bool hold_connection = false);
  ~tcp_probe() override;
  tcp_probe(const tcp_probe&) = delete;
  tcp_probe& operator=(const tcp_probe&) = delete;

  probe_outcome check() override;
  [[nodiscard]] int held_fd() const override { return held_; }

private:
  std::string host_;
  std::uint16_t port_;
  std::chrono::milliseconds timeout_;
  bool hold_;
  int held_ = -1;
};

} // namespace switchyard::actors

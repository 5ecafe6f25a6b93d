// TCP probe: healthy when a connection is accepted within the timeout.
#pragma once

#include "actors/probes/probe.hpp"

namespace switchyard::actors {

class tcp_probe : public probe {
public:
  tcp_probe(std::string host, std::uint16_t port, std::chrono::milliseconds timeout);
  probe_outcome check() override;

private:
  std::string host_;
  std::uint16_t port_;
  std::chrono::milliseconds timeout_;
};

} // namespace switchyard::actors

// HTTP probe: GET <path>; healthy when the status code equals the expected one
// and the response arrives within the timeout.
#pragma once

#include "actors/probes/probe.hpp"

namespace switchyard::actors {

class http_probe : public probe {
public:
  http_probe(std::string host, std::uint16_t port, std::string path, int expected_status,
             std::chrono::milliseconds timeout);
  probe_outcome check() override;

private:
  std::string host_;
  std::uint16_t port_;
  std::string path_;
  int expected_status_;
  std::chrono::milliseconds timeout_;
};

/// Parses the status code of an HTTP/1.x status line; -1 when malformed.
int parse_http_status(const std::string& response_head);

} // namespace switchyard::actors
